package store

import (
	"context"
	"encoding/json"
	"time"
)

// Contact is a person known to a tenant: the customer record other systems link to.
type Contact struct {
	ID         string
	TenantID   string
	ExternalID string
	Email      string
	Name       string
	Locale     string
	Timezone   string
	Metadata   json.RawMessage
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const contactCols = "id, tenant_id, external_id, email, name, locale, timezone, metadata, created_at, updated_at"

func scanContact(r Row) (Contact, error) {
	var c Contact
	var meta []byte
	err := r.Scan(&c.ID, &c.TenantID, &c.ExternalID, &c.Email, &c.Name, &c.Locale, &c.Timezone, &meta, &c.CreatedAt, &c.UpdatedAt)
	c.Metadata = json.RawMessage(meta)
	return c, err
}

// ContactGet finds a contact by the app's external id.
func (s *Scope) ContactGet(ctx context.Context, externalID string) (Contact, error) {
	return scanContact(s.tx.QueryRow(ctx, "SELECT "+contactCols+" FROM contacts WHERE tenant_id = ? AND external_id = ?", s.tenantID, externalID))
}

// ContactGetByID finds a contact by joist's id (ct_...).
func (s *Scope) ContactGetByID(ctx context.Context, id string) (Contact, error) {
	return scanContact(s.tx.QueryRow(ctx, "SELECT "+contactCols+" FROM contacts WHERE tenant_id = ? AND id = ?", s.tenantID, id))
}

// ContactInsert stores a new contact in the scope's tenant.
func (s *Scope) ContactInsert(ctx context.Context, c Contact) error {
	if c.Metadata == nil {
		c.Metadata = json.RawMessage("{}")
	}
	_, err := s.tx.Exec(ctx, "INSERT INTO contacts ("+contactCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		c.ID, s.tenantID, c.ExternalID, c.Email, c.Name, c.Locale, c.Timezone, c.Metadata, c.CreatedAt, c.UpdatedAt)
	return err
}

// ContactUpdate replaces the mutable fields of a contact found by id.
func (s *Scope) ContactUpdate(ctx context.Context, c Contact) error {
	n, err := s.tx.Exec(ctx, `UPDATE contacts SET email = ?, name = ?, locale = ?, timezone = ?, metadata = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, c.Email, c.Name, c.Locale, c.Timezone, c.Metadata, c.UpdatedAt, s.tenantID, c.ID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// ContactList lists contacts by id; q searches email, name and external id
// (case-insensitive substring).
func (s *Scope) ContactList(ctx context.Context, p Page, q string) ([]Contact, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	query := "SELECT " + contactCols + " FROM contacts WHERE tenant_id = ? AND id > ?"
	args := []any{s.tenantID, after}
	if q != "" {
		like := "%" + LikeEscape(q) + "%"
		op := s.tx.ILike()
		query += " AND (email " + op + " ? ESCAPE '\\' OR name " + op + " ? ESCAPE '\\' OR external_id " + op + " ? ESCAPE '\\')"
		args = append(args, like, like, like)
	}
	query += " ORDER BY id LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := s.tx.Query(ctx, query, args...)
	items, err := Collect(rows, err, func(r Rows) (Contact, error) { return scanContact(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := PageOf(items, p.Size(), func(c Contact) string { return c.ID })
	return items, next, nil
}
