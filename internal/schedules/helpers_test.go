package schedules_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/testutil"
)

var root = auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}

// delivery is one request a schedule's job made to the app.
type delivery struct {
	schedule, slot, correlationID, jobID string
}

// receiver is the app's endpoint: it records every request and answers 200.
type receiver struct {
	mu  sync.Mutex
	got []delivery
	srv *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.got = append(r.got, delivery{schedule: req.Header.Get("Joist-Schedule"), slot: req.Header.Get("Joist-Schedule-Slot"),
			correlationID: req.Header.Get("Joist-Correlation-Id"), jobID: req.Header.Get("Joist-Job-Id")})
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// of returns the deliveries of one schedule.
func (r *receiver) of(schedule string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got {
		if d.schedule == schedule {
			out = append(out, d)
		}
	}
	return out
}

// slots returns the distinct slots delivered for a schedule, sorted.
func (r *receiver) slots(schedule string) []string {
	var out []string
	for _, d := range r.of(schedule) {
		if !slices.Contains(out, d.slot) {
			out = append(out, d.slot)
		}
	}
	slices.Sort(out)
	return out
}

// clock is a settable clock for the scheduler.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, timeout, func() error {
		if !cond() {
			return fmt.Errorf("waiting for %s", what)
		}
		return nil
	})
}

func newTenant(t *testing.T, env *apptest.Env, slug string) store.Tenant {
	t.Helper()
	tn, err := env.App.Tenants.Create(context.Background(), root, tenants.Input{Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// jobsOf lists (correlation id) of the jobs a schedule enqueued, straight
// from the jobs table.
func jobsOf(t *testing.T, env *apptest.Env, tenantID, schedule string) []string {
	t.Helper()
	var out []string
	err := env.App.DB.Read(context.Background(), func(tx *store.Tx) error {
		rows, err := tx.Query(context.Background(), "SELECT correlation_id FROM jobs WHERE tenant_id = ? AND schedule = ? ORDER BY correlation_id",
			tenantID, schedule)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
