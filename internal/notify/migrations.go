package notify

import (
	"embed"

	"github.com/joist-dev/joist/internal/store"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the notification system's schema (notification types,
// events and their skipped recipients, notifications, their channel
// deliveries, contact preferences, and each contact's feed sequence and
// feed log).
func Migrations() store.MigrationSet {
	return store.MigrationSet{System: "notify", FS: store.MigrationsDir(migrationFS),
		After: []store.MigrationSet{store.CoreMigrations()}}
}
