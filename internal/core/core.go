// Package core is what every system shares besides the database: the
// domain errors and their kinds (errors.go), access checks of role and
// tenant reach (access.go), the audit writer and reader (audit.go), and the
// bundle every service is built with (deps.go, Deps).
//
// It also holds the foundation's operations (tenants, contacts and their
// timeline, keys and authentication, operators and sessions, bootstrap),
// shared by the HTTP API, the admin dashboard and the CLI. Each operation
// checks the actor's permission and tenant reach, validates its input whole
// before writing anything, and writes its audit entry and timeline entries
// in the same transaction as the change.
package core

import (
	"log/slog"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// Service performs core operations against a store.
type Service struct {
	db    *store.DB
	now   func() time.Time
	log   *slog.Logger
	opts  Options
	touch *touchCache
	// tenants: see tenantCache.
	tenants tenantCache
}

// Options tune the service.
type Options struct {
	SessionTTL time.Duration
}

// New returns a Service. now is the clock (time.Now in production).
func New(db *store.DB, now func() time.Time, log *slog.Logger, opts Options) *Service {
	if opts.SessionTTL == 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	return &Service{db: db, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }, log: log, opts: opts, touch: newTouchCache()}
}

// DB is the store the service writes to.
func (s *Service) DB() *store.DB { return s.db }

// Now is the service clock.
func (s *Service) Now() time.Time { return s.now() }
