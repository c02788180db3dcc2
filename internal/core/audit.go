package core

import (
	"context"
	"encoding/json"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// The audit log writer and reader. Every system writes its entries in the
// transaction of the change they record (Audit), so an entry exists exactly
// when the change does.

// audit appends an audit entry for actor a in tx.
func (s *Service) audit(ctx context.Context, tx *store.Tx, a auth.Actor, tenantID, action, targetType, targetID string, summary any) error {
	var raw json.RawMessage
	if summary != nil {
		b, err := json.Marshal(summary)
		if err != nil {
			return err
		}
		raw = b
	}
	return tx.AuditInsert(ctx, store.AuditEntry{
		TenantID: tenantID, ActorType: string(a.Type), ActorID: a.ID, ActorRole: a.RoleName(),
		Action: action, TargetType: targetType, TargetID: targetID, Summary: raw,
		IP: a.IP, CorrelationID: a.CorrelationID, CreatedAt: s.now(),
	})
}

// Audit appends an audit entry in tx (the transaction of the change).
func (s *Service) Audit(ctx context.Context, tx *store.Tx, a auth.Actor, tenantID, action, targetType, targetID string, summary any) error {
	return s.audit(ctx, tx, a, tenantID, action, targetType, targetID, summary)
}

// AuditList lists audit entries within the actor's reach.
func (s *Service) AuditList(ctx context.Context, a auth.Actor, p store.Page, f store.AuditFilter) ([]store.AuditEntry, string, error) {
	if err := need(a, auth.PermAuditRead); err != nil {
		return nil, "", err
	}
	if scope := a.TenantFilter(); scope != nil {
		if f.TenantIDs == nil {
			f.TenantIDs = scope
		} else {
			var in []string
			for _, t := range f.TenantIDs {
				if a.SeesTenant(t) {
					in = append(in, t)
				}
			}
			f.TenantIDs = append([]string{}, in...)
		}
	}
	var out []store.AuditEntry
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.AuditList(ctx, p, f)
		return err
	})
	return out, next, err
}
