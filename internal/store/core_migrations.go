package store

import (
	"embed"
	"io/fs"
)

//go:embed migrations
var coreMigrationFS embed.FS

// CoreMigrations is the schema every system stands on: tenants (with the
// instance's own), contacts, API keys, operators, sessions, the audit log,
// the timeline, idempotency records and instance settings. Every other
// MigrationSet names it in After.
func CoreMigrations() MigrationSet {
	return MigrationSet{System: "core", FS: MigrationsDir(coreMigrationFS),
		Legacy: map[int]string{1: "0001_core.sql", 2: "0006_instance_tenant.sql"}}
}

// MigrationsDir is the folder "migrations" of a system's embedded files,
// which holds its sqlite/ and postgres/ migrations.
func MigrationsDir(embedded fs.FS) fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(err) // fs.Sub fails only on an invalid path, and this one is fixed
	}
	return sub
}
