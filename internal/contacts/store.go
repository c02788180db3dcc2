package contacts

import (
	"context"

	"github.com/joist-dev/joist/internal/store"
)

// The SQL of contact management; inserting a contact, finding one and
// adding to its timeline are the kit's (package store), since every
// system does them.

// contactUpdate replaces the mutable fields of a contact found by id.
func contactUpdate(ctx context.Context, s *store.Scope, c store.Contact) error {
	n, err := s.Tx().Exec(ctx, `UPDATE contacts SET email = ?, name = ?, locale = ?, timezone = ?, metadata = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, c.Email, c.Name, c.Locale, c.Timezone, c.Metadata, c.UpdatedAt, s.TenantID(), c.ID)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// contactList lists contacts by id; q searches email, name and external id
// (case-insensitive substring).
func contactList(ctx context.Context, s *store.Scope, p store.Page, q string) ([]store.Contact, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	query := "SELECT " + store.ContactCols + " FROM contacts WHERE tenant_id = ? AND id > ?"
	args := []any{s.TenantID(), after}
	if q != "" {
		like := "%" + store.LikeEscape(q) + "%"
		op := s.Tx().ILike()
		query += " AND (email " + op + " ? ESCAPE '\\' OR name " + op + " ? ESCAPE '\\' OR external_id " + op + " ? ESCAPE '\\')"
		args = append(args, like, like, like)
	}
	query += " ORDER BY id LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := s.Tx().Query(ctx, query, args...)
	items, err := store.Collect(rows, err, func(r store.Rows) (store.Contact, error) { return store.ScanContact(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p.Size(), func(c store.Contact) string { return c.ID })
	return items, next, nil
}

// timelineList lists a contact's timeline newest first.
func timelineList(ctx context.Context, s *store.Scope, contactID string, p store.Page) ([]store.TimelineEntry, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q := "SELECT id, contact_id, kind, summary, ref_type, ref_id, correlation_id, created_at FROM timeline WHERE tenant_id = ? AND contact_id = ?"
	args := []any{s.TenantID(), contactID}
	if after != "" {
		q += " AND id < ?"
		args = append(args, after)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := s.Tx().Query(ctx, q, args...)
	items, err := store.Collect(rows, err, func(r store.Rows) (store.TimelineEntry, error) {
		var e store.TimelineEntry
		err := r.Scan(&e.ID, &e.ContactID, &e.Kind, &e.Summary, &e.RefType, &e.RefID, &e.CorrelationID, &e.CreatedAt)
		return e, err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p.Size(), func(e store.TimelineEntry) string { return e.ID })
	return items, next, nil
}
