package store

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationLockID is the PostgreSQL advisory lock that serialises migrations
// when several nodes start at once.
const migrationLockID = 7_206_117_0001

// MigrationSet is the schema one system contributes: numbered SQL files per
// dialect, applied in order after the sets it names in After.
//
// FS holds one folder per dialect, "sqlite" and "postgres", each with files
// named NNNN_what.sql. A version, once released, is never edited: a change
// is a new file. Versions count per system (jobs 1, 2, ... and billing 1, 2,
// ... are unrelated), and the ledger table joist_schema records each
// applied (system, version).
type MigrationSet struct {
	// System names the set in the ledger ("core", "jobs", "webhook", ...).
	System string
	// FS holds sqlite/NNNN_*.sql and postgres/NNNN_*.sql.
	FS fs.FS
	// After lists the sets whose tables this one references (core for the
	// tenants table, jobs for the jobs table, ...). They are applied first,
	// and Migrate applies them even when the caller did not name them.
	After []MigrationSet
	// Legacy maps a version of this set to the name of the migration file
	// that created the same objects when every system shared one numbered
	// sequence (joist_migrations, up to version 8). A database made then
	// is moved to joist_schema through this map, without running anything
	// again.
	Legacy map[int]string
}

type migration struct {
	system  string
	version int
	name    string
	sql     string
}

func (m migration) id() string { return m.system + "/" + m.name }

func (set MigrationSet) load(d Dialect) ([]migration, error) {
	if set.System == "" || strings.ContainsAny(set.System, "/ ") {
		return nil, fmt.Errorf("migration set %q: System must be a plain name", set.System)
	}
	dir := string(d)
	entries, err := fs.ReadDir(set.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("migration set %s: %w", set.System, err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("migration %s/%s: name must be NNNN_what.sql", set.System, name)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s/%s: name must start with a version number from 0001", set.System, name)
		}
		b, err := fs.ReadFile(set.FS, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{system: set.System, version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, fmt.Errorf("migration %s/%s: versions of %s must run 1, 2, 3 ... without gaps or repeats", set.System, out[i].name, set.System)
		}
	}
	return out, nil
}

// orderSets returns sets and every set they depend on, each once, every set
// after the sets it names in After. Ties keep the order the sets were first
// met in, so the order is the same on every node.
func orderSets(sets []MigrationSet) ([]MigrationSet, error) {
	var out []MigrationSet
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(s MigrationSet, path []string) error
	visit = func(s MigrationSet, path []string) error {
		switch state[s.System] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("migration sets depend on each other in a cycle: %s", strings.Join(append(path, s.System), " -> "))
		}
		state[s.System] = 1
		for _, dep := range s.After {
			if err := visit(dep, append(path, s.System)); err != nil {
				return err
			}
		}
		state[s.System] = 2
		out = append(out, s)
		return nil
	}
	for _, s := range sets {
		if err := visit(s, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MigrationResult lists what Migrate applied.
type MigrationResult struct {
	// Applied names each migration applied by this call, "system/NNNN_what.sql".
	Applied []string
	// Known counts every migration of the sets, applied now or before.
	Known int
	// Upgraded is true when this call moved a database from the single
	// numbered sequence of older versions to joist_schema.
	Upgraded bool
}

// Migrate applies every migration of sets (and of the sets they depend on)
// not yet applied, each in its own transaction, in dependency order. Several
// nodes may call it at once: on PostgreSQL an advisory lock serialises them;
// on SQLite the single writer does.
//
// It refuses a database holding migrations that none of sets knows (a newer
// joist upgraded it): running on a schema it does not understand would
// misbehave, so it says which version to run instead.
func (db *DB) Migrate(ctx context.Context, sets ...MigrationSet) (MigrationResult, error) {
	var res MigrationResult
	ordered, err := orderSets(sets)
	if err != nil {
		return res, err
	}
	var migs []migration
	legacy := map[string][]migration{} // legacy file name -> what replaced it
	for _, set := range ordered {
		ms, err := set.load(db.dialect)
		if err != nil {
			return res, err
		}
		for _, m := range ms {
			if old, ok := set.Legacy[m.version]; ok {
				legacy[old] = append(legacy[old], m)
			}
		}
		migs = append(migs, ms...)
	}
	res.Known = len(migs)
	err = db.Write(ctx, func(tx *Tx) error {
		if err := lockMigrations(ctx, tx); err != nil {
			return err
		}
		up, err := prepareLedger(ctx, tx, legacy)
		res.Upgraded = up
		if err != nil {
			return err
		}
		return checkKnown(ctx, tx, migs)
	})
	if err != nil {
		return res, err
	}
	for _, m := range migs {
		applied := false
		err := db.Write(ctx, func(tx *Tx) error {
			if err := lockMigrations(ctx, tx); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM joist_schema WHERE system = ? AND version = ?", m.system, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.q.exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.id(), err)
			}
			if err := recordMigration(ctx, tx, m, time.Now().UTC().Format(time.RFC3339)); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return res, err
		}
		if applied {
			res.Applied = append(res.Applied, m.id())
		}
	}
	return res, nil
}

func lockMigrations(ctx context.Context, tx *Tx) error {
	if tx.dialect != Postgres {
		return nil
	}
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(?)", int64(migrationLockID))
	return err
}

func recordMigration(ctx context.Context, tx *Tx, m migration, appliedAt string) error {
	_, err := tx.Exec(ctx, "INSERT INTO joist_schema (system, version, name, applied_at) VALUES (?, ?, ?, ?)",
		m.system, m.version, m.name, appliedAt)
	return err
}

// The refusal an older joist meets. Versions up to 3e3f61e kept their
// ledger in a table joist_migrations and ran "SELECT count(*) FROM
// joist_migrations WHERE version = ?" before anything else; once the ledger
// moved to joist_schema, joist_migrations is a view whose every read fails
// with this message, so such a binary stops at start instead of running on a
// schema it does not know.
const olderBinaryRefusal = "this database was upgraded by a newer joist (its migrations are in joist_schema): run that version or a newer one"

// prepareLedger creates joist_schema and the guard that stops older
// binaries, moving the rows of the old single-sequence ledger when the
// database has one. It reports whether it moved them.
func prepareLedger(ctx context.Context, tx *Tx, legacy map[string][]migration) (bool, error) {
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS joist_schema (
		system TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL,
		PRIMARY KEY (system, version))`); err != nil {
		return false, err
	}
	isTable, err := tx.tableExists(ctx, "joist_migrations")
	if err != nil {
		return false, err
	}
	upgraded := false
	if isTable {
		if err := moveLegacyLedger(ctx, tx, legacy); err != nil {
			return false, err
		}
		if _, err := tx.Exec(ctx, "DROP TABLE joist_migrations"); err != nil {
			return false, err
		}
		upgraded = true
	}
	return upgraded, createOlderBinaryGuard(ctx, tx)
}

func moveLegacyLedger(ctx context.Context, tx *Tx, legacy map[string][]migration) error {
	type row struct {
		version         int
		name, appliedAt string
	}
	rs, err := tx.Query(ctx, "SELECT version, name, applied_at FROM joist_migrations ORDER BY version")
	rows, err := Collect(rs, err, func(r Rows) (row, error) {
		var x row
		return x, r.Scan(&x.version, &x.name, &x.appliedAt)
	})
	if err != nil {
		return err
	}
	for _, r := range rows {
		repl, ok := legacy[r.name]
		if !ok {
			return fmt.Errorf("the database has migration %d (%s), which this joist does not know: it was made by a newer joist; run that version or a newer one", r.version, r.name)
		}
		for _, m := range repl {
			if err := recordMigration(ctx, tx, m, r.appliedAt); err != nil {
				return err
			}
		}
	}
	return nil
}

func createOlderBinaryGuard(ctx context.Context, tx *Tx) error {
	exists, err := tx.viewExists(ctx, "joist_migrations")
	if err != nil || exists {
		return err
	}
	if tx.dialect == Postgres {
		if _, err := tx.q.exec(ctx, `CREATE FUNCTION joist_migrations_refuse() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '`+olderBinaryRefusal+`'; END $$`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE VIEW joist_migrations AS
			SELECT version, name, applied_at FROM joist_schema WHERE joist_migrations_refuse()`)
		return err
	}
	// SQLite has no RAISE outside triggers; an unknown function fails every
	// read with "no such function: <its name>", and (unlike a missing
	// table) does not upset ALTER TABLE's check of the schema.
	_, err = tx.Exec(ctx, `CREATE VIEW joist_migrations AS
		SELECT version, name, applied_at FROM joist_schema WHERE "`+olderBinaryRefusal+`"()`)
	return err
}

// checkKnown refuses a ledger holding migrations none of migs is.
func checkKnown(ctx context.Context, tx *Tx, migs []migration) error {
	known := map[string]bool{}
	for _, m := range migs {
		known[m.system+"/"+strconv.Itoa(m.version)] = true
	}
	type row struct {
		system, name string
		version      int
	}
	rs, err := tx.Query(ctx, "SELECT system, version, name FROM joist_schema ORDER BY system, version")
	rows, err := Collect(rs, err, func(r Rows) (row, error) {
		var x row
		return x, r.Scan(&x.system, &x.version, &x.name)
	})
	if err != nil {
		return err
	}
	var unknown []string
	for _, r := range rows {
		if !known[r.system+"/"+strconv.Itoa(r.version)] {
			unknown = append(unknown, r.system+"/"+r.name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("the database has migrations this joist does not know (%s): a newer joist upgraded it; run that version or a newer one", strings.Join(unknown, ", "))
	}
	return nil
}

// tableExists reports whether a base table name exists in the current
// schema (PostgreSQL) or the main database (SQLite).
func (tx *Tx) tableExists(ctx context.Context, name string) (bool, error) {
	return tx.relationExists(ctx, name, "table")
}

func (tx *Tx) viewExists(ctx context.Context, name string) (bool, error) {
	return tx.relationExists(ctx, name, "view")
}

func (tx *Tx) relationExists(ctx context.Context, name, kind string) (bool, error) {
	var n int
	var err error
	if tx.dialect == Postgres {
		t := "BASE TABLE"
		if kind == "view" {
			t = "VIEW"
		}
		err = tx.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_name = ? AND table_type = ?`, name, t).Scan(&n)
	} else {
		err = tx.QueryRow(ctx, "SELECT count(*) FROM sqlite_master WHERE type = ? AND name = ?", kind, name).Scan(&n)
	}
	return n > 0, err
}
