package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"reflect"

	"modernc.org/sqlite"
)

// SQLite statement cache.
//
// modernc's driver prepares (parses and plans) every statement that
// database/sql runs without an explicit Prepare, and finalizes it after
// one use. Under load the parser was a quarter of joist's CPU, and on the
// single writer connection that time is serial: every statement of a
// group commit, and every one of River's (insert, fetch, complete), waits
// for it. So each connection keeps its most recently used statements
// prepared and runs them again with new arguments: the same SQLite
// statements, with the same results, prepared once.
//
// Written here rather than taken from a library: database/sql's own
// *sql.Stmt would need every caller (River included) to prepare
// explicitly, and the cache has to sit below River's use of the *sql.DB.

// stmtCacheSize is how many statements each connection keeps prepared;
// the rest (dynamically built filters) are prepared per use, as before.
const stmtCacheSize = 256

// cachingConnector opens modernc connections wrapped in a statement cache.
type cachingConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachedConn{conn: conn, lru: list.New(), byQuery: map[string]*list.Element{}}, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.drv }

// cachedConn is a modernc connection with its prepared statements.
// database/sql uses a connection from one goroutine at a time, so it
// needs no lock.
type cachedConn struct {
	conn    driver.Conn
	lru     *list.List // of *cachedStmt, most recent first
	byQuery map[string]*list.Element
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	// busy is set while rows read from the statement are open: a second
	// use of the same text then prepares a statement of its own.
	busy bool
}

// take returns the cached statement for query, preparing it if needed;
// own is false when the statement belongs to the cache (release it with
// done), true when it was prepared for this use only (close it).
func (c *cachedConn) take(ctx context.Context, query string) (cs *cachedStmt, own bool, err error) {
	if el, ok := c.byQuery[query]; ok {
		cs = el.Value.(*cachedStmt)
		if !cs.busy {
			c.lru.MoveToFront(el)
			cs.busy = true
			return cs, false, nil
		}
	}
	st, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	cs = &cachedStmt{query: query, stmt: st, busy: true}
	if _, ok := c.byQuery[query]; ok {
		return cs, true, nil
	}
	c.byQuery[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		old := c.lru.Back()
		ocs := old.Value.(*cachedStmt)
		if ocs.busy {
			break // rows still open on it; evicted on a later use
		}
		c.lru.Remove(old)
		delete(c.byQuery, ocs.query)
		_ = ocs.stmt.Close()
	}
	return cs, false, nil
}

// done releases a statement after use; a failed statement leaves the
// cache, so that nothing of a failure is carried into the next use.
func (c *cachedConn) done(cs *cachedStmt, own bool, failed bool) {
	cs.busy = false
	if own {
		_ = cs.stmt.Close()
		return
	}
	if failed {
		if el, ok := c.byQuery[cs.query]; ok && el.Value == cs {
			c.lru.Remove(el)
			delete(c.byQuery, cs.query)
		}
		_ = cs.stmt.Close()
	}
}

func (c *cachedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, own, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	c.done(cs, own, err != nil)
	return res, err
}

func (c *cachedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, own, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.done(cs, own, true)
		return nil, err
	}
	return &cachedRows{Rows: rows, release: func(failed bool) { c.done(cs, own, failed) }}, nil
}

func (c *cachedConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }
func (c *cachedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}
func (c *cachedConn) Begin() (driver.Tx, error) { return c.conn.Begin() } //nolint:staticcheck // driver.Conn requires it
func (c *cachedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}
func (c *cachedConn) Ping(ctx context.Context) error { return c.conn.(driver.Pinger).Ping(ctx) }
func (c *cachedConn) ResetSession(ctx context.Context) error {
	return c.conn.(driver.SessionResetter).ResetSession(ctx)
}
func (c *cachedConn) IsValid() bool { return c.conn.(driver.Validator).IsValid() }

// Close finalizes the cached statements, then closes the connection.
func (c *cachedConn) Close() error {
	for el := c.lru.Front(); el != nil; el = el.Next() {
		_ = el.Value.(*cachedStmt).stmt.Close()
	}
	c.lru.Init()
	clear(c.byQuery)
	return c.conn.Close()
}

// cachedRows releases its statement to the cache when closed, and passes
// on the column types modernc's rows report.
type cachedRows struct {
	driver.Rows
	release func(failed bool)
	closed  bool
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.release(err != nil)
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
