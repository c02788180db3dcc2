package schedules_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/schedules"
	"github.com/joist-dev/joist/internal/store"
)

// scheduler is a schedules.Service on env's store with its own clock; the
// app's own scheduler is stopped so only the test's clocks decide.
func scheduler(t *testing.T, env *apptest.Env, clk *clock, node string) *schedules.Service {
	t.Helper()
	env.App.Schedules.Stop()
	d := env.App.Deps
	d.Now = clk.Now
	return schedules.New(d, env.App.Core, env.App.Jobs, schedules.Options{NodeID: node})
}

func runsOf(t *testing.T, svc *schedules.Service, tenantID, name string) []string {
	t.Helper()
	runs, err := svc.Runs(context.Background(), root, tenantID, name, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range runs {
		s := r.Slot.UTC().Format(time.RFC3339)
		if r.CatchUp {
			s += "+catch-up"
		}
		if !strings.HasPrefix(r.JobID, "job_") || r.Error != "" {
			t.Fatalf("run %s has no job: %+v", s, r)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestMissedSlotPolicies moves a clock across slots as if every node had
// been down: skip runs none of the missed slots, run_once runs the most
// recent one once, and both run the slot that is on time. Slots passed while
// paused are not missed: resume starts after now.
func TestMissedSlotPolicies(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn := newTenant(t, env, "acme")
		rcv := newReceiver(t)
		clk := &clock{t: ts("2030-01-01T00:00:30Z")}
		svc := scheduler(t, env, clk, "node-a")
		for _, p := range []string{"skip", "run_once"} {
			if _, _, err := svc.Put(ctx, root, tn.ID, "h-"+p, schedules.Input{Cron: "0 * * * *", Missed: p,
				Job: schedules.Template{URL: rcv.srv.URL}}); err != nil {
				t.Fatal(err)
			}
		}
		step := func(at string) int {
			clk.Set(ts(at))
			n, err := svc.RunDue(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		steps := []struct {
			at   string
			want int
		}{
			{"2030-01-01T00:59:59Z", 0},
			{"2030-01-01T01:00:10Z", 2}, // on time, both
			{"2030-01-01T01:00:11Z", 0}, // nothing twice
			{"2030-01-01T04:30:00Z", 1}, // 02:00-04:00 missed, 04:00 30 min late: run_once runs 04:00
			{"2030-01-01T07:00:20Z", 3}, // 05:00, 06:00 missed, 07:00 on time: both run 07:00, run_once also 06:00
			{"2030-01-01T07:00:40Z", 0},
		}
		for _, s := range steps {
			if n := step(s.at); n != s.want {
				t.Fatalf("at %s: %d jobs enqueued, want %d", s.at, n, s.want)
			}
		}
		for _, p := range []string{"skip", "run_once"} {
			if _, err := svc.Pause(ctx, root, tn.ID, "h-"+p); err != nil {
				t.Fatal(err)
			}
		}
		if n := step("2030-01-01T10:00:30Z"); n != 0 {
			t.Fatalf("%d jobs while paused", n)
		}
		for _, p := range []string{"skip", "run_once"} {
			s, err := svc.Resume(ctx, root, tn.ID, "h-"+p)
			if err != nil || !s.NextRunAt.Equal(ts("2030-01-01T11:00:00Z")) {
				t.Fatalf("resume: %v next %s", err, s.NextRunAt)
			}
		}
		if n := step("2030-01-01T10:00:31Z"); n != 0 {
			t.Fatalf("resume caught up %d paused slots", n)
		}
		if n := step("2030-01-01T11:00:01Z"); n != 2 {
			t.Fatalf("after resume: %d jobs, want 2", n)
		}
		want := map[string][]string{
			"h-skip": {"2030-01-01T01:00:00Z", "2030-01-01T07:00:00Z", "2030-01-01T11:00:00Z"},
			"h-run_once": {"2030-01-01T01:00:00Z", "2030-01-01T04:00:00Z+catch-up", "2030-01-01T06:00:00Z+catch-up",
				"2030-01-01T07:00:00Z", "2030-01-01T11:00:00Z"},
		}
		for name, w := range want {
			if got := runsOf(t, svc, tn.ID, name); !slices.Equal(got, w) {
				t.Errorf("%s runs %v, want %v", name, got, w)
			}
			var corr, slots []string
			for _, s := range w {
				slot := ts(strings.TrimSuffix(s, "+catch-up"))
				corr = append(corr, schedules.CorrelationID(name, slot))
				slots = append(slots, slot.Format(time.RFC3339))
			}
			slices.Sort(corr)
			if got := jobsOf(t, env, tn.ID, name); !slices.Equal(got, corr) {
				t.Errorf("%s jobs %v, want %v", name, got, corr)
			}
			waitFor(t, 20*time.Second, name+" deliveries", func() bool { return len(rcv.of(name)) >= len(w) })
			if got := rcv.slots(name); !slices.Equal(got, slots) || len(rcv.of(name)) != len(w) {
				t.Errorf("%s delivered slots %v (%d requests), want %v", name, got, len(rcv.of(name)), slots)
			}
		}
	})
}

// TestOneJobPerSlotAcrossSchedulers runs four schedulers (as four nodes
// would) on one store with one clock, all calling RunDue at once for every
// slot: each slot of each schedule is enqueued exactly once.
func TestOneJobPerSlotAcrossSchedulers(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn := newTenant(t, env, "acme")
		rcv := newReceiver(t)
		clk := &clock{t: ts("2030-01-01T00:00:00.5Z")}
		var nodes []*schedules.Service
		for i := range 4 {
			nodes = append(nodes, scheduler(t, env, clk, fmt.Sprintf("node-%d", i)))
		}
		names := []string{"a", "b", "c"}
		for _, n := range names {
			if _, _, err := nodes[0].Put(ctx, root, tn.ID, n, schedules.Input{Cron: "@every 1s", Job: schedules.Template{URL: rcv.srv.URL}}); err != nil {
				t.Fatal(err)
			}
		}
		const slots = 25
		total := 0
		for i := 1; i <= slots; i++ {
			clk.Set(ts("2030-01-01T00:00:00.5Z").Add(time.Duration(i)*time.Second + 100*time.Millisecond))
			var wg sync.WaitGroup
			var mu sync.Mutex
			for _, node := range nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := node.RunDue(ctx)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					total += n
					mu.Unlock()
				}()
			}
			wg.Wait()
		}
		if total != slots*len(names) {
			t.Fatalf("%d jobs enqueued for %d slots", total, slots*len(names))
		}
		for _, n := range names {
			runs := runsOf(t, nodes[0], tn.ID, n)
			jobs := jobsOf(t, env, tn.ID, n)
			if len(runs) != slots || len(jobs) != slots || len(slices.Compact(slices.Clone(jobs))) != slots {
				t.Fatalf("schedule %s: %d runs, %d jobs (%d distinct) for %d slots", n, len(runs), len(jobs), len(slices.Compact(jobs)), slots)
			}
		}
		waitFor(t, 30*time.Second, "every delivery", func() bool {
			return len(rcv.of("a"))+len(rcv.of("b"))+len(rcv.of("c")) >= slots*len(names)
		})
		for _, n := range names {
			if len(rcv.slots(n)) != slots || len(rcv.of(n)) != slots {
				t.Fatalf("schedule %s: %d deliveries of %d distinct slots", n, len(rcv.of(n)), len(rcv.slots(n)))
			}
		}
	})
}

// TestSlotKeyStopsASecondJob makes two clocks disagree: node A (ahead) runs
// slot 10s; a replace made on node B (behind) puts next_run_at back on that
// slot, so the compare-and-set passes; the (schedule, slot) key alone keeps
// the slot from running twice, and the schedule moves on.
func TestSlotKeyStopsASecondJob(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn := newTenant(t, env, "acme")
		clkA := &clock{t: ts("2030-01-01T00:00:01Z")}
		clkB := &clock{t: ts("2030-01-01T00:00:01Z")}
		a := scheduler(t, env, clkA, "node-a")
		b := scheduler(t, env, clkB, "node-b")
		tmpl := schedules.Template{URL: "http://127.0.0.1:9/x", MaxAttempts: 1}
		if _, _, err := a.Put(ctx, root, tn.ID, "s", schedules.Input{Cron: "*/10 * * * * *", Job: tmpl}); err != nil {
			t.Fatal(err)
		}
		clkA.Set(ts("2030-01-01T00:00:10.2Z"))
		if n, _ := a.RunDue(ctx); n != 1 {
			t.Fatalf("node A enqueued %d", n)
		}
		clkB.Set(ts("2030-01-01T00:00:09Z"))
		s, _, err := b.Put(ctx, root, tn.ID, "s", schedules.Input{Cron: "*/5 * * * * *", Job: tmpl})
		if err != nil || !s.NextRunAt.Equal(ts("2030-01-01T00:00:10Z")) {
			t.Fatalf("replace on B: %v next %s", err, s.NextRunAt)
		}
		clkB.Set(ts("2030-01-01T00:00:10.5Z"))
		if n, err := b.RunDue(ctx); n != 0 || err != nil {
			t.Fatalf("node B enqueued slot 10s again: %d %v", n, err)
		}
		got, err := b.Get(ctx, root, tn.ID, "s")
		if err != nil || !got.NextRunAt.Equal(ts("2030-01-01T00:00:15Z")) {
			t.Fatalf("schedule did not move on: %v %s", err, got.NextRunAt)
		}
		if jobs := jobsOf(t, env, tn.ID, "s"); len(jobs) != 1 {
			t.Fatalf("%d jobs for one slot", len(jobs))
		}
		clkB.Set(ts("2030-01-01T00:00:15.1Z"))
		if n, _ := b.RunDue(ctx); n != 1 {
			t.Fatalf("next slot: %d jobs", n)
		}
	})
}

// TestTemplateThatNoLongerPasses stores a template the job rules now refuse
// (as after a queue is removed from JOIST_QUEUES): its slot enqueues nothing,
// the error is kept on the run and the schedule, and the schedule moves on.
func TestTemplateThatNoLongerPasses(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn := newTenant(t, env, "acme")
		clk := &clock{t: ts("2030-01-01T00:00:00Z")}
		svc := scheduler(t, env, clk, "n")
		if _, _, err := svc.Put(ctx, root, tn.ID, "s", schedules.Input{Cron: "@hourly", Job: schedules.Template{URL: "http://127.0.0.1:9/x"}}); err != nil {
			t.Fatal(err)
		}
		err := env.App.DB.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE schedules SET job = '{"url":"http://127.0.0.1:9/x","queue":"removed"}'`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		clk.Set(ts("2030-01-01T01:00:01Z"))
		if n, err := svc.RunDue(ctx); n != 0 || err != nil {
			t.Fatalf("RunDue: %d %v", n, err)
		}
		runs, err := svc.Runs(ctx, root, tn.ID, "s", 10)
		if err != nil || len(runs) != 1 || runs[0].JobID != "" || !strings.Contains(runs[0].Error, `queue "removed"`) {
			t.Fatalf("runs: %v %+v", err, runs)
		}
		s, err := svc.Get(ctx, root, tn.ID, "s")
		if err != nil || !strings.Contains(s.LastError, "removed") || !s.NextRunAt.Equal(ts("2030-01-01T02:00:00Z")) {
			t.Fatalf("schedule: %v %+v", err, s)
		}
		if jobs := jobsOf(t, env, tn.ID, "s"); len(jobs) != 0 {
			t.Fatalf("%d jobs", len(jobs))
		}
	})
}

// TestTemplateWhoseDestinationIsRefused: a template stored before the
// egress rules refused its destination (here a metadata address) enqueues
// nothing when its slot comes: the refusal is kept on the run and the
// schedule, where the user looks.
func TestTemplateWhoseDestinationIsRefused(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn := newTenant(t, env, "acme")
		clk := &clock{t: ts("2030-01-01T00:00:00Z")}
		svc := scheduler(t, env, clk, "n")
		if _, _, err := svc.Put(ctx, root, tn.ID, "s", schedules.Input{Cron: "@hourly", Job: schedules.Template{URL: "http://127.0.0.1:9/x"}}); err != nil {
			t.Fatal(err)
		}
		err := env.App.DB.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE schedules SET job = '{"url":"http://169.254.169.254/latest/meta-data/"}'`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		clk.Set(ts("2030-01-01T01:00:01Z"))
		if n, err := svc.RunDue(ctx); n != 0 || err != nil {
			t.Fatalf("RunDue: %d %v", n, err)
		}
		runs, err := svc.Runs(ctx, root, tn.ID, "s", 10)
		if err != nil || len(runs) != 1 || runs[0].JobID != "" || !strings.Contains(runs[0].Error, `"169.254.169.254" refused`) {
			t.Fatalf("runs: %v %+v", err, runs)
		}
		if s, err := svc.Get(ctx, root, tn.ID, "s"); err != nil || !strings.Contains(s.LastError, "JOIST_EGRESS_ALLOW") {
			t.Fatalf("schedule: %v %+v", err, s)
		}
		if jobs := jobsOf(t, env, tn.ID, "s"); len(jobs) != 0 {
			t.Fatalf("%d jobs", len(jobs))
		}
	})
}
