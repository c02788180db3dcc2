package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteTimeLayout is fixed-width so that text order is time order.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// sqliteDB holds the single writer connection, its group-commit loop, and a
// pool of read-only connections.
type sqliteDB struct {
	path     string
	writer   *sql.DB
	readers  *sql.DB
	reqs     chan *writeReq
	maxBatch int
	obs      Observer

	// ckpt runs WAL checkpoints beside the writer (see checkpointLoop);
	// committed wakes it.
	ckpt      *sql.DB
	committed chan struct{}

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	ckptDone chan struct{}
}

type writeReq struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error
}

func openSQLite(ctx context.Context, opts Options) (*sqliteDB, error) {
	path := opts.SQLitePath
	if path == "" {
		if opts.DataDir == "" {
			return nil, errors.New("store: DataDir or SQLitePath is required for SQLite")
		}
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w", opts.DataDir, err)
		}
		path = filepath.Join(opts.DataDir, "joist.db")
	}
	// temp_store=MEMORY: the sub-journal each group-commit SAVEPOINT keeps
	// of the pages it changes (and any temporary b-tree of a sort) lives in
	// memory, not in a temporary file written with a system call per page
	// (5% of joist's CPU under the email benchmark). It holds only what
	// rolling back one Write needs; the database and its WAL are unchanged.
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=temp_store(memory)&_time_format=sqlite"
	// synchronous=FULL: a commit is on disk before Write returns (acknowledged
	// means durable, also across power loss). The writer checkpoints the WAL
	// itself only past walSafetyPages: checkpointLoop does it beside it.
	// The writer and the readers keep their statements prepared
	// (sqlite_stmtcache.go).
	drv := &sqlite.Driver{}
	w := sql.OpenDB(cachingConnector{drv: drv, dsn: "file:" + path + "?" + common + "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate" +
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walSafetyPages)})
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	var err error
	// Switching to WAL takes a lock that does not wait on busy_timeout, so a
	// second process opening the file at the same moment (joist migrate beside
	// joist serve) retries for a while instead of failing.
	for attempt := 0; ; attempt++ {
		err = w.PingContext(ctx)
		if err == nil || !isSQLiteBusy(err) || attempt >= 100 {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r := sql.OpenDB(cachingConnector{drv: drv, dsn: "file:" + path + "?" + common + "&_pragma=query_only(1)"})
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	ck, err := sql.Open("sqlite", "file:"+path+"?"+common+"&_pragma=synchronous(FULL)")
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite checkpointer %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	ck.SetConnMaxLifetime(0)
	ck.SetConnMaxIdleTime(0)
	maxBatch := opts.MaxBatch
	if maxBatch <= 0 {
		maxBatch = 256
	}
	s := &sqliteDB{
		path: path, writer: w, readers: r,
		reqs:      make(chan *writeReq, 1024),
		maxBatch:  maxBatch,
		obs:       opts.Observer,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		ckpt:      ck,
		committed: make(chan struct{}, 1),
		ckptDone:  make(chan struct{}),
	}
	go s.loop()
	go s.checkpointLoop()
	return s, nil
}

// WAL checkpoints. SQLite's default has the connection whose commit takes
// the WAL past 1,000 pages copy them into the database file and fsync it,
// inside that commit: on the single writer that stalls every waiting
// request (under ingest load, one commit in seven took ~9 ms instead of
// ~1.3 ms). checkpointLoop instead runs PASSIVE checkpoints on a connection
// of its own, after commits (and each second), at most every
// checkpointEvery; they never block the writer nor wait for it, and a
// commit still returns only once its WAL frames are fsynced, so durability
// is unchanged. The WAL starts over only when a write transaction begins
// with every frame copied, which a busy writer (always in a transaction)
// rarely sees; so the writer still checkpoints itself past walSafetyPages,
// when nearly every frame is already copied and little is left to do. The
// same limit bounds the WAL should checkpoints fall behind (a long-lived
// reader pins old frames).
const (
	checkpointEvery = 50 * time.Millisecond
	walSafetyPages  = 8000 // 32 MiB of 4 KiB pages
)

func (s *sqliteDB) checkpointLoop() {
	defer close(s.ckptDone)
	ctx := context.Background()
	// Commits through the writer that bypass the loop (the job engine's)
	// do not signal: the tick covers them.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.committed:
		case <-tick.C:
		case <-s.stop:
			return
		}
		// A failed or partial PASSIVE checkpoint (busy, another process
		// checkpointing) is harmless: the next one carries on.
		_, _ = s.ckpt.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		select {
		case <-time.After(checkpointEvery):
		case <-s.stop:
			return
		}
	}
}

// Writer returns the single writer *sql.DB, for a job engine that must share
// it (it has exactly one connection).
func (db *DB) SQLiteWriter() *sql.DB {
	if db.sqlite == nil {
		return nil
	}
	return db.sqlite.writer
}

func (s *sqliteDB) close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	<-s.ckptDone
	err1 := s.readers.Close()
	err3 := s.ckpt.Close()
	err2 := s.writer.Close()
	return errors.Join(err1, err2, err3)
}

func (s *sqliteDB) write(ctx context.Context, fn func(*Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.reqs <- req:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the request is waited for even if ctx ends: the caller must
	// learn whether it committed.
	select {
	case err := <-req.done:
		return err
	case <-s.done:
		// The loop exited; it answers every request it took before exiting.
		select {
		case err := <-req.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// loop is the group-commit writer: it takes every request waiting, runs each
// in its own savepoint of one transaction, and commits once.
func (s *sqliteDB) loop() {
	defer close(s.done)
	batch := make([]*writeReq, 0, s.maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-s.stop:
			s.drainClosed()
			return
		}
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.runBatch(batch)
	}
}

func (s *sqliteDB) drainClosed() {
	for {
		select {
		case r := <-s.reqs:
			r.done <- ErrClosed
		default:
			return
		}
	}
}

func (s *sqliteDB) runBatch(batch []*writeReq) {
	s.obs.ObserveBatch(len(batch))
	// The transaction outlives any one caller's context.
	bg := context.WithoutCancel(batch[0].ctx)
	results := make([]error, len(batch))
	fail := func(err error) {
		for i, r := range batch {
			if results[i] == nil {
				results[i] = err
			}
			r.done <- results[i]
		}
	}
	sqlTx, err := s.writer.BeginTx(bg, nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	q := sqliteQ{tx: sqlTx}
	after := make([][]func(), len(batch))
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := sqlTx.ExecContext(bg, "SAVEPOINT w"); err != nil {
			_ = sqlTx.Rollback()
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		ferr := runFn(r.fn, &Tx{q: q, dialect: SQLite, raw: sqlTx, after: &after[i]})
		if ferr != nil {
			results[i] = ferr
			after[i] = nil
			if _, err := sqlTx.ExecContext(bg, "ROLLBACK TO w"); err != nil {
				_ = sqlTx.Rollback()
				fail(fmt.Errorf("rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := sqlTx.ExecContext(bg, "RELEASE w"); err != nil {
			_ = sqlTx.Rollback()
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if err := sqlTx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	select {
	case s.committed <- struct{}{}:
	default:
	}
	for i, r := range batch {
		runAfter(after[i])
		r.done <- results[i]
	}
}

// runFn calls fn and turns a panic into an error, so one bad caller cannot
// take the shared writer down.
func runFn(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in write transaction: %v", p)
		}
	}()
	return fn(tx)
}

func (s *sqliteDB) read(ctx context.Context, fn func(*Tx) error) error {
	sqlTx, err := s.readers.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer sqlTx.Rollback() //nolint:errcheck // read-only
	return fn(&Tx{q: sqliteQ{tx: sqlTx}, dialect: SQLite, raw: sqlTx})
}

// sqliteQ adapts *sql.Tx: it converts time and JSON arguments and scans
// text timestamps back into time.Time.
type sqliteQ struct{ tx *sql.Tx }

func sqliteArgs(args []any) []any {
	out := args
	for i, a := range args {
		var v any
		switch t := a.(type) {
		case time.Time:
			v = t.UTC().Format(sqliteTimeLayout)
		case *time.Time:
			if t == nil {
				v = nil
			} else {
				v = t.UTC().Format(sqliteTimeLayout)
			}
		case json.RawMessage:
			v = string(t)
		default:
			continue
		}
		if &out[0] == &args[0] {
			out = append([]any(nil), args...)
		}
		out[i] = v
	}
	return out
}

func (q sqliteQ) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.tx.ExecContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q sqliteQ) query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := q.tx.QueryContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return nil, err
	}
	return sqliteRows{rows}, nil
}

func (q sqliteQ) queryRow(ctx context.Context, query string, args ...any) Row {
	return sqliteRow{q.tx.QueryRowContext(ctx, query, sqliteArgs(args)...)}
}

type sqliteRows struct{ r *sql.Rows }

func (r sqliteRows) Next() bool             { return r.r.Next() }
func (r sqliteRows) Err() error             { return r.r.Err() }
func (r sqliteRows) Close()                 { _ = r.r.Close() }
func (r sqliteRows) Scan(dest ...any) error { return r.r.Scan(wrapDest(dest)...) }

type sqliteRow struct{ r *sql.Row }

func (r sqliteRow) Scan(dest ...any) error { return r.r.Scan(wrapDest(dest)...) }

func wrapDest(dest []any) []any {
	out := dest
	for i, d := range dest {
		var v any
		switch t := d.(type) {
		case *time.Time:
			v = &sqliteTime{t: t}
		case **time.Time:
			v = &sqliteTime{pt: t}
		default:
			continue
		}
		if &out[0] == &dest[0] {
			out = append([]any(nil), dest...)
		}
		out[i] = v
	}
	return out
}

type sqliteTime struct {
	t  *time.Time
	pt **time.Time
}

func (s *sqliteTime) Scan(src any) error {
	var tm time.Time
	switch v := src.(type) {
	case nil:
		if s.pt != nil {
			*s.pt = nil
			return nil
		}
		return errors.New("store: NULL time scanned into time.Time")
	case string:
		p, err := parseSQLiteTime(v)
		if err != nil {
			return err
		}
		tm = p
	case []byte:
		p, err := parseSQLiteTime(string(v))
		if err != nil {
			return err
		}
		tm = p
	case time.Time:
		tm = v
	default:
		return fmt.Errorf("store: cannot scan %T into time", src)
	}
	tm = tm.UTC()
	if s.pt != nil {
		*s.pt = &tm
	} else {
		*s.t = tm
	}
	return nil
}

func isSQLiteUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

var sqlErrNoRows = sql.ErrNoRows

func isSQLiteBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// parseSQLiteTime reads joist's RFC 3339 text and the "2006-01-02 15:04:05.999"
// UTC text that SQLite's datetime() (and so River's SQLite driver) writes.
func parseSQLiteTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999999", v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999999-07:00", v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("store: bad stored time %q", v)
}
