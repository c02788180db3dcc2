package email

import (
	"context"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// Settings are a tenant's own provider settings as stored.
type Settings struct {
	TenantID   string
	Provider   string
	Base       string // the SMTP URL without its password, or the API base ("": the default)
	Secret     string // sealed with JOIST_SECRET_KEY ("" when the provider has none)
	SecretHint string
	Rate       int
	Version    string // new on every write
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const settingsCols = "tenant_id, provider, base, secret_sealed, secret_hint, rate, version, created_at, updated_at"

// settingsGet reads tenantID's own settings; store.ErrNotFound when it has none.
func settingsGet(ctx context.Context, tx *store.Tx, tenantID string) (Settings, error) {
	var st Settings
	err := tx.QueryRow(ctx, "SELECT "+settingsCols+" FROM email_settings WHERE tenant_id = ?", tenantID).Scan(&st.TenantID, &st.Provider,
		&st.Base, &st.Secret, &st.SecretHint, &st.Rate, &st.Version, &st.CreatedAt, &st.UpdatedAt)
	return st, err
}

// settingsPut stores st, replacing the tenant's settings (created_at kept).
func settingsPut(ctx context.Context, tx *store.Tx, st Settings) error {
	_, err := tx.Exec(ctx, "INSERT INTO email_settings ("+settingsCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET provider = excluded.provider, base = excluded.base, secret_sealed = excluded.secret_sealed,
		secret_hint = excluded.secret_hint, rate = excluded.rate, version = excluded.version, updated_at = excluded.updated_at`,
		st.TenantID, st.Provider, st.Base, st.Secret, st.SecretHint, st.Rate, st.Version, st.CreatedAt, st.UpdatedAt)
	return err
}

// settingsDelete removes tenantID's settings.
func settingsDelete(ctx context.Context, tx *store.Tx, tenantID string) error {
	_, err := tx.Exec(ctx, "DELETE FROM email_settings WHERE tenant_id = ?", tenantID)
	return err
}

// settingsVersion reads only the provider name and version of tenantID's
// settings, for the accept path and the send path's cache check.
func settingsVersion(ctx context.Context, tx *store.Tx, tenantID string) (provider, version string, err error) {
	err = tx.QueryRow(ctx, "SELECT provider, version FROM email_settings WHERE tenant_id = ?", tenantID).Scan(&provider, &version)
	return provider, version, err
}
