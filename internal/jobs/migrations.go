package jobs

import (
	"embed"

	"github.com/joist-dev/joist/internal/store"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the jobs system's schema (jobs, job_attempts, signing_secrets; River's own tables come from its migrations, see MigrateRiver).
func Migrations() store.MigrationSet {
	return store.MigrationSet{System: "jobs", FS: store.MigrationsDir(migrationFS),
		After:  []store.MigrationSet{store.CoreMigrations()},
		Legacy: map[int]string{1: "0002_jobs.sql"}}
}
