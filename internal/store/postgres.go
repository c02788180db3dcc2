package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

type pgDB struct {
	pool *pgxpool.Pool
}

func openPostgres(ctx context.Context, opts Options) (*pgDB, error) {
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL %s: %w", redactURL(opts.URL), err)
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = opts.Schema
	}
	if _, ok := pgURLParam(opts.URL, "pool_max_conns"); !ok {
		cfg.MaxConns = 20
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", redactURL(opts.URL), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", redactURL(opts.URL), err)
	}
	return &pgDB{pool: pool}, nil
}

func pgURLParam(u, name string) (string, bool) {
	p, err := url.Parse(u)
	if err != nil {
		return "", false
	}
	v, ok := p.Query()[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// PgxPool returns the pool on PostgreSQL (nil on SQLite), for the job engine.
func (db *DB) PgxPool() *pgxpool.Pool {
	if db.pg == nil {
		return nil
	}
	return db.pg.pool
}

func (p *pgDB) close() { p.pool.Close() }

func (p *pgDB) tx(ctx context.Context, readOnly bool, fn func(*Tx) error) error {
	opts := pgx.TxOptions{}
	if readOnly {
		opts.AccessMode = pgx.ReadOnly
	}
	t, err := p.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer t.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	tx := &Tx{q: pgQ{t}, dialect: Postgres, raw: t}
	var after []func()
	if !readOnly {
		tx.after = &after
	}
	if err := runFn(fn, tx); err != nil {
		return err
	}
	if readOnly {
		return nil
	}
	if err := t.Commit(ctx); err != nil {
		return mapErr(fmt.Errorf("commit: %w", err))
	}
	runAfter(after)
	return nil
}

type pgQ struct{ t pgx.Tx }

func (q pgQ) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.t.Exec(ctx, rebind(sql), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q pgQ) query(ctx context.Context, sql string, args ...any) (Rows, error) {
	rows, err := q.t.Query(ctx, rebind(sql), args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rows}, nil
}

func (q pgQ) queryRow(ctx context.Context, sql string, args ...any) Row {
	return q.t.QueryRow(ctx, rebind(sql), args...)
}

type pgRows struct{ r pgx.Rows }

func (r pgRows) Next() bool             { return r.r.Next() }
func (r pgRows) Scan(dest ...any) error { return r.r.Scan(dest...) }
func (r pgRows) Err() error             { return r.r.Err() }
func (r pgRows) Close()                 { r.r.Close() }

// mapErr turns driver errors into the store's sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) || errors.Is(err, sqlErrNoRows) {
		return fmt.Errorf("%w", ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %s", ErrConflict, pe.ConstraintName)
	}
	if isSQLiteUnique(err) {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}
