package schedules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// The schedules system's own SQL, on both stores.

var base = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func hour(n int) time.Time { return base.Add(time.Duration(n) * time.Hour) }

func names(recs []record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Name
	}
	return out
}

func slots(runs []Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.Slot.UTC().Format("01-02T15")
	}
	return out
}

func TestScheduleStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := storetest.Tenant(t, db, "acme").ID, storetest.Tenant(t, db, "bravo").ID
		mk := func(tenantID, name string, next time.Time, paused bool) record {
			return record{ID: "sch_" + name + "_" + tenantID, TenantID: tenantID, Name: name, Cron: "@hourly", Timezone: "UTC",
				Job: json.RawMessage(`{"url":"http://127.0.0.1:9/` + name + `"}`), Missed: "skip", Paused: paused, Version: 1,
				NextRunAt: next, CreatedAt: base, UpdatedAt: base}
		}
		// A: delta (due at 1h), alpha (2h), charlie (paused, due at 0h), bravo (due at 5h); B: alpha (due at 3h).
		inA := []record{mk(a, "delta", hour(1), false), mk(a, "alpha", hour(2), false), mk(a, "charlie", hour(0), true), mk(a, "bravo", hour(5), false)}
		err := db.Write(ctx, func(tx *store.Tx) error {
			for _, r := range inA {
				if err := (scope{tx.Tenant(a)}).scheduleInsert(ctx, r); err != nil {
					return err
				}
			}
			return scope{tx.Tenant(b)}.scheduleInsert(ctx, mk(b, "alpha", hour(3), false))
		})
		if err != nil {
			t.Fatal(err)
		}
		// A name is unique per tenant.
		err = db.Write(ctx, func(tx *store.Tx) error {
			r := mk(a, "alpha", hour(2), false)
			r.ID = "sch_other"
			return scope{tx.Tenant(a)}.scheduleInsert(ctx, r)
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second alpha of A: %v, want ErrConflict", err)
		}

		read := func(f func(tx *store.Tx) error) {
			t.Helper()
			if err := db.Read(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		write := func(f func(tx *store.Tx) error) {
			t.Helper()
			if err := db.Write(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		get := func(tenantID, name string) record {
			t.Helper()
			var r record
			read(func(tx *store.Tx) error {
				var err error
				r, err = scope{tx.Tenant(tenantID)}.scheduleGet(ctx, name)
				return err
			})
			return r
		}

		// Get by name, in the scope's tenant only.
		read(func(tx *store.Tx) error {
			got, err := scope{tx.Tenant(a)}.scheduleGet(ctx, "alpha")
			if err != nil {
				return err
			}
			want := inA[1]
			if got.ID != want.ID || got.TenantID != a || got.Cron != "@hourly" || got.Timezone != "UTC" || string(got.Job) != string(want.Job) ||
				got.Missed != "skip" || got.Paused || got.Version != 1 || !got.NextRunAt.Equal(hour(2)) || got.LastRunAt != nil ||
				got.LastJobID != "" || got.LastError != "" || !got.CreatedAt.Equal(base) || !got.UpdatedAt.Equal(base) {
				return fmt.Errorf("scheduleGet: %+v", got)
			}
			if got, err := (scope{tx.Tenant(b)}).scheduleGet(ctx, "alpha"); err != nil || got.ID != "sch_alpha_"+b {
				return fmt.Errorf("B's alpha: %v %+v", err, got)
			}
			if _, err := (scope{tx.Tenant(b)}).scheduleGet(ctx, "delta"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("B gets A's delta: %v", err)
			}
			return nil
		})

		// List by name, in pages.
		read(func(tx *store.Tx) error {
			sa := scope{tx.Tenant(a)}
			var pages [][]string
			p := store.Page{Limit: 3}
			for {
				recs, next, err := sa.scheduleList(ctx, p)
				if err != nil {
					return err
				}
				pages = append(pages, names(recs))
				if next == "" {
					break
				}
				p.Cursor = next
			}
			if want := [][]string{{"alpha", "bravo", "charlie"}, {"delta"}}; fmt.Sprint(pages) != fmt.Sprint(want) {
				return fmt.Errorf("pages %v, want %v", pages, want)
			}
			recs, next, err := scope{tx.Tenant(b)}.scheduleList(ctx, store.Page{})
			if err != nil || next != "" || len(recs) != 1 || recs[0].ID != "sch_alpha_"+b {
				return fmt.Errorf("B's list: %v %+v %q", err, recs, next)
			}
			if _, _, err := sa.scheduleList(ctx, store.Page{Cursor: "!"}); !errors.Is(err, store.ErrBadCursor) {
				return fmt.Errorf("bad cursor: %v", err)
			}
			return nil
		})

		// Due: every tenant's unpaused schedules due by now, oldest first, up to limit.
		for _, c := range []struct {
			now   time.Time
			limit int
			want  []string
		}{
			{hour(3), 10, []string{"sch_delta_" + a, "sch_alpha_" + a, "sch_alpha_" + b}},
			{hour(3), 2, []string{"sch_delta_" + a, "sch_alpha_" + a}},
			{hour(1), 10, []string{"sch_delta_" + a}},
			{hour(0), 10, []string{}},
		} {
			read(func(tx *store.Tx) error {
				due, err := schedulesDue(ctx, tx, c.now, c.limit)
				got := make([]string, len(due))
				for i, r := range due {
					got[i] = r.ID
				}
				if err != nil || !slices.Equal(got, c.want) {
					return fmt.Errorf("due at %v (limit %d): %v %v, want %v", c.now, c.limit, err, got, c.want)
				}
				return nil
			})
		}

		// Update changes what a person may change and bumps the version;
		// through B's scope it finds nothing.
		alpha := get(a, "alpha")
		write(func(tx *store.Tx) error {
			r := alpha
			r.Cron, r.Timezone, r.Job, r.Missed, r.Paused, r.NextRunAt, r.UpdatedAt = "0 * * * *", "Europe/Paris", json.RawMessage(`{"url":"http://x/"}`),
				"run_once", false, hour(4), hour(1)
			if err := (scope{tx.Tenant(a)}).scheduleUpdate(ctx, r); err != nil {
				return err
			}
			r.Cron = "@daily"
			if err := (scope{tx.Tenant(b)}).scheduleUpdate(ctx, r); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("B updates A's alpha: %v", err)
			}
			return nil
		})
		got := get(a, "alpha")
		if got.Cron != "0 * * * *" || got.Timezone != "Europe/Paris" || string(got.Job) != `{"url":"http://x/"}` || got.Missed != "run_once" ||
			!got.NextRunAt.Equal(hour(4)) || !got.UpdatedAt.Equal(hour(1)) || got.Version != 2 || !got.CreatedAt.Equal(base) {
			t.Fatalf("after update: %+v", got)
		}

		// Advance is a compare-and-set on (version, next_run_at, not paused), in the scope's tenant.
		write(func(tx *store.Tx) error {
			sa, sb := scope{tx.Tenant(a)}, scope{tx.Tenant(b)}
			for _, c := range []struct {
				q        scope
				id       string
				version  int64
				from     time.Time
				want     bool
				describe string
			}{
				{sa, got.ID, 1, hour(4), false, "an old version"},
				{sa, got.ID, 2, hour(2), false, "an old next_run_at"},
				{sb, got.ID, 2, hour(4), false, "B's scope"},
				{sa, "sch_charlie_" + a, 1, hour(0), false, "a paused schedule"},
				{sa, got.ID, 2, hour(4), true, "the current row"},
				{sa, got.ID, 2, hour(4), false, "a slot already handled"},
			} {
				won, err := c.q.scheduleAdvance(ctx, c.id, c.version, c.from, hour(6))
				if err != nil || won != c.want {
					return fmt.Errorf("advance from %s: %v %v, want %v", c.describe, won, err, c.want)
				}
			}
			return nil
		})
		if got := get(a, "alpha"); !got.NextRunAt.Equal(hour(6)) || got.Version != 2 {
			t.Fatalf("after advance: %+v", got)
		}
		if got := get(a, "charlie"); !got.NextRunAt.Equal(hour(0)) {
			t.Fatalf("paused charlie advanced: %+v", got)
		}

		// Claims: once per slot, the transaction still usable after a
		// refused claim; never for another tenant's schedule.
		id := got.ID
		write(func(tx *store.Tx) error {
			sa, sb := scope{tx.Tenant(a)}, scope{tx.Tenant(b)}
			for i, want := range []bool{true, false} {
				won, err := sa.scheduleRunClaim(ctx, Run{ScheduleID: id, Slot: hour(4), Node: fmt.Sprint("n", i), CreatedAt: hour(4)})
				if err != nil || won != want {
					return fmt.Errorf("claim %d: %v %v, want %v", i, won, err, want)
				}
			}
			if won, err := sb.scheduleRunClaim(ctx, Run{ScheduleID: id, Slot: hour(5), CreatedAt: hour(5)}); won || err != nil {
				return fmt.Errorf("B claims A's slot: %v %v", won, err)
			}
			if won, err := sa.scheduleRunClaim(ctx, Run{ScheduleID: id, Slot: hour(5), CatchUp: true, Node: "n2", CreatedAt: hour(5)}); !won || err != nil {
				return fmt.Errorf("next slot: %v %v", won, err)
			}
			if err := sa.scheduleRunFinish(ctx, id, hour(4), "job_1", ""); err != nil {
				return err
			}
			if err := sa.scheduleRunFinish(ctx, id, hour(5), "", "queue removed"); err != nil {
				return err
			}
			if err := sb.scheduleRunFinish(ctx, id, hour(4), "job_b", "B was here"); err != nil {
				return err
			}
			if err := sa.scheduleSetLast(ctx, id, hour(5), "", "queue removed"); err != nil {
				return err
			}
			return sb.scheduleSetLast(ctx, id, hour(9), "job_b", "B was here")
		})
		if n := storetest.Count(t, db, "schedule_runs"); n != 2 {
			t.Fatalf("%d runs stored, want 2", n)
		}
		if got := get(a, "alpha"); got.LastRunAt == nil || !got.LastRunAt.Equal(hour(5)) || got.LastJobID != "" || got.LastError != "queue removed" {
			t.Fatalf("last run: %+v", got)
		}
		read(func(tx *store.Tx) error {
			runs, err := scope{tx.Tenant(a)}.scheduleRuns(ctx, id, 10)
			if err != nil || len(runs) != 2 {
				return fmt.Errorf("runs: %v %+v", err, runs)
			}
			r5, r4 := runs[0], runs[1]
			if !r5.Slot.Equal(hour(5)) || !r5.CatchUp || r5.JobID != "" || r5.Error != "queue removed" || r5.Node != "n2" || r5.TenantID != a ||
				r5.ScheduleID != id || !r5.CreatedAt.Equal(hour(5)) {
				return fmt.Errorf("run at 5h: %+v", r5)
			}
			if !r4.Slot.Equal(hour(4)) || r4.CatchUp || r4.JobID != "job_1" || r4.Error != "" || r4.Node != "n0" {
				return fmt.Errorf("run at 4h (the first claim's): %+v", r4)
			}
			if runs, err := (scope{tx.Tenant(a)}).scheduleRuns(ctx, id, 1); err != nil || !slices.Equal(slots(runs), []string{"01-01T05"}) {
				return fmt.Errorf("runs limit 1: %v %v", err, slots(runs))
			}
			if runs, err := (scope{tx.Tenant(b)}).scheduleRuns(ctx, id, 10); err != nil || len(runs) != 0 {
				return fmt.Errorf("B reads A's runs: %v %+v", err, runs)
			}
			return nil
		})

		// Delete: not through B's scope; through A's, with its runs.
		write(func(tx *store.Tx) error {
			if err := (scope{tx.Tenant(b)}).scheduleDelete(ctx, id); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("B deletes A's alpha: %v", err)
			}
			return nil
		})
		if n := storetest.Count(t, db, "schedules"); n != 5 {
			t.Fatalf("%d schedules after B's delete, want 5", n)
		}
		write(func(tx *store.Tx) error { return scope{tx.Tenant(a)}.scheduleDelete(ctx, id) })
		if s, r := storetest.Count(t, db, "schedules"), storetest.Count(t, db, "schedule_runs"); s != 4 || r != 0 {
			t.Fatalf("after delete: %d schedules, %d runs; want 4 and 0", s, r)
		}
		write(func(tx *store.Tx) error {
			if err := (scope{tx.Tenant(a)}).scheduleDelete(ctx, id); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("second delete: %v", err)
			}
			return nil
		})
	}, Migrations())
}

// TestScheduleRunsPurge keeps schedule_runs bounded: by age, and by count per schedule.
func TestScheduleRunsPurge(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tn := storetest.Tenant(t, db, "acme").ID
		now := time.Date(2030, 1, 10, 0, 0, 0, 0, time.UTC)
		// a: 10 runs, 8 of them older than 7 days; b: 3 recent runs; c: 2 old runs.
		claims := map[string][]time.Time{}
		for i := range 10 {
			slot := time.Date(2030, 1, 1, i, 0, 0, 0, time.UTC)
			if i >= 8 {
				slot = time.Date(2030, 1, 9, i, 0, 0, 0, time.UTC)
			}
			claims["a"] = append(claims["a"], slot)
		}
		for i := range 3 {
			claims["b"] = append(claims["b"], time.Date(2030, 1, 9, 12+i, 0, 0, 0, time.UTC))
		}
		claims["c"] = []time.Time{time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 2, 1, 0, 0, 0, time.UTC)}
		err := db.Write(ctx, func(tx *store.Tx) error {
			sc := scope{tx.Tenant(tn)}
			for _, name := range []string{"a", "b", "c"} {
				if err := sc.scheduleInsert(ctx, record{ID: "sch_" + name, Name: name, Cron: "@hourly", Timezone: "UTC", Job: json.RawMessage(`{}`),
					Missed: "skip", Version: 1, NextRunAt: now, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
				for _, slot := range claims[name] {
					if won, err := sc.scheduleRunClaim(ctx, Run{ScheduleID: "sch_" + name, Slot: slot, CreatedAt: slot}); !won || err != nil {
						return fmt.Errorf("claim %s %v: %v %v", name, slot, won, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var purged int64
		err = db.Write(ctx, func(tx *store.Tx) error {
			var err error
			purged, err = scheduleRunsPurge(ctx, tx, now.Add(-7*24*time.Hour), 2)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// a: 8 too old; b: 1 beyond the newest 2; c: both too old.
		if purged != 11 || storetest.Count(t, db, "schedule_runs") != 4 {
			t.Fatalf("purged %d, %d left; want 11 and 4", purged, storetest.Count(t, db, "schedule_runs"))
		}
		err = db.Read(ctx, func(tx *store.Tx) error {
			for name, want := range map[string][]string{"a": {"01-09T09", "01-09T08"}, "b": {"01-09T14", "01-09T13"}, "c": {}} {
				runs, err := scope{tx.Tenant(tn)}.scheduleRuns(ctx, "sch_"+name, 10)
				if err != nil || !slices.Equal(slots(runs), want) {
					return fmt.Errorf("%s kept %v %v, want %v", name, err, slots(runs), want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}, Migrations())
}
