// Package ratemigrations holds the schema of the email providers' shared
// rate limit, a migration set of its own ("email_rate") so that it is
// numbered apart from the email system's tables.
package ratemigrations

import (
	"embed"

	"github.com/joist-dev/joist/internal/store"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the email_provider_rate table.
func Migrations() store.MigrationSet {
	return store.MigrationSet{System: "email_rate", FS: store.MigrationsDir(migrationFS)}
}
