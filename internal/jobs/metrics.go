package jobs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/store"
)

// metrics are the jobs metrics: counters fed by River's events, and gauges
// read from the database when /metrics is scraped.
type metrics struct {
	attempts *prometheus.CounterVec
	failures *prometheus.CounterVec
	db       *store.DB
	now      func() time.Time

	jobsDesc *prometheus.Desc
	lagDesc  *prometheus.Desc
}

func newMetrics(db *store.DB, now func() time.Time) *metrics {
	return &metrics{
		db:  db,
		now: now,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joist_job_attempts_total", Help: "Job attempts finished on this node, by kind.",
		}, []string{"kind"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joist_job_failures_total", Help: "Job attempts that failed on this node (errors, timeouts, cancels), by kind.",
		}, []string{"kind"}),
		jobsDesc: prometheus.NewDesc("joist_jobs", "Jobs by state and queue (all tenants).", []string{"state", "queue"}, nil),
		lagDesc:  prometheus.NewDesc("joist_job_queue_lag_seconds", "Age of the oldest available job, by queue.", []string{"queue"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.attempts.Describe(ch)
	m.failures.Describe(ch)
	ch <- m.jobsDesc
	ch <- m.lagDesc
}

// Collect implements prometheus.Collector; the gauges cost one query each.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.attempts.Collect(ch)
	m.failures.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var counts map[[2]string]int
	var lag map[string]time.Duration
	err := m.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		counts, lag, err = jobStats(ctx, tx, m.now())
		return err
	})
	if err != nil {
		return
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(m.jobsDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	for q, d := range lag {
		ch <- prometheus.MustNewConstMetric(m.lagDesc, prometheus.GaugeValue, d.Seconds(), q)
	}
}

// observe counts River's job events until the channel closes.
func (m *metrics) observe(events <-chan *river.Event) {
	for ev := range events {
		if ev == nil || ev.Job == nil {
			continue
		}
		m.attempts.WithLabelValues(ev.Job.Kind).Inc()
		if ev.Kind == river.EventKindJobFailed || ev.Kind == river.EventKindJobCancelled {
			m.failures.WithLabelValues(ev.Job.Kind).Inc()
		}
	}
}
