// Package admin is the operator dashboard at /admin.
package admin

import (
	"log/slog"
	"net/http"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/metrics"
)

// Options configure the dashboard.
type Options struct {
	SecureCookies bool
	BaseURL       string
	ClientIP      func(*http.Request) string
}

// Admin serves the dashboard.
type Admin struct {
	core    *core.Service
	metrics *metrics.Metrics
	log     *slog.Logger
	opts    Options
}

// New builds the dashboard.
func New(svc *core.Service, m *metrics.Metrics, log *slog.Logger, opts Options) *Admin {
	return &Admin{core: svc, metrics: m, log: log, opts: opts}
}

// Register adds the dashboard's routes under /admin to mux.
func (a *Admin) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "admin: not built yet", http.StatusNotImplemented)
	})
}
