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

// ContactCols are the columns ScanContact reads, in its order.
const ContactCols = "id, tenant_id, external_id, email, name, locale, timezone, metadata, created_at, updated_at"

// ScanContact reads a contact selected with ContactCols.
func ScanContact(r Row) (Contact, error) {
	var c Contact
	var meta []byte
	err := r.Scan(&c.ID, &c.TenantID, &c.ExternalID, &c.Email, &c.Name, &c.Locale, &c.Timezone, &meta, &c.CreatedAt, &c.UpdatedAt)
	c.Metadata = json.RawMessage(meta)
	return c, err
}

// ContactGet finds a contact by the app's external id.
func (s *Scope) ContactGet(ctx context.Context, externalID string) (Contact, error) {
	return ScanContact(s.tx.QueryRow(ctx, "SELECT "+ContactCols+" FROM contacts WHERE tenant_id = ? AND external_id = ?", s.tenantID, externalID))
}

// ContactGetByID finds a contact by joist's id (ct_...).
func (s *Scope) ContactGetByID(ctx context.Context, id string) (Contact, error) {
	return ScanContact(s.tx.QueryRow(ctx, "SELECT "+ContactCols+" FROM contacts WHERE tenant_id = ? AND id = ?", s.tenantID, id))
}

// ContactInsert stores a new contact in the scope's tenant.
func (s *Scope) ContactInsert(ctx context.Context, c Contact) error {
	if c.Metadata == nil {
		c.Metadata = json.RawMessage("{}")
	}
	_, err := s.tx.Exec(ctx, "INSERT INTO contacts ("+ContactCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		c.ID, s.tenantID, c.ExternalID, c.Email, c.Name, c.Locale, c.Timezone, c.Metadata, c.CreatedAt, c.UpdatedAt)
	return err
}
