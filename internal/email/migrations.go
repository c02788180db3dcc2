package email

import (
	"embed"

	"github.com/joist-dev/joist/internal/email/ratemigrations"
	"github.com/joist-dev/joist/internal/store"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the email system's schema (emails, email_recipients,
// email_tags, email_events, ...), after the providers' shared rate limit
// (email_provider_rate, a set of its own).
func Migrations() store.MigrationSet {
	return store.MigrationSet{System: "email", FS: store.MigrationsDir(migrationFS),
		After: []store.MigrationSet{store.CoreMigrations(), ratemigrations.Migrations()}}
}
