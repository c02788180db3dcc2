package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivershared/riverpilot"
	"github.com/riverqueue/river/rivertype"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// EngineOptions tune River for this machine; docs/architecture.md says why
// each value is what it is.
type EngineOptions struct {
	// Queues maps queue names to their worker counts.
	Queues map[string]int
	// MaxTimeout is the longest any job may run. Jobs left running by a
	// crashed node are rescued RescueMargin after it.
	MaxTimeout   time.Duration
	RescueMargin time.Duration
	// Retention of finished jobs.
	CompletedRetention time.Duration
	DeadRetention      time.Duration
	// FetchCooldown and FetchPollInterval: see docs/architecture.md.
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
	// NodeID names this process in attempts and logs.
	NodeID string
}

func (o *EngineOptions) defaults(d store.Dialect) {
	if len(o.Queues) == 0 {
		o.Queues = map[string]int{"default": 100}
	}
	if o.MaxTimeout == 0 {
		o.MaxTimeout = 5 * time.Minute
	}
	if o.RescueMargin == 0 {
		o.RescueMargin = 15 * time.Second
	}
	if o.CompletedRetention == 0 {
		o.CompletedRetention = 24 * time.Hour
	}
	if o.DeadRetention == 0 {
		o.DeadRetention = 7 * 24 * time.Hour
	}
	if o.FetchCooldown == 0 {
		o.FetchCooldown = 10 * time.Millisecond
	}
	if o.FetchPollInterval == 0 {
		// PostgreSQL wakes producers through LISTEN/NOTIFY; SQLite can only poll.
		o.FetchPollInterval = time.Second
		if d == store.SQLite {
			o.FetchPollInterval = 100 * time.Millisecond
		}
	}
	if o.NodeID == "" {
		h, _ := os.Hostname()
		o.NodeID = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
}

// Engine is River underneath joist's jobs: one client per process, on the
// store's own connections (the pgx pool, or SQLite's single writer), so
// that jobs are enqueued in the same transaction as the records causing them.
type Engine struct {
	db      *store.DB
	log     *slog.Logger
	opts    EngineOptions
	workers *river.Workers
	impl    riverImpl
	// ids maps River's job ids to joist's, for River's log lines.
	ids *jobIDs

	metrics *metrics
	// wake starts committed jobs at once on SQLite (see wake.go); nil on
	// PostgreSQL.
	wake *wakePilot

	mu          sync.Mutex
	started     bool
	unsubscribe func()
}

// riverImpl hides River's transaction type (pgx.Tx or *sql.Tx).
type riverImpl interface {
	start(ctx context.Context) error
	stop(ctx context.Context) error
	insertTx(ctx context.Context, raw any, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insertManyTx(ctx context.Context, raw any, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	retryTx(ctx context.Context, raw any, id int64) (*rivertype.JobRow, error)
	cancelTx(ctx context.Context, raw any, id int64) (*rivertype.JobRow, error)
	getTx(ctx context.Context, raw any, id int64) (*rivertype.JobRow, error)
	subscribe() (<-chan *river.Event, func())
}

type impl[TTx any] struct {
	client *river.Client[TTx]
}

func (i *impl[TTx]) start(ctx context.Context) error { return i.client.Start(ctx) }
func (i *impl[TTx]) stop(ctx context.Context) error  { return i.client.Stop(ctx) }
func (i *impl[TTx]) insertTx(ctx context.Context, raw any, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return i.client.InsertTx(ctx, raw.(TTx), args, opts)
}
func (i *impl[TTx]) insertManyTx(ctx context.Context, raw any, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	return i.client.InsertManyTx(ctx, raw.(TTx), params)
}
func (i *impl[TTx]) retryTx(ctx context.Context, raw any, id int64) (*rivertype.JobRow, error) {
	return i.client.JobRetryTx(ctx, raw.(TTx), id)
}
func (i *impl[TTx]) getTx(ctx context.Context, raw any, id int64) (*rivertype.JobRow, error) {
	return i.client.JobGetTx(ctx, raw.(TTx), id)
}
func (i *impl[TTx]) cancelTx(ctx context.Context, raw any, id int64) (*rivertype.JobRow, error) {
	return i.client.JobCancelTx(ctx, raw.(TTx), id)
}
func (i *impl[TTx]) subscribe() (<-chan *river.Event, func()) {
	return i.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
}

// NewEngine prepares River on d's store and registers the jobs metrics on
// d.Metrics. Register workers with AddWorker before Start.
func NewEngine(d core.Deps, opts EngineOptions) *Engine {
	d = d.For("jobs")
	opts.defaults(d.DB.Dialect())
	e := &Engine{db: d.DB, log: d.Log, opts: opts, workers: river.NewWorkers(), metrics: newMetrics(d.DB, time.Now),
		ids: newJobIDs(jobIDByRiverID(d.DB))}
	d.Register(e.metrics)
	return e
}

// AddWorker registers a job kind's worker (before Start).
func AddWorker[T river.JobArgs](e *Engine, w river.Worker[T]) {
	river.AddWorker(e.workers, w)
}

// Options returns the engine's effective options.
func (e *Engine) Options() EngineOptions { return e.opts }

// build creates the River client once every worker is registered.
func (e *Engine) build() error {
	queues := map[string]river.QueueConfig{}
	for name, n := range e.opts.Queues {
		queues[name] = river.QueueConfig{MaxWorkers: n}
	}
	cfg := &river.Config{
		ID:                          e.opts.NodeID,
		Logger:                      slog.New(riverLog{inner: e.log.Handler(), ids: e.ids}),
		Queues:                      queues,
		Workers:                     e.workers,
		FetchCooldown:               e.opts.FetchCooldown,
		FetchPollInterval:           e.opts.FetchPollInterval,
		JobTimeout:                  e.opts.MaxTimeout,
		RescueStuckJobsAfter:        e.opts.MaxTimeout + e.opts.RescueMargin,
		CompletedJobRetentionPeriod: e.opts.CompletedRetention,
		CancelledJobRetentionPeriod: e.opts.DeadRetention,
		DiscardedJobRetentionPeriod: e.opts.DeadRetention,
		MaxAttempts:                 25,
		ErrorHandler:                deadReasons{db: e.db, log: e.log},
		Middleware:                  []rivertype.Middleware{&safeErrors{}},
	}
	switch e.db.Dialect() {
	case store.Postgres:
		d := riverpgxv5.New(e.db.PgxPool())
		c, err := river.NewClient[pgx.Tx](d, cfg)
		if err != nil {
			return err
		}
		e.impl = &impl[pgx.Tx]{client: c}
	default:
		e.wake = &wakePilot{StandardPilot: &riverpilot.StandardPilot{}}
		d := wakeDriver{Driver: riversqlite.New(e.db.SQLiteWriter()), pilot: e.wake}
		c, err := river.NewClient[*sql.Tx](d, cfg)
		if err != nil {
			return err
		}
		e.impl = &impl[*sql.Tx]{client: c}
	}
	return nil
}

// Migrate creates or upgrades River's tables, in one transaction, serialised
// between nodes like joist's own migrations.
func (e *Engine) Migrate(ctx context.Context) error {
	return MigrateRiver(ctx, e.db)
}

// MigrateRiver creates or upgrades River's tables on db (joist migrate runs
// it without starting an engine).
func MigrateRiver(ctx context.Context, db *store.DB) error {
	if db.Dialect() == store.Postgres {
		// River's versions cannot share one transaction (a new enum value is
		// used by the next version), so River applies each in its own; a
		// session advisory lock keeps nodes that start together in line.
		m, err := rivermigrate.New[pgx.Tx](riverpgxv5.New(db.PgxPool()), nil)
		if err != nil {
			return err
		}
		conn, err := db.PgxPool().Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7206117003)"); err != nil {
			return err
		}
		defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7206117003)") //nolint:errcheck
		if _, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return err
		}
		// River's GIN indexes on args and metadata buffer new entries in a
		// pending list that the inserting transaction itself merges into the
		// index once it passes gin_pending_list_limit (4 MB by default):
		// under a steady insert load about one insert in a hundred then
		// takes ~100 ms (measured by webhookbench: p99 110 ms at 200
		// connections). A 64 kB list is merged in small steps instead (p99
		// ~50-60 ms; fastupdate = off measured worse, ~65 ms and -20%
		// events/s). A role that does not own River's tables cannot change
		// them: that only costs the p99, so it is not an error.
		for _, ix := range []string{"river_job_args_index", "river_job_metadata_index"} {
			_, _ = conn.Exec(ctx, "ALTER INDEX IF EXISTS "+ix+" SET (gin_pending_list_limit = 64)")
		}
		return nil
	}
	m, err := rivermigrate.New[*sql.Tx](riversqlite.New(db.SQLiteWriter()), nil)
	if err != nil {
		return err
	}
	return db.Write(ctx, func(tx *store.Tx) error {
		_, err := m.MigrateTx(ctx, tx.Raw().(*sql.Tx), rivermigrate.DirectionUp, nil)
		return err
	})
}

// Start starts working jobs.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return nil
	}
	if _, err := e.client(); err != nil {
		return err
	}
	if err := e.impl.start(context.WithoutCancel(ctx)); err != nil { // shutdown is Stop's job, not the caller's context
		return fmt.Errorf("start job engine: %w", err)
	}
	events, unsub := e.impl.subscribe()
	e.unsubscribe = unsub
	go e.metrics.observe(events)
	e.started = true
	return nil
}

// Stop stops fetching and waits for running jobs (bounded by the context
// given to Start's caller's shutdown). It is idempotent.
func (e *Engine) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.started {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.MaxTimeout+5*time.Second)
	defer cancel()
	if err := e.impl.stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		e.log.Warn("job engine stop", "err", err)
	}
	if e.unsubscribe != nil {
		e.unsubscribe()
	}
	e.started = false
}

// client returns River, built on first use (after every worker is registered).
func (e *Engine) client() (riverImpl, error) {
	if e.impl == nil {
		if err := e.build(); err != nil {
			return nil, err
		}
	}
	return e.impl, nil
}

// insertTx enqueues inside tx.
func (e *Engine) insertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	c, err := e.client()
	if err != nil {
		return nil, err
	}
	res, err := c.insertTx(ctx, tx.Raw(), args, opts)
	if err == nil {
		e.wakeAfterCommit(tx, []*rivertype.JobInsertResult{res})
	}
	return res, err
}

// insertManyTx enqueues a batch inside tx.
func (e *Engine) insertManyTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	c, err := e.client()
	if err != nil {
		return nil, err
	}
	res, err := c.insertManyTx(ctx, tx.Raw(), params)
	if err == nil {
		e.wakeAfterCommit(tx, res)
	}
	return res, err
}
