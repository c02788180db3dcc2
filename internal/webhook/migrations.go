package webhook

import (
	"embed"

	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the webhook system's schema (webhook_sources, webhook_events, webhook_rejections).
func Migrations() store.MigrationSet {
	return store.MigrationSet{System: "webhook", FS: store.MigrationsDir(migrationFS),
		After:  []store.MigrationSet{store.CoreMigrations(), jobs.Migrations()},
		Legacy: map[int]string{1: "0004_webhooks.sql"}}
}
