// Command jobbench measures joist's job paths beside raw River on the same
// database in the same run, and prints jobs/s and the ratio:
//
//   - raw: a bare river.Client with the settings joist's engine uses (queue
//     workers, FetchCooldown, FetchPollInterval, timeouts, retention) and a
//     no-op worker; jobs inserted with InsertManyTx, -batch per transaction;
//   - joist: jobs.Engine + jobs.Service.EnqueueManyTx of jobs.NoopArgs inside
//     store.DB.Write (River's rows and joist's record rows in one transaction),
//     -batch per transaction (EnqueueTx per job with -raw-single);
//   - push: HTTP-push jobs through jobs.Service.CreateTx (no HTTP API in
//     front) to a receiver in this process; each job is signed, POSTed, and
//     its attempt recorded.
//
// Each side gets a fresh database (a new SQLite file, or a new PostgreSQL
// schema). A side's clock starts before its first insert and stops when the
// last job is completed in the database (end to end: inserting and working
// overlap). Every side is bounded by -timeout.
//
//	go run ./bench/jobbench -store sqlite -n 20000
//	go run ./bench/jobbench -store postgres -url postgres://... -n 50000
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/secretbox"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
)

var (
	kind    = flag.String("store", "sqlite", "sqlite or postgres")
	pgURL   = flag.String("url", os.Getenv("JOIST_TEST_DATABASE_URL"), "PostgreSQL URL for -store postgres")
	n       = flag.Int("n", 20000, "no-op jobs per side (raw and joist)")
	pushN   = flag.Int("push-n", 0, "HTTP-push jobs (default: -n)")
	conc    = flag.Int("conc", 8, "concurrent inserting goroutines")
	batch   = flag.Int("batch", 100, "jobs per insert transaction")
	sides   = flag.String("sides", "raw,joist,push", "which sides to run, comma-separated")
	timeout = flag.Duration("timeout", 3*time.Minute, "bound on each side")
	cpuProf = flag.String("cpuprofile", "", "write a CPU profile per side to this prefix (PREFIX.SIDE.pprof)")
	verbose = flag.Bool("v", false, "log River's and joist's warnings")
	single  = flag.Bool("raw-single", false, "both sides insert with one InsertTx (joist: EnqueueTx) per job instead of one InsertManyTx (joist: EnqueueManyTx) per batch")
	// Overrides of joist's engine settings (both sides); zero keeps joist's default.
	workers  = flag.Int("workers", 0, "workers of the default queue (JOIST_QUEUES default=N); 0: joist's default")
	cooldown = flag.Duration("fetch-cooldown", 0, "River FetchCooldown; 0: joist's default")
	poll     = flag.Duration("fetch-poll", 0, "River FetchPollInterval; 0: joist's default")
)

// engineOptions are joist's engine options with the flags' overrides.
func engineOptions() jobs.EngineOptions {
	o := jobs.EngineOptions{FetchCooldown: *cooldown, FetchPollInterval: *poll}
	if *workers > 0 {
		o.Queues = map[string]int{"default": *workers}
	}
	return o
}

// sqliteWriterDSN are the pragmas of joist's single SQLite writer
// (internal/store/sqlite.go), used for raw River's file too.
const sqliteWriterDSN = "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_time_format=sqlite&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"

type result struct {
	side     string
	jobs     int
	insertIn time.Duration // all inserts committed
	doneIn   time.Duration // all jobs completed
	probe    string        // latency of joist's own writes meanwhile
}

func (r result) String() string {
	return fmt.Sprintf("%-6s %7d jobs  inserted in %6.2fs (%8.0f/s)  completed in %6.2fs: %8.0f jobs/s end to end",
		r.side, r.jobs, r.insertIn.Seconds(), float64(r.jobs)/r.insertIn.Seconds(), r.doneIn.Seconds(), r.rate()) + r.probe
}

func (r result) rate() float64 { return float64(r.jobs) / r.doneIn.Seconds() }

func main() {
	flag.Parse()
	if *pushN == 0 {
		*pushN = *n
	}
	if *kind != "sqlite" && *kind != "postgres" {
		log.Fatalf("unknown -store %q: sqlite or postgres", *kind)
	}
	if *kind == "postgres" && *pgURL == "" {
		log.Fatal("-url or JOIST_TEST_DATABASE_URL is required for -store postgres")
	}
	env := newEnv()
	defer env.cleanup()

	// joist's engine settings, as joist computes them, are the settings raw
	// River runs with.
	settings := jobs.NewEngine(core.Deps{DB: env.openStore("settings")}, engineOptions()).Options()
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, cpu, _ = strings.Cut(l, ": ")
				break
			}
		}
	}
	rawShape := "InsertManyTx per batch"
	if *single {
		rawShape = "InsertTx per job"
	}
	fmt.Printf("jobbench: store=%s n=%d push-n=%d conc=%d batch=%d raw=%s GOMAXPROCS=%d cpu=%q\n", *kind, *n, *pushN, *conc, *batch, rawShape, runtime.GOMAXPROCS(0), cpu)
	fmt.Printf("settings (joist's, both sides): queues=%v FetchCooldown=%s FetchPollInterval=%s JobTimeout=%s RescueStuckJobsAfter=%s\n",
		settings.Queues, settings.FetchCooldown, settings.FetchPollInterval, settings.MaxTimeout, settings.MaxTimeout+settings.RescueMargin)

	results := map[string]result{}
	for _, side := range strings.Split(*sides, ",") {
		var r result
		var err error
		stop := profile(side)
		switch side {
		case "raw":
			r, err = runRaw(env, settings)
		case "joist":
			r, err = runJoist(env)
		case "push":
			r, err = runPush(env)
		default:
			err = fmt.Errorf("unknown side %q", side)
		}
		stop()
		if err != nil {
			env.cleanup()
			log.Fatalf("%s: %v", side, err)
		}
		results[side] = r
		fmt.Println(r)
	}
	if raw, ok := results["raw"]; ok {
		if j, ok := results["joist"]; ok {
			fmt.Printf("ratio joist/raw (no-op, end to end): %.2fx\n", j.rate()/raw.rate())
		}
	}
}

func profile(side string) func() {
	if *cpuProf == "" {
		return func() {}
	}
	f, err := os.Create(*cpuProf + "." + side + ".pprof")
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

func logger() *slog.Logger {
	if *verbose {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

// env hands out fresh databases and removes them at the end.
type env struct {
	dir      string   // SQLite files
	schemas  []string // PostgreSQL schemas
	closers  []func()
	cleaned  bool
	cleanMu  sync.Mutex
	adminCon *pgx.Conn
}

func newEnv() *env {
	e := &env{}
	if *kind == "sqlite" {
		d, err := os.MkdirTemp("", "jobbench")
		if err != nil {
			log.Fatal(err)
		}
		e.dir = d
		return e
	}
	c, err := pgx.Connect(context.Background(), *pgURL)
	if err != nil {
		log.Fatal(err)
	}
	e.adminCon = c
	return e
}

func (e *env) cleanup() {
	e.cleanMu.Lock()
	defer e.cleanMu.Unlock()
	if e.cleaned {
		return
	}
	e.cleaned = true
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
	for _, s := range e.schemas {
		_, _ = e.adminCon.Exec(context.Background(), "DROP SCHEMA "+s+" CASCADE")
	}
	if e.adminCon != nil {
		e.adminCon.Close(context.Background())
	}
}

// fresh returns a new SQLite path or PostgreSQL schema for side.
func (e *env) fresh(side string) string {
	if *kind == "sqlite" {
		return filepath.Join(e.dir, side+".db")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	s := "jobbench_" + side + "_" + hex.EncodeToString(b)
	if _, err := e.adminCon.Exec(context.Background(), "CREATE SCHEMA "+s); err != nil {
		log.Fatal(err)
	}
	e.schemas = append(e.schemas, s)
	return s
}

func (e *env) openStore(side string) *store.DB {
	ctx := context.Background()
	opts := store.Options{Logger: logger()}
	if *kind == "sqlite" {
		opts.SQLitePath = e.fresh(side)
	} else {
		opts.URL, opts.Schema = *pgURL, e.fresh(side)
	}
	db, err := store.Open(ctx, opts)
	if err != nil {
		log.Fatal(err)
	}
	e.closers = append(e.closers, func() { db.Close() })
	if _, err := db.Migrate(ctx, store.CoreMigrations(), jobs.Migrations()); err != nil {
		log.Fatal(err)
	}
	return db
}

// completedCounter counts completed River jobs on its own connection (so
// that the same polling costs both sides the same).
type completedCounter func(context.Context) (int, error)

func (e *env) counter(where string) completedCounter {
	const q = "SELECT count(*) FROM river_job WHERE state = 'completed'"
	if *kind == "sqlite" {
		r, err := sql.Open("sqlite", "file:"+where+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
		if err != nil {
			log.Fatal(err)
		}
		r.SetMaxOpenConns(1)
		e.closers = append(e.closers, func() { r.Close() })
		return func(ctx context.Context) (int, error) {
			var c int
			return c, r.QueryRowContext(ctx, q).Scan(&c)
		}
	}
	cfg, err := pgx.ParseConfig(*pgURL)
	if err != nil {
		log.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = where
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	e.closers = append(e.closers, func() { c.Close(context.Background()) })
	return func(ctx context.Context) (int, error) {
		var n int
		return n, c.QueryRow(ctx, q).Scan(&n)
	}
}

// drive runs insert(batchSize) from -conc goroutines until total jobs are
// inserted, then waits for count to reach total.
func drive(side string, total int, count completedCounter, insert func(ctx context.Context, k int) error) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				hi := next.Add(int64(*batch))
				lo := hi - int64(*batch)
				if lo >= int64(total) {
					return
				}
				k := int(min(hi, int64(total)) - lo)
				if err := insert(ctx, k); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	insertDone := make(chan time.Duration, 1)
	go func() { wg.Wait(); insertDone <- time.Since(start) }()
	r := result{side: side, jobs: total}
	for {
		select {
		case d := <-insertDone:
			r.insertIn = d
			insertDone = nil
		case <-time.After(50 * time.Millisecond):
		}
		if firstErr != nil {
			return r, firstErr
		}
		c, err := count(ctx)
		if err != nil {
			return r, fmt.Errorf("count completed: %w", err)
		}
		if c >= total && insertDone == nil {
			r.doneIn = time.Since(start)
			return r, nil
		}
		if ctx.Err() != nil {
			return r, fmt.Errorf("bounded by -timeout %s: %d of %d completed", *timeout, c, total)
		}
	}
}

type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

func rawConfig(o jobs.EngineOptions) *river.Config {
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{})
	queues := map[string]river.QueueConfig{}
	for name, n := range o.Queues {
		queues[name] = river.QueueConfig{MaxWorkers: n}
	}
	return &river.Config{
		ID: "jobbench-raw", Logger: logger(), Queues: queues, Workers: workers,
		FetchCooldown: o.FetchCooldown, FetchPollInterval: o.FetchPollInterval,
		JobTimeout: o.MaxTimeout, RescueStuckJobsAfter: o.MaxTimeout + o.RescueMargin,
		CompletedJobRetentionPeriod: o.CompletedRetention, CancelledJobRetentionPeriod: o.DeadRetention,
		DiscardedJobRetentionPeriod: o.DeadRetention, MaxAttempts: 25,
	}
}

// rawInsert inserts k jobs in one transaction: one InsertManyTx, or k
// InsertTx with -raw-single.
func rawInsert(ctx context.Context, k int, many func([]river.InsertManyParams) error, one func() error) error {
	if *single {
		for range k {
			if err := one(); err != nil {
				return err
			}
		}
		return nil
	}
	p := make([]river.InsertManyParams, k)
	for i := range p {
		p[i] = river.InsertManyParams{Args: noopArgs{}}
	}
	return many(p)
}

// runRaw is raw River on a fresh database with joist's settings.
func runRaw(e *env, o jobs.EngineOptions) (result, error) {
	ctx := context.Background()
	where := e.fresh("raw")
	count := e.counter(where)
	if *kind == "sqlite" {
		db, err := sql.Open("sqlite", "file:"+where+sqliteWriterDSN)
		if err != nil {
			return result{}, err
		}
		db.SetMaxOpenConns(1) // River on SQLite wants one connection (DESIGN section 1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		e.closers = append(e.closers, func() { db.Close() })
		drv := riversqlite.New(db)
		if _, err := mustMigrator(rivermigrate.New[*sql.Tx](drv, nil)).Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return result{}, err
		}
		c, err := river.NewClient[*sql.Tx](drv, rawConfig(o))
		if err != nil {
			return result{}, err
		}
		if err := c.Start(ctx); err != nil {
			return result{}, err
		}
		defer stopClient(c.Stop)
		return drive("raw", *n, count, func(ctx context.Context, k int) error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback() //nolint:errcheck
			if err := rawInsert(ctx, k, func(p []river.InsertManyParams) error { _, err := c.InsertManyTx(ctx, tx, p); return err },
				func() error { _, err := c.InsertTx(ctx, tx, noopArgs{}, nil); return err }); err != nil {
				return err
			}
			return tx.Commit()
		})
	}
	cfg, err := pgxpool.ParseConfig(*pgURL)
	if err != nil {
		return result{}, err
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = where
	if !strings.Contains(*pgURL, "pool_max_conns") {
		cfg.MaxConns = 20 // joist's store pool size
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return result{}, err
	}
	e.closers = append(e.closers, pool.Close)
	drv := riverpgxv5.New(pool)
	if _, err := mustMigrator(rivermigrate.New[pgx.Tx](drv, nil)).Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return result{}, err
	}
	c, err := river.NewClient[pgx.Tx](drv, rawConfig(o))
	if err != nil {
		return result{}, err
	}
	if err := c.Start(ctx); err != nil {
		return result{}, err
	}
	defer stopClient(c.Stop)
	return drive("raw", *n, count, func(ctx context.Context, k int) error {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		if err := rawInsert(ctx, k, func(p []river.InsertManyParams) error { _, err := c.InsertManyTx(ctx, tx, p); return err },
			func() error { _, err := c.InsertTx(ctx, tx, noopArgs{}, nil); return err }); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

func mustMigrator[T any](m *rivermigrate.Migrator[T], err error) *rivermigrate.Migrator[T] {
	if err != nil {
		log.Fatal(err)
	}
	return m
}

func stopClient(stop func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Printf("stop river: %v", err)
	}
}

// joistSide is joist's jobs service wired as internal/app does it.
type joistSide struct {
	db     *store.DB
	svc    *jobs.Service
	engine *jobs.Engine
	tenant string
	where  string
}

func newJoistSide(e *env, side string) (*joistSide, error) {
	ctx := context.Background()
	db := e.openStore(side)
	where := ""
	if *kind == "sqlite" {
		where = filepath.Join(e.dir, side+".db")
	} else {
		where = e.schemas[len(e.schemas)-1]
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secretbox.New(key)
	if err != nil {
		return nil, err
	}
	c := core.New(db, time.Now, logger(), core.Options{})
	deps := core.Deps{DB: db, Log: logger(), Now: c.Now}
	engine := jobs.NewEngine(deps, engineOptions())
	svc := jobs.NewService(deps, c, engine, box, jobs.Options{})
	if err := engine.Migrate(ctx); err != nil {
		return nil, err
	}
	t, err := tenants.New(deps, c).Create(ctx, auth.Actor{Type: auth.ActorSystem, ID: "system", AllTenants: true}, tenants.Input{Slug: "bench"})
	if err != nil {
		return nil, err
	}
	if err := engine.Start(ctx); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, engine.Stop)
	return &joistSide{db: db, svc: svc, engine: engine, tenant: t.ID, where: where}, nil
}

// probeWrites times an empty store.DB.Write every 10ms (how long one of
// joist's own writes, such as an API request's, waits for the store) until
// the returned function is called with the time the inserts ended; it
// reports probes while inserting and while only the engine was working.
func probeWrites(db *store.DB) func(insertsEnded time.Time) string {
	type sample struct {
		at  time.Time
		lat time.Duration
	}
	var samples []sample
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			t0 := time.Now()
			if err := db.Write(context.Background(), func(*store.Tx) error { return nil }); err == nil {
				samples = append(samples, sample{t0, time.Since(t0)})
			}
		}
	}()
	return func(insertsEnded time.Time) string {
		close(done)
		<-stopped
		var during, after []time.Duration
		for _, s := range samples {
			if s.at.Before(insertsEnded) {
				during = append(during, s.lat)
			} else {
				after = append(after, s.lat)
			}
		}
		stats := func(lat []time.Duration) string {
			if len(lat) == 0 {
				return "no probes"
			}
			slices.Sort(lat)
			q := func(f float64) time.Duration {
				return lat[min(int(f*float64(len(lat))), len(lat)-1)].Round(10 * time.Microsecond)
			}
			return fmt.Sprintf("p50 %s p99 %s max %s (%d)", q(0.5), q(0.99), lat[len(lat)-1].Round(10*time.Microsecond), len(lat))
		}
		return fmt.Sprintf("\n       empty store.Write meanwhile: while inserting %s; while only working %s", stats(during), stats(after))
	}
}

// runJoist is joist's built-in job path: EnqueueTx of NoopArgs in store.DB.Write.
func runJoist(e *env) (result, error) {
	j, err := newJoistSide(e, "joist")
	if err != nil {
		return result{}, err
	}
	defer j.engine.Stop()
	stopProbe := probeWrites(j.db)
	start := time.Now()
	r, err := drive("joist", *n, e.counter(j.where), func(ctx context.Context, k int) error {
		return j.db.Write(ctx, func(tx *store.Tx) error {
			if !*single {
				// The same shape as the raw side: one batch insert per transaction.
				params := make([]river.InsertManyParams, k)
				for i := range params {
					params[i] = river.InsertManyParams{Args: jobs.NoopArgs{}}
				}
				_, err := j.svc.EnqueueManyTx(ctx, tx, j.tenant, params, "")
				return err
			}
			for range k {
				if _, err := j.svc.EnqueueTx(ctx, tx, j.tenant, jobs.NoopArgs{}, nil, ""); err != nil {
					return err
				}
			}
			return nil
		})
	})
	r.probe = stopProbe(start.Add(r.insertIn))
	return r, err
}

// runPush is HTTP-push jobs through jobs.Service.CreateTx to a local receiver.
func runPush(e *env) (result, error) {
	j, err := newJoistSide(e, "push")
	if err != nil {
		return result{}, err
	}
	defer j.engine.Stop()
	var got atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-signature") != "" {
			got.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln) //nolint:errcheck
	defer srv.Close()
	stopProbe := probeWrites(j.db)
	start := time.Now()
	in := jobs.PushInput{URL: "http://" + ln.Addr().String() + "/hook", Body: []byte(`{"event":"bench"}`), Timeout: "10s"}
	r, err := drive("push", *pushN, e.counter(j.where), func(ctx context.Context, k int) error {
		return j.db.Write(ctx, func(tx *store.Tx) error {
			for range k {
				if _, _, err := j.svc.CreateTx(ctx, tx, j.tenant, in, ""); err != nil {
					return err
				}
			}
			return nil
		})
	})
	r.probe = stopProbe(start.Add(r.insertIn))
	if err == nil && got.Load() < int64(*pushN) {
		err = fmt.Errorf("receiver got %d signed requests for %d jobs", got.Load(), *pushN)
	}
	return r, err
}
