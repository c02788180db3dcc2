package billing

import (
	"embed"

	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the billing system's schema (billing_customers, subscriptions, subscription_changes, billing_routes).
func Migrations() store.MigrationSet {
	return store.MigrationSet{System: "billing", FS: store.MigrationsDir(migrationFS),
		After:  []store.MigrationSet{store.CoreMigrations(), jobs.Migrations()},
		Legacy: map[int]string{1: "0005_billing.sql", 2: "0007_billing_routes.sql", 3: "0008_subscription_fetched.sql"}}
}
