package store

import (
	"context"
	"time"
)

// TimelineEntry is one thing that happened to a contact.
type TimelineEntry struct {
	ID            string
	ContactID     string
	Kind          string // e.g. contact.created, webhook.received, email.sent
	Summary       string
	RefType       string
	RefID         string
	CorrelationID string
	CreatedAt     time.Time
}

// TimelineAdd appends an entry to a contact's timeline.
func (s *Scope) TimelineAdd(ctx context.Context, e TimelineEntry) error {
	if e.ID == "" {
		e.ID = NewID(PrefixTimeline)
	}
	_, err := s.tx.Exec(ctx, `INSERT INTO timeline (id, tenant_id, contact_id, kind, summary, ref_type, ref_id, correlation_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, s.tenantID, e.ContactID, e.Kind, e.Summary, e.RefType, e.RefID, e.CorrelationID, e.CreatedAt)
	return err
}

// TimelineList lists a contact's timeline newest first.
func (s *Scope) TimelineList(ctx context.Context, contactID string, p Page) ([]TimelineEntry, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q := "SELECT id, contact_id, kind, summary, ref_type, ref_id, correlation_id, created_at FROM timeline WHERE tenant_id = ? AND contact_id = ?"
	args := []any{s.tenantID, contactID}
	if after != "" {
		q += " AND id < ?"
		args = append(args, after)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := s.tx.Query(ctx, q, args...)
	items, err := Collect(rows, err, func(r Rows) (TimelineEntry, error) {
		var e TimelineEntry
		err := r.Scan(&e.ID, &e.ContactID, &e.Kind, &e.Summary, &e.RefType, &e.RefID, &e.CorrelationID, &e.CreatedAt)
		return e, err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := PageOf(items, p.Size(), func(e TimelineEntry) string { return e.ID })
	return items, next, nil
}
