package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStatementCache: with its statements kept prepared, a SQLite
// connection still answers every statement with its own arguments: the
// same text run again, the same text nested inside its own open rows (the
// cached statement is busy), a failing statement followed by a good one,
// and more distinct texts than the cache holds (the oldest are finalized,
// never reused wrongly). The cache stays within its bound.
func TestStatementCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, Options{SQLitePath: filepath.Join(t.TempDir(), "c.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
			return err
		}
		for i := range 10 {
			if _, err := tx.Exec(ctx, "INSERT INTO kv (k, v) VALUES (?, ?)", i, fmt.Sprint("v", i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	const q = "SELECT v FROM kv WHERE k = ?"
	err = db.Read(ctx, func(tx *Tx) error {
		for i := range 10 {
			var v string
			if err := tx.QueryRow(ctx, q, i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
				return fmt.Errorf("k=%d: %q %v", i, v, err)
			}
		}
		// The same text while its rows are open.
		rows, err := tx.Query(ctx, "SELECT k FROM kv WHERE k < ? ORDER BY k", 3)
		if err != nil {
			return err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var k int
			if err := rows.Scan(&k); err != nil {
				return err
			}
			var inner int
			if err := tx.QueryRow(ctx, "SELECT k FROM kv WHERE k < ? ORDER BY k", k+100).Scan(&inner); err != nil || inner != 0 {
				return fmt.Errorf("nested: %d %v", inner, err)
			}
			if k != n {
				return fmt.Errorf("outer row %d, want %d", k, n)
			}
			n++
		}
		if n != 3 {
			return fmt.Errorf("outer rows: %d", n)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failing statement, then the same text succeeding.
	const ins = "INSERT INTO kv (k, v) VALUES (?, ?)"
	if err := db.Write(ctx, func(tx *Tx) error { _, err := tx.Exec(ctx, ins, 1, "dup"); return err }); err == nil {
		t.Fatal("duplicate key inserted")
	}
	if err := db.Write(ctx, func(tx *Tx) error { _, err := tx.Exec(ctx, ins, 100, "v100"); return err }); err != nil {
		t.Fatal(err)
	}
	// More distinct statements than the cache holds, then the first again.
	err = db.Write(ctx, func(tx *Tx) error {
		for i := range stmtCacheSize + 50 {
			var v string
			if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT v || '%d' FROM kv WHERE k = ?", i), i%10).Scan(&v); err != nil ||
				v != fmt.Sprintf("v%d%d", i%10, i) {
				return fmt.Errorf("statement %d: %q %v", i, v, err)
			}
		}
		var v string
		if err := tx.QueryRow(ctx, "SELECT v || '0' FROM kv WHERE k = ?", 7).Scan(&v); err != nil || v != "v70" {
			return fmt.Errorf("evicted statement again: %q %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.sqlite.writer.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error {
		c := dc.(*cachedConn)
		if c.lru.Len() > stmtCacheSize || len(c.byQuery) != c.lru.Len() {
			return fmt.Errorf("cache holds %d statements (%d by text), bound %d", c.lru.Len(), len(c.byQuery), stmtCacheSize)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
