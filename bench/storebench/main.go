// Command storebench measures joist's write path (store.DB.Write, which
// batches concurrent SQLite writers into shared commits) beside a baseline
// that commits each write on its own, on the same database file or server in
// the same run, and prints writes/s and the ratio.
//
//	go run ./bench/storebench -store sqlite -conc 64 -dur 5s
//	go run ./bench/storebench -store postgres -url postgres://... -conc 64 -dur 5s
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite"

	"github.com/joist-dev/joist/internal/store"
)

func main() {
	kind := flag.String("store", "sqlite", "sqlite or postgres")
	url := flag.String("url", os.Getenv("JOIST_TEST_DATABASE_URL"), "PostgreSQL URL for -store postgres")
	conc := flag.Int("conc", 64, "concurrent writers")
	dur := flag.Duration("dur", 5*time.Second, "how long each side runs")
	flag.Parse()
	ctx := context.Background()

	var opts store.Options
	var baseline func(context.Context, int, time.Duration) (int64, error)
	switch *kind {
	case "sqlite":
		dir, err := os.MkdirTemp("", "storebench")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		opts.SQLitePath = filepath.Join(dir, "joist.db")
		baseline = func(ctx context.Context, conc int, d time.Duration) (int64, error) {
			return sqliteBaseline(ctx, filepath.Join(dir, "baseline.db"), conc, d)
		}
	case "postgres":
		if *url == "" {
			log.Fatal("-url or JOIST_TEST_DATABASE_URL is required for -store postgres")
		}
		schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
		pcfg, err := pgxpool.ParseConfig(*url)
		if err != nil {
			log.Fatal(err)
		}
		pcfg.MaxConns = 20 // the same pool size joist's store uses
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			log.Fatal(err)
		}
		defer pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
		opts.URL, opts.Schema = *url, schema
		baseline = func(ctx context.Context, conc int, d time.Duration) (int64, error) {
			return pgBaseline(ctx, pool, schema, conc, d)
		}
	default:
		log.Fatalf("unknown -store %q", *kind)
	}

	db, err := store.Open(ctx, opts)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, store.CoreMigrations()); err != nil {
		log.Fatal(err)
	}
	tn := store.Tenant{ID: store.NewID(store.PrefixTenant), Slug: "bench", Name: "bench", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.TenantInsert(ctx, tn) }); err != nil {
		log.Fatal(err)
	}
	var seq atomic.Int64
	joist, err := runFor(*conc, *dur, func() error {
		return db.Write(ctx, func(tx *store.Tx) error {
			now := time.Now()
			return tx.Tenant(tn.ID).ContactInsert(ctx, store.Contact{ID: store.NewID(store.PrefixContact),
				ExternalID: fmt.Sprint("c", seq.Add(1)), Email: "a@example.com", CreatedAt: now, UpdatedAt: now})
		})
	})
	if err != nil {
		log.Fatal(err)
	}
	base, err := baseline(ctx, *conc, *dur)
	if err != nil {
		log.Fatal(err)
	}
	jr, br := float64(joist)/dur.Seconds(), float64(base)/dur.Seconds()
	fmt.Printf("machine: %d CPUs, %s/%s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("store=%s conc=%d dur=%s\n", *kind, *conc, *dur)
	fmt.Printf("joist store.Write (group commit):  %9.0f writes/s\n", jr)
	fmt.Printf("baseline (one commit per write):   %9.0f writes/s\n", br)
	fmt.Printf("ratio: %.2fx\n", jr/br)
}

// runFor calls f from conc goroutines for d and counts successes.
func runFor(conc int, d time.Duration, f func() error) (int64, error) {
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := f(); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return n.Load(), firstErr
}

// sqliteBaseline: the same insert, one transaction and one fsync per write,
// on one connection with the same pragmas (the usual way to avoid SQLITE_BUSY).
func sqliteBaseline(ctx context.Context, path string, conc int, d time.Duration) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE contacts (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, external_id TEXT NOT NULL,
		email TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (tenant_id, external_id))`); err != nil {
		return 0, err
	}
	var seq atomic.Int64
	return runFor(conc, d, func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.Exec("INSERT INTO contacts VALUES (?, 't', ?, 'a@example.com', ?)", store.NewID("ct_"),
			fmt.Sprint("c", seq.Add(1)), time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// pgBaseline: the same insert through a bare pgx pool transaction.
func pgBaseline(ctx context.Context, pool *pgxpool.Pool, schema string, conc int, d time.Duration) (int64, error) {
	tbl := schema + ".baseline_contacts"
	if _, err := pool.Exec(ctx, `CREATE TABLE `+tbl+` (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, external_id TEXT NOT NULL,
		email TEXT NOT NULL, created_at timestamptz NOT NULL, UNIQUE (tenant_id, external_id))`); err != nil {
		return 0, err
	}
	var seq atomic.Int64
	return runFor(conc, d, func() error {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+tbl+" VALUES ($1, 't', $2, 'a@example.com', $3)", store.NewID("ct_"),
			fmt.Sprint("c", seq.Add(1)), time.Now()); err != nil {
			tx.Rollback(ctx)
			return err
		}
		return tx.Commit(ctx)
	})
}
