package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/signing"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/testutil"
)

var root = auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}

type received struct {
	header http.Header
	body   []byte
}

// receiver is the app's endpoint: it records requests and answers with the
// statuses in plan (then 200).
type receiver struct {
	mu   sync.Mutex
	got  []received
	plan []int
	srv  *httptest.Server
}

func newReceiver(t *testing.T, plan ...int) *receiver {
	r := &receiver{plan: plan}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: b})
		status := 200
		if len(r.plan) > 0 {
			status, r.plan = r.plan[0], r.plan[1:]
		}
		r.mu.Unlock()
		if status == 429 {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(status)
		w.Write([]byte("answer " + http.StatusText(status)))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func waitState(t *testing.T, svc *jobs.Service, tenantID, id, want string) jobs.Job {
	t.Helper()
	var j jobs.Job
	testutil.Eventually(t, 30*time.Second, func() error {
		var err error
		if j, err = svc.Get(context.Background(), root, tenantID, id); err != nil {
			t.Fatal(err)
		}
		if j.State != want {
			return fmt.Errorf("job %s is %s, want %s (attempts %+v)", id, j.State, want, j.Attempts)
		}
		return nil
	})
	return j
}

func TestPushJobDeliveredSignedAndCompleted(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, err := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		rcv := newReceiver(t, 500, 429)
		svc := env.App.Jobs
		a := root
		a.CorrelationID = "booking-7"
		j, created, err := svc.Create(ctx, a, tn.ID, jobs.PushInput{URL: rcv.srv.URL + "/hook", Body: json.RawMessage(`{"booking":7}`),
			Headers: map[string]string{"X-App": "1"}, MaxAttempts: 5})
		if err != nil || !created {
			t.Fatalf("create: %v %v", err, created)
		}
		done := waitState(t, svc, tn.ID, j.ID, "completed")
		if rcv.count() != 3 || len(done.Attempts) != 3 {
			t.Fatalf("deliveries %d, attempts %d, want 3 (500, 429, 200)", rcv.count(), len(done.Attempts))
		}
		if done.Attempts[0].Status != 500 || done.Attempts[1].Status != 429 || done.Attempts[2].Status != 200 || done.Attempts[0].ResponseBody != "answer Internal Server Error" {
			t.Fatalf("attempts: %+v", done.Attempts)
		}
		secrets, err := svc.SigningSecrets(ctx, root, tn.ID)
		if err != nil || len(secrets) != 1 {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, g := range rcv.got {
			if err := signing.Verify(secrets[0].Secret, g.header, g.body, time.Now(), 5*time.Minute); err != nil {
				t.Fatalf("signature: %v", err)
			}
			ids[g.header.Get("webhook-id")] = true
			if g.header.Get("X-App") != "1" || g.header.Get("Content-Type") != "application/json" || string(g.body) != `{"booking":7}` {
				t.Fatalf("request: %v %s", g.header, g.body)
			}
			if g.header.Get("Joist-Correlation-Id") != "booking-7" {
				t.Fatalf("correlation id not carried: %v", g.header)
			}
		}
		if len(ids) != 1 || !ids[j.ID] {
			t.Fatalf("webhook-id must be the job id on every attempt: %v", ids)
		}
	})
}

func TestGoneIsDeadAndRetryRevives(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		rcv := newReceiver(t, 410)
		svc := env.App.Jobs
		j, _, err := svc.Create(ctx, root, tn.ID, jobs.PushInput{URL: rcv.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		dead := waitState(t, svc, tn.ID, j.ID, "dead")
		if dead.DeadReason != "gone" || len(dead.Attempts) != 1 {
			t.Fatalf("dead job: %+v", dead)
		}
		if _, err := svc.Retry(ctx, root, tn.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		waitState(t, svc, tn.ID, j.ID, "completed")
		// Exhausted attempts are dead too.
		rcv2 := newReceiver(t, 500, 500)
		j2, _, _ := svc.Create(ctx, root, tn.ID, jobs.PushInput{URL: rcv2.srv.URL, MaxAttempts: 1})
		waitState(t, svc, tn.ID, j2.ID, "dead")
		list, _, err := svc.List(ctx, root, tn.ID, store.Page{}, jobs.Filter{States: []string{"dead"}})
		if err != nil || len(list) != 1 || list[0].ID != j2.ID {
			t.Fatalf("dead-letter view: %v %+v", err, list)
		}
	})
}

func TestUniqueKey(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		svc := env.App.Jobs
		in := jobs.PushInput{URL: "http://127.0.0.1:1/x", Delay: "1h", UniqueKey: "sync-user-1"}
		j1, c1, err := svc.Create(ctx, root, tn.ID, in)
		if err != nil || !c1 {
			t.Fatal(err)
		}
		j2, c2, err := svc.Create(ctx, root, tn.ID, in)
		if err != nil || c2 || j2.ID != j1.ID {
			t.Fatalf("duplicate: created=%v id=%s want %s (%v)", c2, j2.ID, j1.ID, err)
		}
		if _, err := svc.Cancel(ctx, root, tn.ID, j1.ID); err != nil {
			t.Fatal(err)
		}
		j3, c3, err := svc.Create(ctx, root, tn.ID, in)
		if err != nil || !c3 || j3.ID == j1.ID {
			t.Fatalf("after cancel a new job must be created: %v %v", c3, err)
		}
	})
}

func TestJobMetrics(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		rcv := newReceiver(t, 500)
		j, _, err := env.App.Jobs.Create(ctx, root, tn.ID, jobs.PushInput{URL: rcv.srv.URL, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		env.App.Jobs.Create(ctx, root, tn.ID, jobs.PushInput{URL: rcv.srv.URL, Delay: "1h"})
		waitState(t, env.App.Jobs, tn.ID, j.ID, "dead")
		var body string
		testutil.Eventually(t, 10*time.Second, func() error {
			resp, err := http.Get(env.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if !strings.Contains(body, `joist_job_failures_total{kind="http_push"} 1`) {
				return fmt.Errorf("/metrics has no failed http_push yet:\n%s", body)
			}
			return nil
		})
		for _, want := range []string{
			`joist_jobs{queue="default",state="dead"} 1`,
			`joist_jobs{queue="default",state="scheduled"} 1`,
			`joist_job_attempts_total{kind="http_push"} 1`,
			`joist_job_failures_total{kind="http_push"} 1`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

// TestRetryAfterHonouredAndCapped: a Retry-After longer than the backoff
// delays the retry; one longer than the cap is cut to the cap.
func TestRetryAfterHonouredAndCapped(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		var mu sync.Mutex
		var times []time.Time
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			times = append(times, time.Now())
			switch len(times) {
			case 1:
				w.Header().Set("Retry-After", "3") // backoff alone would retry after ~1 s
				w.WriteHeader(503)
			case 2:
				w.Header().Set("Retry-After", "86400") // capped to 3 s (JOIST_RETRY_AFTER_CAP)
				w.WriteHeader(429)
			default:
				w.WriteHeader(204)
			}
		}))
		defer srv.Close()
		j, _, err := env.App.Jobs.Create(ctx, root, tn.ID, jobs.PushInput{URL: srv.URL, MaxAttempts: 5})
		if err != nil {
			t.Fatal(err)
		}
		done := waitState(t, env.App.Jobs, tn.ID, j.ID, "completed")
		mu.Lock()
		defer mu.Unlock()
		if len(times) != 3 || len(done.Attempts) != 3 {
			t.Fatalf("%d calls, %d attempts, want 3", len(times), len(done.Attempts))
		}
		if d := times[1].Sub(times[0]); d < 2900*time.Millisecond {
			t.Fatalf("second attempt %s after the first; Retry-After said 3s", d)
		}
		if d := times[2].Sub(times[1]); d > 10*time.Second || d < 2900*time.Millisecond {
			t.Fatalf("third attempt %s after the second; Retry-After 86400 capped to 3s", d)
		}
	}, func(c *config.Config) { c.RetryAfterCap = 3 * time.Second })
}

func TestAllowedHosts(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, store.SQLite, func(c *config.Config) { c.PushAllowedHosts = []string{"127.0.0.1"} })
	ctx := context.Background()
	tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
	if _, _, err := env.App.Jobs.Create(ctx, root, tn.ID, jobs.PushInput{URL: "http://localhost:9/x"}); err == nil || !strings.Contains(err.Error(), "JOIST_PUSH_ALLOWED_HOSTS") {
		t.Fatalf("host outside the list: %v", err)
	}
	// A redirect out of the list is refused at call time.
	out := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer out.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(out.URL, "127.0.0.1", "localhost", 1), http.StatusFound)
	}))
	defer redirect.Close()
	j, _, err := env.App.Jobs.Create(ctx, root, tn.ID, jobs.PushInput{URL: redirect.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	dead := waitState(t, env.App.Jobs, tn.ID, j.ID, "dead")
	if len(dead.Attempts) != 1 || !strings.Contains(dead.Attempts[0].Error, "JOIST_PUSH_ALLOWED_HOSTS") {
		t.Fatalf("redirect out of the allowed hosts: %+v", dead.Attempts)
	}
}

// TestMaintainFollowsRiverRetention: once River has deleted a finished job
// (its retention), Maintain deletes joist's row and attempts of it; a job
// River still keeps, or one enqueued within the last hour, stays.
func TestMaintainFollowsRiverRetention(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, err := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		rcv := newReceiver(t)
		svc := env.App.Jobs
		mk := func() jobs.Job {
			j, _, err := svc.Create(ctx, root, tn.ID, jobs.PushInput{URL: rcv.srv.URL + "/hook"})
			if err != nil {
				t.Fatal(err)
			}
			return waitState(t, svc, tn.ID, j.ID, "completed")
		}
		gone, kept, recent := mk(), mk(), mk()
		err = env.App.DB.Write(ctx, func(tx *store.Tx) error {
			// What River's retention does to a finished job, and time passing.
			for _, id := range []string{gone.ID, recent.ID} {
				if _, err := tx.Exec(ctx, "DELETE FROM river_job WHERE id = (SELECT river_id FROM jobs WHERE id = ?)", id); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, "UPDATE jobs SET created_at = ? WHERE id IN (?, ?)", time.Now().Add(-2*time.Hour).UTC(), gone.ID, kept.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		rows := func(id string) int {
			var n int
			if err := env.App.DB.Read(ctx, func(tx *store.Tx) error {
				return tx.QueryRow(ctx, "SELECT count(*) FROM jobs WHERE id = ?", id).Scan(&n)
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := env.Count(t, "job_attempts")
		if rows(gone.ID) != 1 {
			t.Fatal("setup: the job's row is not there before Maintain")
		}
		if err := svc.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
		if rows(gone.ID) != 0 {
			t.Fatal("the row of a job River deleted is still there")
		}
		if n := env.Count(t, "job_attempts"); n != before-1 {
			t.Fatalf("attempts %d -> %d, want the deleted job's one attempt gone", before, n)
		}
		if _, err := svc.Get(ctx, root, tn.ID, kept.ID); err != nil {
			t.Fatalf("a job River keeps was deleted: %v", err)
		}
		if rows(recent.ID) != 1 {
			t.Fatal("a job enqueued within the hour was deleted")
		}
	})
}
