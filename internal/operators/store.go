package operators

import (
	"context"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// The SQL of operator management; finding operators, inserting the first
// owner and setting a password are the kit's (package store).

// operatorUpdate stores name, role, scope and disabled state.
func operatorUpdate(ctx context.Context, tx *store.Tx, o store.Operator) error {
	n, err := tx.Exec(ctx, "UPDATE operators SET name = ?, role = ?, all_tenants = ?, disabled_at = ?, updated_at = ? WHERE id = ?",
		o.Name, o.Role, o.AllTenants, o.DisabledAt, o.UpdatedAt, o.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return tx.OperatorSetTenants(ctx, o)
}

// inviteInsert stores an invite token hash for an operator.
func inviteInsert(tx *store.Tx, ctx context.Context, tokenHash, operatorID string, now, expires time.Time) error {
	_, err := tx.Exec(ctx, "INSERT INTO operator_invites (token_hash, operator_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
		tokenHash, operatorID, now, expires)
	return err
}
