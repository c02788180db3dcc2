package store

import (
	"context"
	"time"
)

// APIKey is a stored API key: only its SHA-256 hash and visible prefix are kept.
type APIKey struct {
	ID         string
	TenantID   string // empty for a root key
	Name       string
	Prefix     string
	Hash       string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// APIKeyCols are the columns ScanAPIKey reads, in its order.
const APIKeyCols = "id, COALESCE(tenant_id, ''), name, prefix, hash, created_by, created_at, last_used_at, revoked_at"

// ScanAPIKey reads a key selected with APIKeyCols.
func ScanAPIKey(r Row) (APIKey, error) {
	var k APIKey
	err := r.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.Hash, &k.CreatedBy, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt)
	return k, err
}

// APIKeyByHash finds a key (root or tenant) by its hash, for authentication.
func (tx *Tx) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	return ScanAPIKey(tx.QueryRow(ctx, "SELECT "+APIKeyCols+" FROM api_keys WHERE hash = ?", hash))
}

// APIKeyTouch sets last_used_at when it is older than minAge.
func (tx *Tx) APIKeyTouch(ctx context.Context, id string, now time.Time, minAge time.Duration) error {
	_, err := tx.Exec(ctx, "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
		now, id, now.Add(-minAge))
	return err
}

// RootKeyInsert stores a root key (no tenant).
func (tx *Tx) RootKeyInsert(ctx context.Context, k APIKey) error {
	_, err := tx.Exec(ctx, "INSERT INTO api_keys (id, tenant_id, name, prefix, hash, created_by, created_at) VALUES (?, NULL, ?, ?, ?, ?, ?)",
		k.ID, k.Name, k.Prefix, k.Hash, k.CreatedBy, k.CreatedAt)
	return err
}

// RootKeyCount counts unrevoked root keys.
func (tx *Tx) RootKeyCount(ctx context.Context) (int, error) {
	var n int
	err := tx.QueryRow(ctx, "SELECT count(*) FROM api_keys WHERE tenant_id IS NULL AND revoked_at IS NULL").Scan(&n)
	return n, err
}
