// Package core holds the operations on joist's core records (tenants,
// contacts, keys, operators, sessions) shared by the HTTP API, the admin
// dashboard and the CLI. Each operation checks the actor's permission and
// tenant reach, validates its input whole before writing anything, and writes
// its audit entry and timeline entries in the same transaction as the change.
package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// Error kinds, mapped to HTTP statuses at the edge.
var (
	ErrInvalid   = errors.New("invalid")
	ErrForbidden = errors.New("forbidden")
	ErrNotFound  = store.ErrNotFound
	ErrConflict  = store.ErrConflict
)

// Error is a domain error with a stable code and a message a person can act on.
type Error struct {
	Kind    error
	Code    string
	Message string
	// ExistingID names the stored object a conflict is about, when known.
	ExistingID string
}

func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is match the kind.
func (e *Error) Unwrap() error { return e.Kind }

func invalid(code, format string, args ...any) error {
	return &Error{Kind: ErrInvalid, Code: code, Message: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &Error{Kind: ErrForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &Error{Kind: ErrNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

func conflict(code, format string, args ...any) error {
	return &Error{Kind: ErrConflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Service performs core operations against a store.
type Service struct {
	db    *store.DB
	now   func() time.Time
	log   *slog.Logger
	opts  Options
	touch *touchCache
}

// Options tune the service.
type Options struct {
	SessionTTL time.Duration
	InviteTTL  time.Duration
}

// New returns a Service. now is the clock (time.Now in production).
func New(db *store.DB, now func() time.Time, log *slog.Logger, opts Options) *Service {
	if opts.SessionTTL == 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.InviteTTL == 0 {
		opts.InviteTTL = 7 * 24 * time.Hour
	}
	return &Service{db: db, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }, log: log, opts: opts, touch: newTouchCache()}
}

// DB is the store the service writes to.
func (s *Service) DB() *store.DB { return s.db }

// Now is the service clock.
func (s *Service) Now() time.Time { return s.now() }

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

func need(a auth.Actor, p auth.Permission) error {
	if !a.Can(p) {
		return forbidden("your role (%s) may not do this: it needs the %q permission (see docs/roles.md)", a.RoleName(), p)
	}
	return nil
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
