package store

import (
	"context"
	"encoding/json"
	"time"
)

// AuditEntry is one append-only record of an operator action or a
// security-relevant API call. There is no update or delete path: the tables
// carry triggers that refuse both.
type AuditEntry struct {
	ID            string
	TenantID      string // empty for instance-level actions
	ActorType     string // operator, key, root, cli, system
	ActorID       string
	ActorRole     string
	Action        string // e.g. key.create
	TargetType    string
	TargetID      string
	Summary       json.RawMessage // before/after, by id, no personal data
	IP            string
	CorrelationID string
	CreatedAt     time.Time
}

const auditCols = "id, COALESCE(tenant_id, ''), actor_type, actor_id, actor_role, action, target_type, target_id, summary, ip, correlation_id, created_at"

// AuditInsert appends an entry.
func (tx *Tx) AuditInsert(ctx context.Context, e AuditEntry) error {
	if e.ID == "" {
		e.ID = NewID(PrefixAudit)
	}
	if e.Summary == nil {
		e.Summary = json.RawMessage("{}")
	}
	var tenant any
	if e.TenantID != "" {
		tenant = e.TenantID
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit_log (id, tenant_id, actor_type, actor_id, actor_role, action, target_type, target_id, summary, ip, correlation_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, tenant, e.ActorType, e.ActorID, e.ActorRole, e.Action, e.TargetType, e.TargetID, e.Summary, e.IP, e.CorrelationID, e.CreatedAt)
	return err
}

// AuditFilter narrows an audit listing.
type AuditFilter struct {
	// TenantIDs, when non-nil, limits to entries of those tenants (an
	// operator's or key's scope); instance-level entries are then hidden.
	TenantIDs []string
	Action    string
	ActorID   string
	TargetID  string
	Since     time.Time
	Until     time.Time
}

// AuditList lists entries newest first.
func (tx *Tx) AuditList(ctx context.Context, p Page, f AuditFilter) ([]AuditEntry, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q := "SELECT " + auditCols + " FROM audit_log WHERE 1=1"
	var args []any
	if after != "" {
		q += " AND id < ?"
		args = append(args, after)
	}
	if f.TenantIDs != nil {
		if len(f.TenantIDs) == 0 {
			return []AuditEntry{}, "", nil
		}
		q += " AND tenant_id IN (" + placeholders(len(f.TenantIDs)) + ")"
		for _, t := range f.TenantIDs {
			args = append(args, t)
		}
	}
	for _, c := range []struct{ col, v string }{{"action", f.Action}, {"actor_id", f.ActorID}, {"target_id", f.TargetID}} {
		if c.v != "" {
			q += " AND " + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	if !f.Since.IsZero() {
		q += " AND created_at >= ?"
		args = append(args, f.Since)
	}
	if !f.Until.IsZero() {
		q += " AND created_at < ?"
		args = append(args, f.Until)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := tx.Query(ctx, q, args...)
	items, err := Collect(rows, err, func(r Rows) (AuditEntry, error) {
		var e AuditEntry
		var sum []byte
		err := r.Scan(&e.ID, &e.TenantID, &e.ActorType, &e.ActorID, &e.ActorRole, &e.Action, &e.TargetType, &e.TargetID, &sum, &e.IP, &e.CorrelationID, &e.CreatedAt)
		e.Summary = sum
		return e, err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := PageOf(items, p, func(e AuditEntry) string { return e.ID })
	return items, next, nil
}
