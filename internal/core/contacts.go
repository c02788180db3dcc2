package core

import (
	"context"
	"errors"
	"unicode"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// ValidateExternalID checks an app's contact id.
func ValidateExternalID(id string) error {
	if id == "" || utf8.RuneCountInString(id) > 255 {
		return invalid("invalid_contact_id", "contact id must be 1-255 characters, got %d", utf8.RuneCountInString(id))
	}
	for _, r := range id {
		if r == '/' || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return invalid("invalid_contact_id", "contact id %q may not contain spaces, '/' or control characters", id)
		}
	}
	return nil
}

// ContactGet finds a contact by external id within the actor's reach.
func (s *Service) ContactGet(ctx context.Context, a auth.Actor, tenantID, externalID string) (store.Contact, error) {
	if err := s.tenantAccess(a, tenantID, auth.PermRead); err != nil {
		return store.Contact{}, err
	}
	var c store.Contact
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.Tenant(tenantID).ContactGet(ctx, externalID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return c, notFound("contact %q not found", externalID)
	}
	return c, err
}
