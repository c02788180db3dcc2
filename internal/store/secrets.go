package store

import (
	"context"
	"time"
)

// SigningSecret is an encrypted Standard Webhooks secret of a tenant
// (TenantID "" is the instance's own, for instance-level sources).
type SigningSecret struct {
	ID        string
	TenantID  string
	SecretEnc string
	CreatedAt time.Time
	ExpiresAt *time.Time
}

// SigningSecretsLive lists a tenant's unexpired secrets, newest first.
func (tx *Tx) SigningSecretsLive(ctx context.Context, tenantID string, now time.Time) ([]SigningSecret, error) {
	rows, err := tx.Query(ctx, `SELECT id, tenant_id, secret_enc, created_at, expires_at FROM signing_secrets
		WHERE tenant_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY id DESC`, tenantID, now)
	return Collect(rows, err, func(r Rows) (SigningSecret, error) {
		var s SigningSecret
		err := r.Scan(&s.ID, &s.TenantID, &s.SecretEnc, &s.CreatedAt, &s.ExpiresAt)
		return s, err
	})
}

// SigningSecretRotate adds a new secret and makes every other live secret
// of the tenant expire at oldExpiresAt.
func (tx *Tx) SigningSecretRotate(ctx context.Context, s SigningSecret, now, oldExpiresAt time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE signing_secrets SET expires_at = ? WHERE tenant_id = ? AND (expires_at IS NULL OR expires_at > ?)`,
		oldExpiresAt, s.TenantID, oldExpiresAt); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "INSERT INTO signing_secrets (id, tenant_id, secret_enc, created_at, expires_at) VALUES (?, ?, ?, ?, NULL)",
		s.ID, s.TenantID, s.SecretEnc, s.CreatedAt)
	return err
}
