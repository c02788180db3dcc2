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
