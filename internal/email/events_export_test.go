package email

import (
	"context"

	"github.com/joist-dev/joist/internal/store"
)

// SetProviderID gives a stored email the provider's id of its message, as
// a real provider's answer would (the outbox gives none), for tests of
// delivery events.
func SetProviderID(ctx context.Context, db *store.DB, tenantID, emailID, providerID string) error {
	return db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Tenant(tenantID).Tx().Exec(ctx, "UPDATE emails SET provider_id = ? WHERE tenant_id = ? AND id = ?",
			providerID, tenantID, emailID)
		return err
	})
}
