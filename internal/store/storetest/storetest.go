// Package storetest opens isolated test databases: a temp SQLite file, and a
// fresh schema in the PostgreSQL named by JOIST_TEST_DATABASE_URL. Run runs a
// test once per store, the way net/http runs its tests over HTTP/1 and HTTP/2.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/joist-dev/joist/internal/store"
)

// Stores are the dialects every conformance test runs on.
var Stores = []store.Dialect{store.SQLite, store.Postgres}

// Run runs f as a subtest on each store, with a fresh database migrated
// with the core schema and sets (a system's test passes its own).
func Run(t *testing.T, f func(t *testing.T, db *store.DB), sets ...store.MigrationSet) {
	t.Helper()
	for _, d := range Stores {
		t.Run(string(d), func(t *testing.T) {
			f(t, Open(t, d, sets...))
		})
	}
}

// EachStore runs f as a subtest per store with only its options, for tests
// that start joist themselves (a subprocess, or app.New).
func EachStore(t *testing.T, f func(t *testing.T, opts store.Options)) {
	t.Helper()
	for _, d := range Stores {
		t.Run(string(d), func(t *testing.T) {
			f(t, Options(t, d))
		})
	}
}

// PostgresURL returns the test server URL, skipping the test when there is
// none (or failing it when CI=true, so a CI run cannot silently skip).
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("JOIST_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("JOIST_TEST_DATABASE_URL is not set and CI=true: run the tests through scripts/test.sh")
		}
		t.Skip("JOIST_TEST_DATABASE_URL not set; run scripts/test.sh to test on PostgreSQL")
	}
	return u
}

// Options returns store options for a fresh, empty database of dialect d,
// dropped when the test ends. On PostgreSQL it is a new schema.
func Options(t testing.TB, d store.Dialect) store.Options {
	t.Helper()
	if d == store.SQLite {
		return store.Options{SQLitePath: filepath.Join(t.TempDir(), "joist.db")}
	}
	u := PostgresURL(t)
	schema := NewSchema(t, u)
	return store.Options{URL: u, Schema: schema}
}

// NewSchema creates an empty schema on the server at u, dropped at cleanup.
func NewSchema(t testing.TB, u string) string {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect to test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), u)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	return schema
}

// Open opens a fresh database of dialect d, closed at cleanup, and
// migrates it with the core schema and sets (and what they depend on).
func Open(t testing.TB, d store.Dialect, sets ...store.MigrationSet) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, Options(t, d))
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx, append([]store.MigrationSet{store.CoreMigrations()}, sets...)...); err != nil {
		t.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

// Count counts the rows of table.
func Count(t testing.TB, db *store.DB, table string) int {
	t.Helper()
	var n int
	err := db.Read(context.Background(), func(tx *store.Tx) error {
		var err error
		n, err = tx.CountRows(context.Background(), table)
		return err
	})
	if err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// riverBookkeeping are River's tables that change by themselves while the
// job engine runs (leader election, queue and client heartbeats), so a
// count of them says nothing about what a request stored.
var riverBookkeeping = map[string]bool{"river_leader": true, "river_queue": true, "river_client": true, "river_client_queue": true}

// Snapshot counts the rows of every table of the schema, taken from the
// schema itself (so a system's new tables are counted without a list to
// keep), except River's self-changing bookkeeping tables.
func Snapshot(t testing.TB, db *store.DB) map[string]int {
	t.Helper()
	ctx := context.Background()
	out := map[string]int{}
	err := db.Read(ctx, func(tx *store.Tx) error {
		tables, err := tx.Tables(ctx)
		if err != nil {
			return err
		}
		for _, tb := range tables {
			if riverBookkeeping[tb] {
				continue
			}
			n, err := tx.CountRows(ctx, tb)
			if err != nil {
				return err
			}
			out[tb] = n
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if len(out) == 0 {
		t.Fatal("snapshot: the schema has no tables")
	}
	return out
}

// Unchanged fails the test for every table whose row count differs
// between two snapshots.
func Unchanged(t testing.TB, before, after map[string]int) {
	t.Helper()
	for tb, n := range after {
		if before[tb] != n {
			t.Errorf("table %s went from %d to %d rows", tb, before[tb], n)
		}
	}
	for tb := range before {
		if _, ok := after[tb]; !ok {
			t.Errorf("table %s disappeared", tb)
		}
	}
}

// Tenant stores a tenant with slug (and that name) for a store-level test.
func Tenant(t testing.TB, db *store.DB, slug string) store.Tenant {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	tn := store.Tenant{ID: store.NewID(store.PrefixTenant), Slug: slug, Name: slug, CreatedAt: now, UpdatedAt: now}
	if err := db.Write(context.Background(), func(tx *store.Tx) error { return tx.TenantInsert(context.Background(), tn) }); err != nil {
		t.Fatalf("store tenant %s: %v", slug, err)
	}
	return tn
}
