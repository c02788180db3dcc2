// Package apptest starts a whole joist (store, API, admin) on a real
// loopback listener for tests, on SQLite or PostgreSQL.
package apptest

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/joist-dev/joist/internal/app"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// Env is a running joist for one test.
type Env struct {
	App           *app.App
	URL           string // http://127.0.0.1:port
	RootKey       string
	OwnerEmail    string
	OwnerPassword string
	Dialect       store.Dialect

	log *logLines
}

// logLines keeps the ERROR lines joist logged.
type logLines struct {
	mu     sync.Mutex
	errors []string
}

// ErrorLines are the lines joist has logged at ERROR so far.
func (e *Env) ErrorLines() []string {
	e.log.mu.Lock()
	defer e.log.mu.Unlock()
	return slices.Clone(e.log.errors)
}

// Start runs joist on dialect d until the test ends. mod may adjust the
// configuration before start.
func Start(t testing.TB, d store.Dialect, mod ...func(*config.Config)) *Env {
	t.Helper()
	ctx := context.Background()
	opts := storetest.Options(t, d)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Addr = ln.Addr().String() // so the derived public URL is the real one
	cfg.DataDir = t.TempDir()
	if opts.SQLitePath != "" {
		cfg.DataDir = filepath.Dir(opts.SQLitePath)
	}
	cfg.DatabaseURL, cfg.DatabaseSchema = opts.URL, opts.Schema
	if d == store.Postgres {
		cfg.SecretKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	}
	cfg.RootKey = "root_" + auth.RandomToken(32)
	cfg.OwnerEmail = "owner@example.com"
	cfg.OwnerPassword = "correct horse battery staple"
	for _, m := range mod {
		m(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	level := slog.LevelWarn
	if os.Getenv("JOIST_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	lines := &logLines{}
	log := slog.New(slog.NewTextHandler(testWriter{t, lines}, &slog.HandlerOptions{Level: level}))
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	if err := a.Start(ctx, ln); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(a.Stop)
	return &Env{App: a, URL: "http://" + a.Addr(), RootKey: cfg.RootKey, OwnerEmail: cfg.OwnerEmail,
		OwnerPassword: cfg.OwnerPassword, Dialect: d, log: lines}
}

// Restart stops e's joist and starts another on the same store and
// configuration, adjusted by mod (settings an operator changed between two
// starts), on a new listener.
func (e *Env) Restart(t testing.TB, mod ...func(*config.Config)) *Env {
	t.Helper()
	e.App.Stop()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.App.Config
	cfg.Addr = ln.Addr().String()
	for _, m := range mod {
		m(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := app.New(ctx, cfg, e.App.Log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	if err := a.Start(ctx, ln); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(a.Stop)
	return &Env{App: a, URL: "http://" + a.Addr(), RootKey: e.RootKey, OwnerEmail: e.OwnerEmail,
		OwnerPassword: e.OwnerPassword, Dialect: e.Dialect}
}

// Node starts a second joist on e's store and configuration (another node
// of the same cluster, in this process), with its own listener, until the
// test ends. On SQLite both open the one database file.
func (e *Env) Node(t testing.TB) *Env {
	t.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.App.Config
	cfg.Addr = ln.Addr().String()
	a, err := app.New(ctx, cfg, e.App.Log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	if err := a.Start(ctx, ln); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(a.Stop)
	return &Env{App: a, URL: "http://" + a.Addr(), RootKey: e.RootKey, OwnerEmail: e.OwnerEmail,
		OwnerPassword: e.OwnerPassword, Dialect: e.Dialect, log: e.log}
}

// Each runs f as a subtest per store with a fresh joist; mod may adjust
// the configuration.
func Each(t *testing.T, f func(t *testing.T, env *Env), mod ...func(*config.Config)) {
	t.Helper()
	for _, d := range storetest.Stores {
		t.Run(string(d), func(t *testing.T) { f(t, Start(t, d, mod...)) })
	}
}

// Count counts a table's rows.
func (e *Env) Count(t testing.TB, table string) int {
	t.Helper()
	return storetest.Count(t, e.App.DB, table)
}

type testWriter struct {
	t     testing.TB
	lines *logLines
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	if bytes.Contains(p, []byte("level=ERROR")) {
		w.lines.mu.Lock()
		w.lines.errors = append(w.lines.errors, string(p))
		w.lines.mu.Unlock()
	}
	return len(p), nil
}

// Snapshot counts the rows of every table of the schema (see
// storetest.Snapshot); compare two with storetest.Unchanged.
func (e *Env) Snapshot(t testing.TB) map[string]int {
	t.Helper()
	return storetest.Snapshot(t, e.App.DB)
}

// OpenAPI is the document /openapi.json serves (app.OpenAPI), for checking
// test traffic against it.
func OpenAPI(t testing.TB) []byte {
	t.Helper()
	doc, err := app.OpenAPI()
	if err != nil {
		t.Fatalf("openapi: %v", err)
	}
	return doc
}
