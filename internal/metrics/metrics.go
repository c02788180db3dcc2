// Package metrics holds joist's Prometheus registry and the metrics shared
// by several services. Every metric is prefixed joist_.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry per process (no global state).
type Metrics struct {
	Registry *prometheus.Registry

	httpDuration *prometheus.HistogramVec
	httpErrors   *prometheus.CounterVec
	storeTx      *prometheus.HistogramVec
	storeErrors  *prometheus.CounterVec
	storeBatch   prometheus.Histogram
	loginFails   prometheus.Counter
}

// New builds a registry with the Go and process collectors and joist's metrics.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: r,
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "joist_http_request_duration_seconds", Help: "HTTP request latency by route, method and status code.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"route", "method", "code"}),
		httpErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joist_http_errors_total", Help: "HTTP responses with status >= 400 by route and stable error code.",
		}, []string{"route", "code", "error"}),
		storeTx: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "joist_store_tx_duration_seconds", Help: "Store transaction latency (read or write, including waiting for the group commit).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}, []string{"kind"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joist_store_tx_errors_total", Help: "Store transactions that returned an error.",
		}, []string{"kind"}),
		storeBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "joist_store_commit_batch_size", Help: "Write transactions sharing one SQLite commit (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		loginFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "joist_admin_login_failures_total", Help: "Failed or rate-limited admin logins.",
		}),
	}
	r.MustRegister(m.httpDuration, m.httpErrors, m.storeTx, m.storeErrors, m.storeBatch, m.loginFails)
	return m
}

// ObserveHTTP records one request.
func (m *Metrics) ObserveHTTP(route, method string, status int, errCode string, d time.Duration) {
	code := strconv.Itoa(status)
	m.httpDuration.WithLabelValues(route, method, code).Observe(d.Seconds())
	if status >= 400 {
		m.httpErrors.WithLabelValues(route, code, errCode).Inc()
	}
}

// ObserveTx implements store.Observer.
func (m *Metrics) ObserveTx(kind string, d time.Duration, err error) {
	m.storeTx.WithLabelValues(kind).Observe(d.Seconds())
	if err != nil {
		m.storeErrors.WithLabelValues(kind).Inc()
	}
}

// ObserveBatch implements store.Observer.
func (m *Metrics) ObserveBatch(n int) { m.storeBatch.Observe(float64(n)) }

// LoginFailed counts a failed admin login.
func (m *Metrics) LoginFailed() { m.loginFails.Inc() }

// Handler serves /metrics, behind a bearer token when token is set.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := "Bearer " + token
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "send the metrics token as 'Authorization: Bearer <JOIST_METRICS_TOKEN>'", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
