package core

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/store"
)

// Deps is what every system's service shares, handed to each constructor
// (app builds one; a test may build its own): the store, the clock, a
// logger and where metrics are registered. A system's own dependencies
// and settings are its constructor's other arguments.
//
// Every outbound request goes through Egress, the one guarded client.
type Deps struct {
	// DB is the store.
	DB *store.DB
	// Log is the logger; For tags it with the service's name.
	Log *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Metrics receives the service's collectors (nil: not registered).
	Metrics prometheus.Registerer
	// Egress is the guarded outbound client (nil: egress.Default(), the
	// rules with nothing configured).
	Egress *egress.Guard
}

// For returns d for the service named service: its logger tagged with the
// name, and the defaults of unset fields filled in.
func (d Deps) For(service string) Deps {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	d.Log = d.Log.With("service", service)
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Egress == nil {
		d.Egress = egress.Default()
	}
	return d
}

// Register registers collectors on d.Metrics, when it is set.
func (d Deps) Register(cs ...prometheus.Collector) {
	if d.Metrics == nil {
		return
	}
	d.Metrics.MustRegister(cs...)
}
