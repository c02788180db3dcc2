// Command notifybench measures joist's notifications end to end, with
// `joist serve` as a separate process on either store:
//
//   - fan-out: one event to -n recipients (10,000), the time from the POST
//     until GET /v1/events/{id} says done, when every in-app record exists
//     and every push delivery is queued (the fan-out writes the
//     notification, its deliveries and the push job in one chunk
//     transaction). Measured twice: the first event with inline recipient
//     objects (the fan-out creates the contacts), then, after an FCM device
//     is registered for every contact, a second event to the existing ids
//     (every push delivery queued). Push goes to an FCM stand-in in this
//     process (JOIST_FCM_*), which also times when the last push arrives.
//     Baseline: a bare single-transaction bulk insert, from this process,
//     of rows of the same shape (a notification, its in_app and push
//     deliveries and a feed log entry per recipient, with the same unique
//     keys and indexes) into the same kind of store (a SQLite file with
//     joist's pragmas beside its data; a schema of the same PostgreSQL).
//   - stream: -clients (1,000) contacts, each with a contact token and an
//     open GET /v1/feed/stream, then -events events to all of them: per
//     client, the time from the POST to its `notification` event (p50,
//     p99, max), and joist's RSS growth per open stream. Baseline: a bare
//     net/http SSE server in a separate process (this binary re-executed)
//     that broadcasts a POSTed message to every open stream, measured the
//     same way. With -store postgres -nodes 2, a second joist node shares
//     the database and half of the clients connect to it (LISTEN/NOTIFY).
//
// Everything listens on 127.0.0.1; the tool stops by itself (-timeout)
// and removes its temporary directory and PostgreSQL schemas.
//
//	go run ./bench/notifybench
//	go run ./bench/notifybench -store postgres -url postgres://... -nodes 2
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite"
)

var (
	binPath  = flag.String("bin", "", "joist binary to run (default: go build ./cmd/joist into a temporary directory)")
	kind     = flag.String("store", "sqlite", "sqlite or postgres")
	pgURL    = flag.String("url", os.Getenv("JOIST_TEST_DATABASE_URL"), "PostgreSQL URL for -store postgres (a fresh schema is made in it)")
	nRcpt    = flag.Int("n", 10000, "recipients of the fan-out event")
	nClients = flag.Int("clients", 1000, "connected stream clients")
	nEvents  = flag.Int("events", 3, "events posted to the stream clients")
	nodes    = flag.Int("nodes", 1, "joist nodes for the stream part (2 needs -store postgres)")
	parts    = flag.String("parts", "fanout,stream", "what to measure: fanout, stream or both")
	timeout  = flag.Duration("timeout", 10*time.Minute, "the whole run stops after this")
	keep     = flag.Bool("keep", false, "keep the data directory (or PostgreSQL schema)")
	cpuProf  = flag.String("cpuprofile", "", "write a CPU profile of joist serve over the first fan-out event to this file (through JOIST_PPROF_ADDR)")
	profSecs = flag.Int("cpuprofile-seconds", 8, "length of that profile")
)

const (
	rootKey   = "notifybench-root-key-0123456789abcdef"
	secretKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	baseEnv   = "NOTIFYBENCH_SSE_BASELINE" // set: run as the baseline SSE server
)

func main() {
	if os.Getenv(baseEnv) != "" {
		sseBaselineServer()
		return
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	err := run(ctx)
	cancel()
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	raiseNoFile()
	tmp, err := os.MkdirTemp("", "notifybench")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(tmp)
	}
	fmt.Printf("notifybench: store=%s n=%d clients=%d events=%d nodes=%d; %s; %s\n", *kind, *nRcpt, *nClients, *nEvents, *nodes, machine(), runtime.Version())
	bin := *binPath
	if bin == "" {
		bin = filepath.Join(tmp, "joist")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/joist").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/joist (run from the module root, or give -bin): %v\n%s", err, out)
		}
	}
	fcm, err := newFCM()
	if err != nil {
		return err
	}
	defer fcm.srv.Close()

	env := []string{"JOIST_ROOT_KEY=" + rootKey, "JOIST_OWNER_EMAIL=owner@example.com", "JOIST_OWNER_PASSWORD=notifybench owner password",
		"JOIST_FCM_CREDENTIALS=" + string(fcm.creds), "JOIST_FCM_API_BASE=" + fcm.base, "JOIST_FCM_TOKEN_URL=" + fcm.base + "/token"}
	var pool *pgxpool.Pool
	switch *kind {
	case "sqlite":
		if *nodes != 1 {
			return errors.New("-nodes 2 needs -store postgres (SQLite is one node)")
		}
		env = append(env, "JOIST_DATA="+filepath.Join(tmp, "data"))
	case "postgres":
		if *pgURL == "" {
			return errors.New("-url or JOIST_TEST_DATABASE_URL is required for -store postgres")
		}
		if pool, err = pgxpool.New(ctx, *pgURL); err != nil {
			return err
		}
		defer pool.Close()
		schema := fmt.Sprintf("notifybench_%d", time.Now().UnixNano())
		if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return err
		}
		if !*keep {
			defer pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
		}
		env = append(env, "JOIST_DATA="+filepath.Join(tmp, "data"), "JOIST_DATABASE_URL="+*pgURL, "JOIST_DATABASE_SCHEMA="+schema, "JOIST_SECRET_KEY="+secretKey)
	default:
		return fmt.Errorf("unknown -store %q: sqlite or postgres", *kind)
	}

	pprofAddr := ""
	if *cpuProf != "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return err
		}
	}
	j, err := startJoist(ctx, bin, append(env, "JOIST_PPROF_ADDR="+pprofAddr), filepath.Join(tmp, "joist1.log"))
	if err != nil {
		return err
	}
	defer j.stop()
	c := newClient(j.base)
	if _, err := c.do(ctx, "POST", "/v1/tenants", map[string]any{"slug": "bench"}, nil); err != nil {
		return err
	}
	if strings.Contains(*parts, "fanout") {
		if err := fanout(ctx, c, fcm, tmp, pool, pprofAddr); err != nil {
			return err
		}
	}
	if strings.Contains(*parts, "stream") {
		// A fresh process for the streams, so the fan-out's heap does not
		// blur the memory per connection.
		j.stop()
		if j, err = startJoist(ctx, bin, env, filepath.Join(tmp, "joist1-stream.log")); err != nil {
			return err
		}
		defer j.stop()
		c = newClient(j.base)
		all := []*joist{j}
		for i := 1; i < *nodes; i++ {
			jn, err := startJoist(ctx, bin, env, filepath.Join(tmp, fmt.Sprintf("joist%d.log", i+1)))
			if err != nil {
				return err
			}
			defer jn.stop()
			all = append(all, jn)
		}
		if err := streams(ctx, c, all); err != nil {
			return err
		}
	}
	fmt.Printf("machine after the run: %s\n", machine())
	return nil
}

// ---- the fan-out -----------------------------------------------------------

func fanout(ctx context.Context, c *client, fcm *fcmStandIn, tmp string, pool *pgxpool.Pool, pprofAddr string) error {
	n := *nRcpt
	if _, err := c.do(ctx, "PUT", "/v1/notification-types/bench.fanout", map[string]any{
		"channels": map[string]any{
			"in_app": map[string]any{"title": "New booking", "body": "{{.data.guest}} booked {{.data.room}}", "url": "/bookings/{{.data.id}}"},
			"push":   map[string]any{"title": "New booking", "body": "{{.data.guest}}, {{.data.nights}} nights"}},
		"group": "bookings"}, nil); err != nil {
		return err
	}
	data := map[string]any{"guest": "Ana", "room": "Suite 4", "id": "bk_1", "nights": 3}
	objs := make([]any, n)
	ids := make([]any, n)
	for i := range n {
		id := fmt.Sprintf("u%05d", i)
		objs[i] = map[string]any{"id": id, "email": id + "@example.com", "name": "User " + id, "locale": "en"}
		ids[i] = id
	}

	fmt.Printf("\n== fan-out: one event to %d recipients (%s) ==\n", n, *kind)
	fmt.Printf("load before: %s\n", loadavg())
	profDone := make(chan error, 1)
	if pprofAddr != "" {
		go func() { profDone <- profile(ctx, pprofAddr, *profSecs, *cpuProf) }()
	} else {
		profDone <- nil
	}
	d1, ev1, err := postAndWait(ctx, c, map[string]any{"type": "bench.fanout", "recipients": objs, "data": data}, "fan-1")
	if err != nil {
		return err
	}
	if err := <-profDone; err != nil {
		return err
	}
	inApp1, push1, err := countDeliveries(ctx, c, ev1)
	if err != nil {
		return err
	}
	fmt.Printf("first event, inline recipient objects (contacts created by the fan-out; no devices yet): %s to done; %d in_app delivered, push: %v\n",
		ms(d1), inApp1, push1)

	// An FCM device for every contact, so every push delivery is queued.
	t0 := time.Now()
	if err := parallel(ctx, n, 16, func(i int) error {
		_, err := c.do(ctx, "POST", "/v1/contacts/"+ids[i].(string)+"/devices", map[string]any{"platform": "fcm", "token": fmt.Sprintf("fcm-bench-%05d", i)}, nil)
		return err
	}); err != nil {
		return err
	}
	fmt.Printf("registered %d FCM devices in %s\n", n, ms(time.Since(t0)))

	fmt.Printf("load before: %s\n", loadavg())
	before := fcm.count.Load()
	tPost := time.Now()
	d2, ev2, err := postAndWait(ctx, c, map[string]any{"type": "bench.fanout", "recipients": ids, "data": data}, "fan-2")
	if err != nil {
		return err
	}
	inApp2, push2, err := countDeliveries(ctx, c, ev2)
	if err != nil {
		return err
	}
	fmt.Printf("second event, existing ids, a device each: %s to done; %d in_app delivered, push: %v\n", ms(d2), inApp2, push2)
	// The pushes themselves: until the stand-in has one per device.
	var dSent time.Duration
	for dl := time.Now().Add(3 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if fcm.count.Load()-before >= int64(n) {
			dSent = time.Since(tPost)
			break
		}
		if time.Now().After(dl) || ctx.Err() != nil {
			fmt.Printf("push: only %d of %d at the FCM stand-in after 3 minutes\n", fcm.count.Load()-before, n)
			break
		}
	}
	if dSent > 0 {
		fmt.Printf("second event: every push at the FCM stand-in %s after the POST\n", ms(dSent))
	}

	fmt.Printf("load before: %s\n", loadavg())
	b, err := bulkBaseline(ctx, tmp, pool, n)
	if err != nil {
		return err
	}
	fmt.Printf("baseline (one transaction, bare multi-row INSERTs of %d notifications + %d deliveries + %d feed log rows): %s\n", n, 2*n, n, ms(b))
	fmt.Printf("ratio joist/baseline: first event %.1fx, second event %.1fx (aim on SQLite: under 2 s; first %s, second %s)\n",
		float64(d1)/float64(b), float64(d2)/float64(b), ms(d1), ms(d2))
	return nil
}

// postAndWait posts an event and polls it until its status is done.
func postAndWait(ctx context.Context, c *client, body map[string]any, key string) (time.Duration, string, error) {
	key = fmt.Sprintf("%s-%d", key, time.Now().UnixNano())
	t0 := time.Now()
	var ev struct {
		ID, Status string
		Notified   int
		Skipped    int
	}
	if _, err := c.do(ctx, "POST", "/v1/events", body, &ev, "Idempotency-Key", key); err != nil {
		return 0, "", err
	}
	accepted := time.Since(t0)
	for {
		if _, err := c.do(ctx, "GET", "/v1/events/"+ev.ID, nil, &ev); err != nil {
			return 0, "", err
		}
		if ev.Status == "done" {
			d := time.Since(t0)
			fmt.Printf("  event %s: 202 after %s, done after %s: notified %d, skipped %d\n", ev.ID, ms(accepted), ms(d), ev.Notified, ev.Skipped)
			return d, ev.ID, nil
		}
		select {
		case <-ctx.Done():
			return 0, "", fmt.Errorf("event %s not done: %w", ev.ID, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// countDeliveries pages through the event's notifications: how many
// in_app deliveries are delivered, and the push deliveries by status.
func countDeliveries(ctx context.Context, c *client, event string) (int, map[string]int, error) {
	inApp, push := 0, map[string]int{}
	cursor := ""
	for {
		var page struct {
			Data []struct {
				Deliveries []struct{ Channel, Status, Reason string }
			}
			NextCursor string `json:"next_cursor"`
		}
		if _, err := c.do(ctx, "GET", "/v1/events/"+event+"/notifications?limit=500&cursor="+cursor, nil, &page); err != nil {
			return 0, nil, err
		}
		for _, n := range page.Data {
			for _, d := range n.Deliveries {
				switch {
				case d.Channel == "in_app" && d.Status == "delivered":
					inApp++
				case d.Channel == "push":
					push[strings.TrimSuffix(d.Status+" "+d.Reason, " ")]++
				}
			}
		}
		if page.NextCursor == "" {
			return inApp, push, nil
		}
		cursor = page.NextCursor
	}
}

// bulkBaseline inserts n notifications, 2n deliveries and n feed log rows,
// shaped as joist's (same columns, unique keys and indexes), in one
// transaction with multi-row INSERTs of 500 rows, from this process: into
// a SQLite file with joist's pragmas (WAL, synchronous FULL) in the same
// directory as joist's database, or a fresh schema of the same PostgreSQL.
func bulkBaseline(ctx context.Context, tmp string, pool *pgxpool.Pool, n int) (time.Duration, error) {
	ddl := []string{
		`CREATE TABLE notifications (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, event_id TEXT NOT NULL, contact_id TEXT NOT NULL,
			type TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '', critical INTEGER NOT NULL DEFAULT 0, title TEXT NOT NULL DEFAULT '',
			body TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '', data TEXT NOT NULL, in_feed INTEGER NOT NULL,
			seq INTEGER NOT NULL DEFAULT 0, correlation_id TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
			UNIQUE (event_id, contact_id))`,
		`CREATE INDEX notifications_feed ON notifications (tenant_id, contact_id, id DESC)`,
		`CREATE INDEX notifications_event ON notifications (event_id, id)`,
		`CREATE TABLE notification_deliveries (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, notification_id TEXT NOT NULL,
			contact_id TEXT NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
			created_at TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (notification_id, channel))`,
		`CREATE INDEX notification_deliveries_status ON notification_deliveries (tenant_id, channel, status)`,
		`CREATE TABLE feed_log (tenant_id TEXT NOT NULL, contact_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
			notification_id TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (tenant_id, contact_id, seq))`,
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	type stmt struct {
		sql  string
		args []any
	}
	var stmts []stmt
	ph := func(i int) string { return "?" }
	if pool != nil {
		ph = func(i int) string { return "$" + strconv.Itoa(i) }
	}
	const chunk = 500
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		var nb, db, fb strings.Builder
		var na, da, fa []any
		nb.WriteString("INSERT INTO notifications (id, tenant_id, event_id, contact_id, type, title, body, url, data, in_feed, seq, created_at, updated_at) VALUES ")
		db.WriteString("INSERT INTO notification_deliveries (id, tenant_id, notification_id, contact_id, channel, status, created_at, updated_at) VALUES ")
		fb.WriteString("INSERT INTO feed_log (tenant_id, contact_id, seq, kind, notification_id, created_at) VALUES ")
		for i := lo; i < hi; i++ {
			ntf, ct := fmt.Sprintf("ntf_%026d", i), fmt.Sprintf("ct_%026d", i)
			sep := func(b *strings.Builder) {
				if i > lo {
					b.WriteString(",")
				}
			}
			sep(&nb)
			nb.WriteString("(")
			for k := range 13 {
				if k > 0 {
					nb.WriteString(",")
				}
				nb.WriteString(ph(len(na) + k + 1))
			}
			nb.WriteString(")")
			na = append(na, ntf, "tn_bench", "nev_bench", ct, "bench.fanout", "New booking", "Ana booked Suite 4", "/bookings/bk_1",
				`{"guest":"Ana","room":"Suite 4","id":"bk_1","nights":3}`, 1, 1, now, now)
			for _, ch := range []string{"in_app", "push"} {
				if len(da) > 0 {
					db.WriteString(",")
				}
				db.WriteString("(")
				for k := range 8 {
					if k > 0 {
						db.WriteString(",")
					}
					db.WriteString(ph(len(da) + k + 1))
				}
				db.WriteString(")")
				da = append(da, "ndl_"+ch+ntf[4:], "tn_bench", ntf, ct, ch, map[string]string{"in_app": "delivered", "push": "queued"}[ch], now, now)
			}
			sep(&fb)
			fb.WriteString("(")
			for k := range 6 {
				if k > 0 {
					fb.WriteString(",")
				}
				fb.WriteString(ph(len(fa) + k + 1))
			}
			fb.WriteString(")")
			fa = append(fa, "tn_bench", ct, 1, "notification", ntf, now)
		}
		stmts = append(stmts, stmt{nb.String(), na}, stmt{db.String(), da}, stmt{fb.String(), fa})
	}

	if pool != nil {
		schema := fmt.Sprintf("notifybench_base_%d", time.Now().UnixNano())
		if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return 0, err
		}
		defer pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return 0, err
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, "SET search_path TO "+schema); err != nil {
			return 0, err
		}
		for _, s := range ddl {
			if _, err := conn.Exec(ctx, s); err != nil {
				return 0, err
			}
		}
		defer conn.Exec(context.Background(), "RESET search_path") //nolint:errcheck
		t0 := time.Now()
		tx, err := conn.Begin(ctx)
		if err != nil {
			return 0, err
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
				_ = tx.Rollback(ctx)
				return 0, err
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return 0, err
		}
		return time.Since(t0), nil
	}
	path := filepath.Join(tmp, "data", "baseline.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, s := range ddl {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return 0, err
		}
	}
	t0 := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.sql, s.args...); err != nil {
			_ = tx.Rollback()
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// ---- the stream ------------------------------------------------------------

func streams(ctx context.Context, c *client, js []*joist) error {
	n := *nClients
	if _, err := c.do(ctx, "PUT", "/v1/notification-types/bench.stream", map[string]any{
		"channels": map[string]any{"in_app": map[string]any{"title": "Ping {{.data.k}}", "body": "event {{.data.k}}"}}}, nil); err != nil {
		return err
	}
	objs := make([]any, n)
	ids := make([]any, n)
	for i := range n {
		id := fmt.Sprintf("s%05d", i)
		objs[i], ids[i] = map[string]any{"id": id, "name": "Stream " + id}, id
	}
	// The first event creates the contacts; the clients connect after it.
	if _, _, err := postAndWait(ctx, c, map[string]any{"type": "bench.stream", "recipients": objs, "data": map[string]any{"k": 0}}, "stream-0"); err != nil {
		return err
	}
	urls := make([]string, n)
	// The first token alone: it creates the tenant's feed secret, and on
	// PostgreSQL concurrent first mints race (each creates a secret and
	// expires the other's, so half of the tokens would be refused).
	if err := parallel(ctx, 1, 1, func(i int) error {
		_, err := c.do(ctx, "POST", "/v1/contacts/"+ids[0].(string)+"/tokens", map[string]any{"ttl": "1h"}, nil)
		return err
	}); err != nil {
		return err
	}
	if err := parallel(ctx, n, 16, func(i int) error {
		var tok struct{ Token string }
		if _, err := c.do(ctx, "POST", "/v1/contacts/"+ids[i].(string)+"/tokens", map[string]any{"ttl": "1h"}, &tok); err != nil {
			return err
		}
		urls[i] = js[i%len(js)].base + "/v1/feed/stream?token=" + tok.Token
		return nil
	}); err != nil {
		return err
	}
	fmt.Printf("\n== stream: %d clients over %d joist node(s) (%s) ==\n", n, len(js), *kind)
	time.Sleep(2 * time.Second) // let the set-up's garbage settle before the first RSS reading
	var lastEvent string
	post := func(k int) error {
		var ev struct{ ID string }
		_, err := c.do(ctx, "POST", "/v1/events", map[string]any{"type": "bench.stream", "recipients": ids, "data": map[string]any{"k": k}}, &ev,
			"Idempotency-Key", fmt.Sprintf("stream-%d-%d", k, time.Now().UnixNano()))
		lastEvent = ev.ID
		return err
	}
	// after says how long the event's fan-out took (created_at to
	// completed_at, both joist's clock): the part of post-to-receipt
	// before any stream is woken.
	after := func() string {
		var ev struct {
			CreatedAt   time.Time  `json:"created_at"`
			CompletedAt *time.Time `json:"completed_at"`
		}
		if _, err := c.do(ctx, "GET", "/v1/events/"+lastEvent, nil, &ev); err != nil || ev.CompletedAt == nil {
			return ""
		}
		return fmt.Sprintf(" (the event's fan-out, job pickup included: %s)", ms(ev.CompletedAt.Sub(ev.CreatedAt)))
	}
	pids := make([]int, len(js))
	for i, j := range js {
		pids[i] = j.cmd.Process.Pid
	}
	jr, err := measureStreams(ctx, "joist", urls, pids, post, after)
	if err != nil {
		return err
	}

	// The baseline: a bare SSE server, this binary re-executed.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bcmd := exec.CommandContext(ctx, self)
	bcmd.Env = append(os.Environ(), baseEnv+"=1")
	bcmd.Stderr = os.Stderr
	out, err := bcmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := bcmd.Start(); err != nil {
		return err
	}
	defer func() { _ = bcmd.Process.Kill(); _ = bcmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("baseline SSE server: %w", err)
	}
	bbase := "http://" + strings.TrimSpace(line)
	burls := make([]string, n)
	for i := range burls {
		burls[i] = bbase + "/stream"
	}
	br, err := measureStreams(ctx, "baseline", burls, []int{bcmd.Process.Pid}, func(k int) error {
		resp, err := http.Post(bbase+"/broadcast", "application/json", strings.NewReader(fmt.Sprintf(`{"k":%d}`, k)))
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}, func() string { return "" })
	if err != nil {
		return err
	}
	fmt.Printf("ratio joist/baseline: p50 %.1fx, p99 %.1fx; memory per connection %.1f vs %.1f KiB (aim: p99 under 100 ms; joist's p99 %s)\n",
		ratio(pct(jr.lat, 50), pct(br.lat, 50)), ratio(pct(jr.lat, 99), pct(br.lat, 99)), jr.kibPerConn, br.kibPerConn, ms(pct(jr.lat, 99)))
	return nil
}

type streamResult struct {
	lat        []time.Duration
	kibPerConn float64
}

// measureStreams opens one stream per url, waits until each has received
// its first event (joist's counts; the baseline's hello), records the
// servers' RSS growth, then calls post for each of -events events and
// records, per client, the time from the call to its `notification` event.
func measureStreams(ctx context.Context, name string, urls []string, pids []int, post func(k int) error, note func() string) (streamResult, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: len(urls), DisableCompression: true}
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	rss0 := rssKiB(pids)
	ready := make(chan error, len(urls))
	got := make([]chan time.Time, len(urls))
	var wg sync.WaitGroup
	var sem = make(chan struct{}, 50) // open at most 50 at a time
	for i, u := range urls {
		got[i] = make(chan time.Time, 64)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			req, _ := http.NewRequestWithContext(sctx, "GET", u, nil)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := hc.Do(req)
			<-sem
			if err != nil {
				ready <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
				ready <- fmt.Errorf("%s: %s %s", name, resp.Status, b)
				return
			}
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			first := true
			for sc.Scan() {
				l := sc.Text()
				if first && strings.HasPrefix(l, "event:") {
					first = false
					ready <- nil
				}
				if l == "event: notification" {
					got[i] <- time.Now()
				}
			}
		}()
	}
	t0 := time.Now()
	for range urls {
		select {
		case err := <-ready:
			if err != nil {
				return streamResult{}, err
			}
		case <-time.After(60 * time.Second):
			return streamResult{}, fmt.Errorf("%s: streams not open after 60 s", name)
		}
	}
	open := time.Since(t0)
	time.Sleep(time.Second)
	rss1 := rssKiB(pids)
	r := streamResult{kibPerConn: float64(rss1-rss0) / float64(len(urls))}
	fmt.Printf("%s: %d streams open in %s; server RSS %d -> %d KiB: %.1f KiB per connection\n", name, len(urls), ms(open), rss0, rss1, r.kibPerConn)
	for k := 1; k <= *nEvents; k++ {
		fmt.Printf("  load before: %s\n", loadavg())
		t := time.Now()
		if err := post(k); err != nil {
			return r, err
		}
		var lat []time.Duration
		missing := 0
		deadline := time.After(30 * time.Second)
		for i := range got {
			select {
			case at := <-got[i]:
				lat = append(lat, at.Sub(t))
			case <-deadline:
				missing++
				deadline = closedTimer()
			}
		}
		slices.Sort(lat)
		fmt.Printf("  %s event %d: %d of %d clients received it: p50 %s, p99 %s, max %s%s\n", name, k, len(lat), len(urls), ms(pct(lat, 50)), ms(pct(lat, 99)), ms(pct(lat, 100)), note())
		if missing > 0 {
			return r, fmt.Errorf("%s: %d clients did not receive event %d in 30 s", name, missing, k)
		}
		r.lat = append(r.lat, lat...)
		time.Sleep(500 * time.Millisecond)
	}
	slices.Sort(r.lat)
	fmt.Printf("%s, all %d events: p50 %s, p99 %s, max %s\n", name, *nEvents, ms(pct(r.lat, 50)), ms(pct(r.lat, 99)), ms(pct(r.lat, 100)))
	cancel()
	wg.Wait()
	return r, nil
}

func closedTimer() <-chan time.Time {
	c := make(chan time.Time, 1)
	c <- time.Now()
	return c
}

// sseBaselineServer is the bare baseline: net/http on 127.0.0.1, GET
// /stream holds a Server-Sent Events stream (a hello event first), POST
// /broadcast writes its body as a `notification` event to every stream.
// It prints its address, and exits when its parent goes (stdin closed or
// a minute without a client, whichever first is not needed: the parent
// kills it; a 15-minute cap bounds it anyway).
func sseBaselineServer() {
	var (
		mu   sync.Mutex
		subs = map[chan []byte]struct{}{}
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		ch := make(chan []byte, 16)
		mu.Lock()
		subs[ch] = struct{}{}
		mu.Unlock()
		defer func() { mu.Lock(); delete(subs, ch); mu.Unlock() }()
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		fl := w.(http.Flusher)
		fmt.Fprint(w, "event: hello\ndata: {}\n\n")
		fl.Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case b := <-ch:
				fmt.Fprintf(w, "event: notification\ndata: %s\n\n", b)
				fl.Flush()
			}
		}
	})
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		mu.Lock()
		for ch := range subs {
			select {
			case ch <- b:
			default:
			}
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	time.AfterFunc(15*time.Minute, func() { os.Exit(0) })
	log.Fatal(http.Serve(ln, mux))
}

// ---- joist, the API client, the FCM stand-in -------------------------------

type joist struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
	log  string
}

func startJoist(ctx context.Context, bin string, env []string, logPath string) (*joist, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), env...), "JOIST_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	j := &joist{cmd: cmd, base: "http://" + addr, done: make(chan struct{}), log: logPath}
	go func() { _ = cmd.Wait(); logf.Close(); close(j.done) }()
	for t0 := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(j.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return j, nil
			}
		}
		select {
		case <-j.done:
			return nil, fmt.Errorf("joist exited at start; see %s", logPath)
		case <-ctx.Done():
			j.stop()
			return nil, ctx.Err()
		default:
		}
		if time.Since(t0) > 60*time.Second {
			j.stop()
			return nil, fmt.Errorf("joist not ready after 60s; see %s", logPath)
		}
	}
}

// stop sends SIGTERM, then SIGKILL after 30 s.
func (j *joist) stop() {
	_ = j.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.done:
	case <-time.After(30 * time.Second):
		_ = j.cmd.Process.Kill()
		<-j.done
	}
}

type client struct {
	base string
	hc   *http.Client
}

func newClient(base string) *client {
	return &client{base: base, hc: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
}

// do calls the API as the root key on tenant bench and decodes a 2xx
// answer into out (when not nil).
func (c *client) do(ctx context.Context, method, path string, body, out any, hdr ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+rootKey)
	req.Header.Set("Content-Type", "application/json")
	if path != "/v1/tenants" {
		req.Header.Set("Joist-Tenant", "bench")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s %.300s", method, path, resp.Status, b)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

// parallel runs f(0..n-1) on w workers; the first error stops it.
func parallel(ctx context.Context, n, w int, f func(i int) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || first.Load() != nil || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return ctx.Err()
}

// fcmStandIn answers FCM HTTP v1 over plain HTTP on 127.0.0.1: the token
// exchange (any assertion; this bench checks throughput, the push
// package's tests check the JWTs) and messages:send, counting messages.
type fcmStandIn struct {
	srv   *http.Server
	base  string
	creds []byte
	count atomic.Int64
}

func newFCM() (*fcmStandIn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fcmStandIn{base: "http://" + ln.Addr().String()}
	key, err := rsaPEM()
	if err != nil {
		return nil, err
	}
	f.creds, _ = json.Marshal(map[string]string{"type": "service_account", "project_id": "notifybench", "private_key_id": "k1",
		"private_key": key, "client_email": "push@notifybench.iam.gserviceaccount.com", "client_id": "1", "token_uri": f.base + "/token"})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"ya29.notifybench","expires_in":3600,"token_type":"Bearer"}`)
	})
	mux.HandleFunc("POST /v1/projects/{project}/{rest}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n := f.count.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"name":"projects/notifybench/messages/%d"}`, n)
	})
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(ln) //nolint:errcheck
	return f, nil
}

// ---- small helpers -----------------------------------------------------------

func pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)*p/100, len(l)-1)]
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// rssKiB sums VmRSS of the processes.
func rssKiB(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// raiseNoFile raises this process's open-file limit to its hard limit;
// the joist processes it starts inherit it.
func raiseNoFile() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	la := strings.Fields(string(b))
	return strings.Join(la[:min(3, len(la))], " ")
}

// machine says what the load runs on: CPUs, model, load average.
func machine() string {
	model := "unknown"
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			_, model, _ = strings.Cut(l, ": ")
			break
		}
	}
	return fmt.Sprintf("%d CPUs %q, load average %s", runtime.NumCPU(), model, loadavg())
}

// rsaPEM is a fresh RSA-2048 key in PKCS#8 PEM, the service account's.
func rsaPEM() (string, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// profile fetches a CPU profile of joist serve for secs seconds into path.
func profile(ctx context.Context, addr string, secs int, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	fmt.Printf("cpu profile of joist serve: %s\n", path)
	return f.Close()
}
