package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Sentinel errors. The HTTP edge maps them to statuses; the store never knows HTTP.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrClosed   = errors.New("store is closed")
)

// Observer receives store timings (the metrics package implements it).
type Observer interface {
	ObserveTx(kind string, d time.Duration, err error)
	ObserveBatch(size int)
}

type nopObserver struct{}

func (nopObserver) ObserveTx(string, time.Duration, error) {}
func (nopObserver) ObserveBatch(int)                       {}

// Options configure Open.
type Options struct {
	// URL is a postgres:// URL, or empty for SQLite.
	URL string
	// DataDir holds joist.db when URL is empty.
	DataDir string
	// SQLitePath overrides the SQLite file path (tests).
	SQLitePath string
	// Schema, for PostgreSQL, sets search_path (tests isolate themselves in a schema).
	Schema string
	// MaxBatch bounds how many Write calls share one SQLite commit (default 256).
	MaxBatch int
	Logger   *slog.Logger
	Observer Observer
}

// DB is an open store.
type DB struct {
	dialect Dialect
	sqlite  *sqliteDB
	pg      *pgDB
	obs     Observer
	log     *slog.Logger
}

// Open connects to the store named by opts, creating the SQLite file when
// needed. It does not migrate: call Migrate.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	db := &DB{obs: opts.Observer, log: opts.Logger}
	switch {
	case opts.URL == "":
		s, err := openSQLite(ctx, opts)
		if err != nil {
			return nil, err
		}
		db.dialect, db.sqlite = SQLite, s
	case strings.HasPrefix(opts.URL, "postgres://") || strings.HasPrefix(opts.URL, "postgresql://"):
		p, err := openPostgres(ctx, opts)
		if err != nil {
			return nil, err
		}
		db.dialect, db.pg = Postgres, p
	default:
		return nil, fmt.Errorf("database URL must start with postgres:// or postgresql:// (or be empty for SQLite), got %q", redactURL(opts.URL))
	}
	return db, nil
}

// Dialect reports which engine this DB runs on.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close releases connections. It is safe to call more than once.
func (db *DB) Close() error {
	if db.sqlite != nil {
		return db.sqlite.close()
	}
	if db.pg != nil {
		db.pg.close()
	}
	return nil
}

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.Read(ctx, func(tx *Tx) error {
		var one int
		return tx.QueryRow(ctx, "SELECT 1").Scan(&one)
	})
}

// Write runs fn in a read-write transaction and commits. fn may be called
// once only, and must not have effects outside the transaction: on SQLite it
// shares its commit with other concurrent writers.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	start := time.Now()
	var err error
	if db.sqlite != nil {
		err = db.sqlite.write(ctx, fn)
	} else {
		err = db.pg.tx(ctx, false, fn)
	}
	db.obs.ObserveTx("write", time.Since(start), err)
	return err
}

// Read runs fn in a read-only transaction (a consistent snapshot).
func (db *DB) Read(ctx context.Context, fn func(tx *Tx) error) error {
	start := time.Now()
	var err error
	if db.sqlite != nil {
		err = db.sqlite.read(ctx, fn)
	} else {
		err = db.pg.tx(ctx, true, fn)
	}
	db.obs.ObserveTx("read", time.Since(start), err)
	return err
}

// Row is one result row.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result set; Close must be called.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// querier is what a dialect provides inside a transaction.
type querier interface {
	exec(ctx context.Context, sql string, args ...any) (int64, error)
	query(ctx context.Context, sql string, args ...any) (Rows, error)
	queryRow(ctx context.Context, sql string, args ...any) Row
}

// Tx is a transaction. Its methods take SQL with '?' placeholders.
type Tx struct {
	q       querier
	dialect Dialect
	raw     any
	// after holds AfterCommit's functions; nil on a read transaction.
	after *[]func()
}

// AfterCommit runs fn once the transaction has committed, before the Write
// that ran it returns; it never runs when the transaction (or, on SQLite,
// this Write's savepoint) rolls back. fn must be quick and must not write:
// on SQLite it runs on the writer's goroutine. The job engine uses it to
// start the jobs a transaction enqueued at once. On a read transaction it
// is never called.
func (tx *Tx) AfterCommit(fn func()) {
	if tx.after != nil {
		*tx.after = append(*tx.after, fn)
	}
}

// runAfter calls the functions registered on a committed transaction.
func runAfter(fns []func()) {
	for _, fn := range fns {
		fn()
	}
}

// Dialect reports the engine, for the rare query that differs.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// Raw returns the driver transaction (*sql.Tx on SQLite, pgx.Tx on
// PostgreSQL), for the job engine to enqueue inside the same transaction.
func (tx *Tx) Raw() any { return tx.raw }

// Exec runs a statement and returns the number of affected rows.
func (tx *Tx) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	n, err := tx.q.exec(ctx, sql, args...)
	return n, mapErr(err)
}

// Query runs a query.
func (tx *Tx) Query(ctx context.Context, sql string, args ...any) (Rows, error) {
	r, err := tx.q.query(ctx, sql, args...)
	return r, mapErr(err)
}

// QueryRow runs a query expected to return one row; Scan reports ErrNotFound
// when there is none.
func (tx *Tx) QueryRow(ctx context.Context, sql string, args ...any) Row {
	return errRow{tx.q.queryRow(ctx, sql, args...)}
}

type errRow struct{ r Row }

func (e errRow) Scan(dest ...any) error { return mapErr(e.r.Scan(dest...)) }

// ilike returns the case-insensitive LIKE operator of the dialect.
// ILike is the case-insensitive LIKE of the dialect.
func (tx *Tx) ILike() string {
	if tx.dialect == Postgres {
		return "ILIKE"
	}
	return "LIKE"
}

// LikeEscape escapes a user's search text for a LIKE pattern with ESCAPE '\'.
func LikeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// rebind turns '?' placeholders into $1, $2, ... outside quoted strings.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	inStr := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inStr = !inStr
			b.WriteByte(c)
		case c == '?' && !inStr:
			n++
			b.WriteByte('$')
			b.WriteString(fmt.Sprint(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i > 0 {
		if j := strings.Index(u, "://"); j > 0 && j < i {
			return u[:j+3] + "***" + u[i:]
		}
	}
	return u
}
