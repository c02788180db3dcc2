package store

import (
	"context"
	"slices"
	"time"
)

// IdempotencyRecord is the stored outcome of a POST sent with an Idempotency-Key.
type IdempotencyRecord struct {
	TenantID    string // empty when the request had no tenant
	Route       string
	Key         string
	RequestHash string
	State       string // pending or done
	Status      int
	ContentType string
	// Headers are the replayed response headers besides Content-Type
	// (Location, Cache-Control), one "Name: value" per line.
	Headers   string
	Body      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// PendingClaimTimeout is how long a claimed Idempotency-Key may stay
// pending before a retry takes it over (its node must have died).
const PendingClaimTimeout = time.Minute

// IdempotencyClaim inserts a pending record. It returns ErrConflict with the
// existing record when the (tenant, route, key) is already taken and live.
// An expired record is replaced.
func (tx *Tx) IdempotencyClaim(ctx context.Context, r IdempotencyRecord, now time.Time) (IdempotencyRecord, error) {
	// The usual case, a key not seen before, is one statement; a key
	// already there (live, expired or left pending) takes the long way.
	n, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (tenant_id, route, key, request_hash, state, status, content_type, body, created_at, expires_at)
		VALUES (?, ?, ?, ?, 'pending', 0, '', NULL, ?, ?) ON CONFLICT DO NOTHING`, r.TenantID, r.Route, r.Key, r.RequestHash, r.CreatedAt, r.ExpiresAt)
	if err != nil || n == 1 {
		return r, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM idempotency_keys WHERE tenant_id = ? AND route = ? AND key = ? AND expires_at <= ?",
		r.TenantID, r.Route, r.Key, now); err != nil {
		return IdempotencyRecord{}, err
	}
	var ex IdempotencyRecord
	err = tx.QueryRow(ctx, `SELECT tenant_id, route, key, request_hash, state, status, content_type, headers, body, created_at, expires_at
		FROM idempotency_keys WHERE tenant_id = ? AND route = ? AND key = ?`, r.TenantID, r.Route, r.Key).
		Scan(&ex.TenantID, &ex.Route, &ex.Key, &ex.RequestHash, &ex.State, &ex.Status, &ex.ContentType, &ex.Headers, &ex.Body, &ex.CreatedAt, &ex.ExpiresAt)
	if err == nil && ex.State == "pending" && ex.CreatedAt.Before(now.Add(-PendingClaimTimeout)) {
		// The node that claimed the key died before answering: take it over
		// rather than refuse the key until it expires.
		if _, err := tx.Exec(ctx, "DELETE FROM idempotency_keys WHERE tenant_id = ? AND route = ? AND key = ? AND state = 'pending'",
			r.TenantID, r.Route, r.Key); err != nil {
			return IdempotencyRecord{}, err
		}
		err = ErrNotFound
	}
	if err == nil {
		return ex, ErrConflict
	}
	if !isNotFound(err) {
		return IdempotencyRecord{}, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO idempotency_keys (tenant_id, route, key, request_hash, state, status, content_type, body, created_at, expires_at)
		VALUES (?, ?, ?, ?, 'pending', 0, '', NULL, ?, ?)`, r.TenantID, r.Route, r.Key, r.RequestHash, r.CreatedAt, r.ExpiresAt)
	return r, err
}

// IdempotencyGet reads the live record of a key (ErrNotFound when there
// is none, or it has expired).
func (tx *Tx) IdempotencyGet(ctx context.Context, tenantID, route, key string, now time.Time) (IdempotencyRecord, error) {
	var ex IdempotencyRecord
	err := tx.QueryRow(ctx, `SELECT tenant_id, route, key, request_hash, state, status, content_type, headers, body, created_at, expires_at
		FROM idempotency_keys WHERE tenant_id = ? AND route = ? AND key = ? AND expires_at > ?`, tenantID, route, key, now).
		Scan(&ex.TenantID, &ex.Route, &ex.Key, &ex.RequestHash, &ex.State, &ex.Status, &ex.ContentType, &ex.Headers, &ex.Body, &ex.CreatedAt, &ex.ExpiresAt)
	return ex, err
}

// IdempotencyComplete stores the response of a claimed key.
func (tx *Tx) IdempotencyComplete(ctx context.Context, r IdempotencyRecord) error {
	_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET state = 'done', status = ?, content_type = ?, headers = ?, body = ?
		WHERE tenant_id = ? AND route = ? AND key = ?`, r.Status, r.ContentType, r.Headers, r.Body, r.TenantID, r.Route, r.Key)
	return err
}

// IdempotencyRelease forgets a claimed key whose request failed, so a retry may run.
func (tx *Tx) IdempotencyRelease(ctx context.Context, tenantID, route, key string) error {
	_, err := tx.Exec(ctx, "DELETE FROM idempotency_keys WHERE tenant_id = ? AND route = ? AND key = ? AND state = 'pending'", tenantID, route, key)
	return err
}

// IdempotencyPurge deletes expired records.
func (tx *Tx) IdempotencyPurge(ctx context.Context, now time.Time) (int64, error) {
	return tx.Exec(ctx, "DELETE FROM idempotency_keys WHERE expires_at <= ?", now)
}

// SettingGet reads an instance setting.
func (tx *Tx) SettingGet(ctx context.Context, key string) (string, error) {
	var v string
	err := tx.QueryRow(ctx, "SELECT value FROM instance_settings WHERE key = ?", key).Scan(&v)
	return v, err
}

// SettingSet writes an instance setting.
func (tx *Tx) SettingSet(ctx context.Context, key, value string) error {
	_, err := tx.Exec(ctx, `INSERT INTO instance_settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Tables lists the base tables of the schema (the current schema on
// PostgreSQL, the main database on SQLite), sorted, so that tests counting
// "every table" follow the schema as systems add to it.
func (tx *Tx) Tables(ctx context.Context) ([]string, error) {
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
	if tx.dialect == Postgres {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
	}
	rows, err := tx.Query(ctx, q)
	return Collect(rows, err, func(r Rows) (string, error) {
		var s string
		return s, r.Scan(&s)
	})
}

// CountRows counts the rows of a table of the schema (ErrNotFound for a
// name that is not one), for tests that prove bad input stored nothing.
func (tx *Tx) CountRows(ctx context.Context, table string) (int, error) {
	tables, err := tx.Tables(ctx)
	if err != nil {
		return 0, err
	}
	if !slices.Contains(tables, table) {
		return 0, ErrNotFound
	}
	var n int
	err = tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
	return n, err
}
