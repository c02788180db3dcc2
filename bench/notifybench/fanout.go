package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/joist-dev/joist/bench/internal/benchkit"
)

// ---- the fan-out -----------------------------------------------------------

var profEvent = flag.Int("cpuprofile-event", 1, "which fan-out event -cpuprofile covers: 1 (inline recipients) or 2 (a device each)")

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
	fmt.Printf("load before: %s\n", benchkit.LoadAvg())
	profDone := make(chan error, 1)
	profile := func(event int) {
		if pprofAddr != "" && *profEvent == event {
			go func() { profDone <- benchkit.Profile(ctx, pprofAddr, *profSecs, *cpuProf) }()
		} else {
			profDone <- nil
		}
	}
	profile(1)
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

	fmt.Printf("load before: %s\n", benchkit.LoadAvg())
	before := fcm.count.Load()
	profile(2)
	tPost := time.Now()
	d2, ev2, err := postAndWait(ctx, c, map[string]any{"type": "bench.fanout", "recipients": ids, "data": data}, "fan-2")
	if err != nil {
		return err
	}
	if err := <-profDone; err != nil {
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

	fmt.Printf("load before: %s\n", benchkit.LoadAvg())
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
