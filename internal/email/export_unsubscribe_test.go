package email

import (
	"context"

	"github.com/joist-dev/joist/internal/store"
)

// MessageOf builds the message joist sends for a stored email (the outbox
// keeps none), for tests.
func (s *Service) MessageOf(ctx context.Context, tenantID, id string) ([]byte, error) {
	var e Email
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		e, err = scope{tx.Tenant(tenantID)}.emailGet(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	m, err := s.message(ctx, e)
	if err != nil {
		return nil, err
	}
	return m.Raw, nil
}
