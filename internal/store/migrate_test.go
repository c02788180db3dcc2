package store_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// set builds a migration set whose files are the same on both dialects.
func set(system string, files map[string]string, after ...store.MigrationSet) store.MigrationSet {
	fsys := fstest.MapFS{}
	for name, sql := range files {
		for _, d := range []string{"sqlite", "postgres"} {
			fsys[d+"/"+name] = &fstest.MapFile{Data: []byte(sql)}
		}
	}
	return store.MigrationSet{System: system, FS: fsys, After: after}
}

func openEmpty(t *testing.T, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func ledger(t *testing.T, db *store.DB) []string {
	t.Helper()
	var out []string
	err := db.Read(context.Background(), func(tx *store.Tx) error {
		rows, err := tx.Query(context.Background(), "SELECT system, name FROM joist_schema ORDER BY system, version")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s, n string
			if err := rows.Scan(&s, &n); err != nil {
				return err
			}
			out = append(out, s+"/"+n)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMigrationSetsApplyInDependencyOrder(t *testing.T) {
	t.Parallel()
	storetest.EachStore(t, func(t *testing.T, opts store.Options) {
		ctx := context.Background()
		db := openEmpty(t, opts)
		parts := set("parts", map[string]string{
			"0001_parts.sql": "CREATE TABLE parts (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id))",
		}, store.CoreMigrations())
		// gears references parts: parts must run first although gears is named first.
		gears := set("gears", map[string]string{
			"0001_gears.sql":  "CREATE TABLE gears (id TEXT PRIMARY KEY, part_id TEXT NOT NULL REFERENCES parts(id))",
			"0002_teeth.sql":  "ALTER TABLE gears ADD COLUMN teeth INTEGER",
			"README.md":       "not a migration",
			"0003_colour.sql": "ALTER TABLE gears ADD COLUMN colour TEXT",
		}, parts)
		res, err := db.Migrate(ctx, gears)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"core/0001_core.sql", "core/0002_instance_tenant.sql", "parts/0001_parts.sql",
			"gears/0001_gears.sql", "gears/0002_teeth.sql", "gears/0003_colour.sql"}
		if strings.Join(res.Applied, " ") != strings.Join(want, " ") || res.Known != len(want) || res.Upgraded {
			t.Fatalf("applied %v (known %d, upgraded %v), want %v", res.Applied, res.Known, res.Upgraded, want)
		}
		if got := ledger(t, db); len(got) != len(want) {
			t.Fatalf("ledger %v", got)
		}
		// Again: nothing to do, on a second handle too.
		res, err = openEmpty(t, opts).Migrate(ctx, parts, gears)
		if err != nil || len(res.Applied) != 0 {
			t.Fatalf("second migrate: %+v %v", res, err)
		}
	})
}

func TestMigrateRefusesWhatItCannotRun(t *testing.T) {
	t.Parallel()
	storetest.EachStore(t, func(t *testing.T, opts store.Options) {
		ctx := context.Background()
		db := openEmpty(t, opts)
		v2 := set("gears", map[string]string{
			"0001_gears.sql": "CREATE TABLE gears (id TEXT PRIMARY KEY)",
			"0002_teeth.sql": "ALTER TABLE gears ADD COLUMN teeth INTEGER",
		}, store.CoreMigrations())
		if _, err := db.Migrate(ctx, v2); err != nil {
			t.Fatal(err)
		}
		before := ledger(t, db)

		cases := []struct {
			name string
			sets []store.MigrationSet
			want string
		}{
			{"a newer joist applied gears/0002 that this one lacks", []store.MigrationSet{set("gears", map[string]string{
				"0001_gears.sql": "CREATE TABLE gears (id TEXT PRIMARY KEY)"}, store.CoreMigrations())},
				"migrations this joist does not know (gears/0002_teeth.sql): a newer joist upgraded it"},
			{"gap in versions", []store.MigrationSet{set("gaps", map[string]string{
				"0001_a.sql": "SELECT 1", "0003_c.sql": "SELECT 1"})}, "without gaps"},
			{"file without a number", []store.MigrationSet{set("bad", map[string]string{"first.sql": "SELECT 1"})}, "NNNN_what.sql"},
			{"cycle", func() []store.MigrationSet {
				a := set("a", map[string]string{"0001_a.sql": "SELECT 1"})
				b := set("b", map[string]string{"0001_b.sql": "SELECT 1"}, a)
				a.After = []store.MigrationSet{b}
				return []store.MigrationSet{a}
			}(), "cycle: a -> b -> a"},
			{"failing SQL names its file", []store.MigrationSet{v2, set("broken", map[string]string{
				"0001_broken.sql": "CREATE TABLE broken (id TEXT PRIMARY KEY); CREATE TABLE broken (id TEXT)"})},
				"migration broken/0001_broken.sql"},
		}
		for _, c := range cases {
			_, err := db.Migrate(ctx, c.sets...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
			}
		}
		if after := ledger(t, db); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Fatalf("refused migrations changed the ledger: %v -> %v", before, after)
		}
		if n := storetest.Count(t, db, "tenants"); n != 1 {
			t.Fatalf("tenants = %d after refused migrations, want the instance's alone", n)
		}
	})
}

// oldBinaryStart runs what every joist up to the single-sequence ledger ran
// first at start, word for word.
func oldBinaryStart(ctx context.Context, db *store.DB) error {
	return db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS joist_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
		var n int
		return tx.QueryRow(ctx, "SELECT count(*) FROM joist_migrations WHERE version = ?", 1).Scan(&n)
	})
}

func TestLegacyLedgerMovesAndOlderBinariesRefuse(t *testing.T) {
	t.Parallel()
	storetest.EachStore(t, func(t *testing.T, opts store.Options) {
		ctx := context.Background()
		db := openEmpty(t, opts)
		// What an older joist left: its ledger, and the objects its
		// migrations made.
		err := db.Write(ctx, func(tx *store.Tx) error {
			for _, q := range []string{
				"CREATE TABLE joist_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
				"INSERT INTO joist_migrations VALUES (1, '0001_widgets.sql', '2026-01-02T03:04:05Z'), (2, '0002_sprockets.sql', '2026-01-03T03:04:05Z')",
				"CREATE TABLE widgets (id TEXT PRIMARY KEY)",
				"CREATE TABLE sprockets (id TEXT PRIMARY KEY)",
				"INSERT INTO widgets VALUES ('w1')",
			} {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		widgets := set("widgets", map[string]string{
			"0001_widgets.sql": "CREATE TABLE widgets (id TEXT PRIMARY KEY)",
			"0002_gizmos.sql":  "CREATE TABLE gizmos (id TEXT PRIMARY KEY)",
		})
		widgets.Legacy = map[int]string{1: "0001_widgets.sql"}
		sprockets := set("sprockets", map[string]string{"0001_sprockets.sql": "CREATE TABLE sprockets (id TEXT PRIMARY KEY)"}, widgets)

		// A legacy migration no set claims: refused, and nothing moves.
		if _, err := db.Migrate(ctx, widgets); err == nil || !strings.Contains(err.Error(), "migration 2 (0002_sprockets.sql), which this joist does not know") {
			t.Fatalf("unclaimed legacy migration: %v", err)
		}
		if err := oldBinaryStart(ctx, db); err != nil {
			t.Fatalf("a refused upgrade must leave the database as the old binary left it: %v", err)
		}

		sprockets.Legacy = map[int]string{1: "0002_sprockets.sql"}
		res, err := db.Migrate(ctx, sprockets)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Upgraded || strings.Join(res.Applied, " ") != "widgets/0002_gizmos.sql" {
			t.Fatalf("upgrade: %+v", res)
		}
		if got := strings.Join(ledger(t, db), " "); got != "sprockets/0001_sprockets.sql widgets/0001_widgets.sql widgets/0002_gizmos.sql" {
			t.Fatalf("ledger %s", got)
		}
		if n := storetest.Count(t, db, "widgets"); n != 1 {
			t.Fatalf("widgets = %d, want the old row kept", n)
		}
		err = oldBinaryStart(ctx, db)
		if err == nil || !strings.Contains(err.Error(), "this database was upgraded by a newer joist") {
			t.Fatalf("old binary on an upgraded database: got %v, want the refusal", err)
		}
		// The guard does not stop this binary, nor later schema changes.
		res, err = db.Migrate(ctx, sprockets, set("later", map[string]string{
			"0001_later.sql": "ALTER TABLE widgets ADD COLUMN colour TEXT; ALTER TABLE widgets RENAME COLUMN colour TO color; ALTER TABLE sprockets RENAME TO sprockets2",
		}))
		if err != nil || res.Upgraded || strings.Join(res.Applied, " ") != "later/0001_later.sql" {
			t.Fatalf("migrate after upgrade: %+v %v", res, err)
		}
	})
}

func TestFreshDatabaseRefusesOlderBinaries(t *testing.T) {
	t.Parallel()
	storetest.EachStore(t, func(t *testing.T, opts store.Options) {
		ctx := context.Background()
		db := openEmpty(t, opts)
		if _, err := db.Migrate(ctx, store.CoreMigrations()); err != nil {
			t.Fatal(err)
		}
		if err := oldBinaryStart(ctx, db); err == nil || !strings.Contains(err.Error(), "upgraded by a newer joist") {
			t.Fatalf("old binary on a fresh database: %v", err)
		}
	})
}
