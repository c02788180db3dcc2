package tenants

import (
	"context"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// The SQL of key management (authentication's lookup by hash is the kit's).

func keyInsert(ctx context.Context, s *store.Scope, k store.APIKey) error {
	_, err := s.Tx().Exec(ctx, "INSERT INTO api_keys (id, tenant_id, name, prefix, hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		k.ID, s.TenantID(), k.Name, k.Prefix, k.Hash, k.CreatedBy, k.CreatedAt)
	return err
}

func keyGet(ctx context.Context, s *store.Scope, id string) (store.APIKey, error) {
	return store.ScanAPIKey(s.Tx().QueryRow(ctx, "SELECT "+store.APIKeyCols+" FROM api_keys WHERE tenant_id = ? AND id = ?", s.TenantID(), id))
}

// keyRevoke marks a key revoked; revoking twice keeps the first time.
func keyRevoke(ctx context.Context, s *store.Scope, id string, now time.Time) error {
	n, err := s.Tx().Exec(ctx, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant_id = ? AND id = ?", now, s.TenantID(), id)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// keyList lists the tenant's keys by id.
func keyList(ctx context.Context, s *store.Scope, p store.Page) ([]store.APIKey, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.Tx().Query(ctx, "SELECT "+store.APIKeyCols+" FROM api_keys WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?", s.TenantID(), after, p.Size()+1)
	items, err := store.Collect(rows, err, func(r store.Rows) (store.APIKey, error) { return store.ScanAPIKey(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p.Size(), func(k store.APIKey) string { return k.ID })
	return items, next, nil
}
