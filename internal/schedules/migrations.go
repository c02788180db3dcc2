package schedules

import (
	"embed"

	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the schedules system's schema (schedules, schedule_runs).
func Migrations() store.MigrationSet {
	return store.MigrationSet{System: "schedules", FS: store.MigrationsDir(migrationFS),
		After:  []store.MigrationSet{store.CoreMigrations(), jobs.Migrations()},
		Legacy: map[int]string{1: "0003_schedules.sql"}}
}
