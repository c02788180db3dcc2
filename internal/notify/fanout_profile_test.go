package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
)

// TestFanoutProfile is a measuring aid, not a check: with
// JOIST_FANOUT_PROFILE=DIR it fans out one event (in_app and push) to
// JOIST_FANOUT_N contacts (2,000) that each have an FCM device (none with
// JOIST_FANOUT_NODEVICES=1), by hand in chunks of JOIST_FANOUT_CHUNK (500),
// writing a CPU profile of the fan-out to DIR/<store>.prof and logging
// its time and, on PostgreSQL, the statements it ran (pg_stat_statements,
// when installed).
func TestFanoutProfile(t *testing.T) {
	dir := os.Getenv("JOIST_FANOUT_PROFILE")
	if dir == "" {
		t.Skip("JOIST_FANOUT_PROFILE not set")
	}
	n, chunk := 2000, 500
	if v, err := strconv.Atoi(os.Getenv("JOIST_FANOUT_N")); err == nil {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("JOIST_FANOUT_CHUNK")); err == nil {
		chunk = v
	}
	ps := newPushServices(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn := newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/notification-types/bench.fanout", `{"channels":{"in_app":{"title":"New booking","body":"{{.data.guest}} booked {{.data.room}}",
			"url":"/bookings/{{.data.id}}"},"push":{"title":"New booking","body":"{{.data.guest}}, {{.data.nights}} nights"}},"group":"bookings"}`).
			must(t, http.StatusCreated, "type")
		ids := make([]string, n)
		objs := make([]map[string]any, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("u%05d", i)
			objs[i] = map[string]any{"id": ids[i], "email": ids[i] + "@example.com", "name": "User " + ids[i], "locale": "en"}
		}
		b, _ := json.Marshal(map[string]any{"type": "bench.fanout", "recipients": objs, "data": map[string]any{"guest": "Ana", "room": "Suite 4", "id": "bk_1", "nights": 3}})
		var ev struct{ ID string }
		c.do(t, "POST", "/v1/events", b).must(t, http.StatusAccepted, "post").json(t, &ev)
		eventDone(t, c, ev.ID)
		var wg sync.WaitGroup
		devices := os.Getenv("JOIST_FANOUT_NODEVICES") == ""
		for w := range 8 {
			if !devices {
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 8 {
					c.do(t, "POST", "/v1/contacts/"+ids[i]+"/devices", fmt.Sprintf(`{"platform":"fcm","token":"fcm-%05d"}`, i)).
						must(t, http.StatusCreated, "device")
				}
			}()
		}
		wg.Wait()
		evID, err := env.App.Notify.EventDataWithoutJobForTest(ctx, tn.ID, "bench.fanout", ids,
			[]byte(`{"guest":"Ana","room":"Suite 4","id":"bk_1","nights":3}`))
		if err != nil {
			t.Fatal(err)
		}
		pg := env.Dialect == store.Postgres
		if pg {
			_ = env.App.DB.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(ctx, "SELECT public.pg_stat_statements_reset()")
				return err
			})
		}
		f, err := os.Create(filepath.Join(dir, string(env.Dialect)+".prof"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = env.App.Notify.FanoutForTest(ctx, tn.ID, evID, chunk, 0)
		d := time.Since(start)
		pprof.StopCPUProfile()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d recipients (devices: %v) fanned out in chunks of %d in %s", env.Dialect, n, devices, chunk, d)
		var inFeed, queued int
		err = env.App.DB.Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM notifications WHERE event_id = ? AND in_feed),
				(SELECT COUNT(*) FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id
				WHERE n.event_id = ? AND d.channel = 'push' AND d.status IN ('queued', 'sent', 'failed'))`, evID, evID).Scan(&inFeed, &queued)
		})
		if !devices {
			queued = n
		}
		if err != nil || inFeed != n || queued != n {
			t.Fatalf("%d in the feed, %d pushes queued (%v)", inFeed, queued, err)
		}
		if !pg {
			return
		}
		var lines []string
		err = env.App.DB.Read(ctx, func(tx *store.Tx) error {
			rows, err := tx.Query(ctx, `SELECT calls, total_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM public.pg_stat_statements
				WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC LIMIT 40`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var calls int
				var ms float64
				var q string
				if err := rows.Scan(&calls, &ms, &q); err != nil {
					return err
				}
				lines = append(lines, fmt.Sprintf("%6d %9.1f ms  %s", calls, ms, q))
			}
			return rows.Err()
		})
		t.Logf("statements (%v):\n%s", err, strings.Join(lines, "\n"))
	}, ps.configure(t))
}
