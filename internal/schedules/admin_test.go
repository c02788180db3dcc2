package schedules_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris on machines without a zoneinfo database

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/schedules"
	"github.com/joist-dev/joist/internal/testutil"
)

// mkSchedule creates a schedule as the API would.
func mkSchedule(t *testing.T, env *apptest.Env, tenantID, name string, in schedules.Input) schedules.Schedule {
	t.Helper()
	s, created, err := env.App.Schedules.Put(context.Background(), admintest.CLI(), tenantID, name, in)
	if err != nil || !created {
		t.Fatalf("put schedule %s: %v (created %v)", name, err, created)
	}
	return s
}

// getSchedule is the schedule now; ok is false once it is gone.
func getSchedule(t *testing.T, env *apptest.Env, tenantID, name string) (schedules.Schedule, bool) {
	t.Helper()
	s, err := env.App.Schedules.Get(context.Background(), admintest.CLI(), tenantID, name)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return s, false
		}
		t.Fatal(err)
	}
	return s, true
}

func utc(ts time.Time) string { return ts.UTC().Format("2006-01-02 15:04:05 UTC") }

func TestSchedulesPagesViewerSeesButCannotAct(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		tg := admintest.NewTarget(t)
		nightly := mkSchedule(t, env, tn.ID, "nightly-report", schedules.Input{Cron: "0 3 * * *", Timezone: "Europe/Paris",
			Missed: schedules.MissedRunOnce, Job: schedules.Template{URL: tg.URL + "/report",
				Headers: map[string]string{"Authorization": "Bearer s3cret-token"}, Body: []byte(`{"kind":"nightly"}`)}})
		if len(nightly.NextRuns) != 5 {
			t.Fatalf("next runs %v", nightly.NextRuns)
		}
		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)

		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		admintest.Want(t, "tenant page links to schedules", owner.Get("/admin/tenants/acme"), http.StatusOK, `href="/admin/tenants/acme/schedules"`)
		list := owner.Get("/admin/tenants/acme/schedules")
		admintest.Want(t, "owner's list", list, http.StatusOK, "nightly-report", "0 3 * * *", "Europe/Paris", "run_once",
			tg.URL+"/report", `id="pause-nightly-report"`, `id="delete-nightly-report"`, "03:00:00 CE", "never")
		for i, at := range nightly.NextRuns {
			if got := strings.Contains(list.Body, utc(at)); got != (i < 3) {
				t.Fatalf("list shows next run %d (%s): %v, want %v", i, utc(at), got, i < 3)
			}
		}
		page := owner.Get("/admin/tenants/acme/schedules/nightly-report")
		admintest.Want(t, "owner's schedule page", page, http.StatusOK, `id="schedule-pause"`, `id="next-runs"`, "Authorization",
			"(values not shown)", "&#34;kind&#34;: &#34;nightly&#34;", "It has not run yet.")
		for _, at := range nightly.NextRuns {
			admintest.Want(t, "next run on the page", page, http.StatusOK, utc(at))
		}
		for _, r := range []admintest.Response{list, page} {
			if strings.Contains(r.Body, "s3cret-token") {
				t.Fatal("a header value of the job template is shown")
			}
		}
		admintest.Want(t, "unknown schedule", owner.Get("/admin/tenants/acme/schedules/nope"), http.StatusNotFound)

		v := admintest.NewClient(t, env)
		v.Login("vera@example.com", admintest.Password)
		list = v.Get("/admin/tenants/acme/schedules")
		admintest.Want(t, "viewer's list", list, http.StatusOK, "nightly-report", utc(nightly.NextRuns[0]))
		page = v.Get("/admin/tenants/acme/schedules/nightly-report")
		admintest.Want(t, "viewer's schedule page", page, http.StatusOK, utc(nightly.NextRuns[4]))
		for _, r := range []admintest.Response{list, page} {
			for _, btn := range []string{"pause-nightly-report", "delete-nightly-report", "schedule-pause", "schedule-delete", "/pause", "/delete"} {
				if strings.Contains(r.Body, btn) {
					t.Fatalf("the viewer sees %q", btn)
				}
			}
		}

		// With a valid session and CSRF token, the server still refuses.
		tok := v.CSRF("/admin/tenants/acme/schedules")
		audits := env.Count(t, "audit_log")
		for _, act := range []string{"pause", "resume", "delete"} {
			admintest.Want(t, "viewer POST "+act, v.Post("/admin/tenants/acme/schedules/nightly-report/"+act, url.Values{"csrf": {tok}}),
				http.StatusForbidden, "jobs.write")
		}
		if s, ok := getSchedule(t, env, tn.ID, "nightly-report"); !ok || s.Paused || s.Version != nightly.Version {
			t.Fatalf("after the viewer's refused posts: found %v, %+v", ok, s)
		}
		if n := env.Count(t, "audit_log"); n != audits {
			t.Fatalf("audit_log %d -> %d after refused posts", audits, n)
		}
	})
}

func TestSchedulesPagesTenantScope(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		alpha := admintest.MkTenant(t, env, "alpha")
		bravo := admintest.MkTenant(t, env, "bravo")
		tg := admintest.NewTarget(t)
		theirs := mkSchedule(t, env, bravo.ID, "billing", schedules.Input{Cron: "@hourly", Job: schedules.Template{URL: tg.URL + "/bravo-billing"}})
		admintest.MkOperator(t, env, "sam@example.com", auth.RoleSupport, alpha.ID)

		sam := admintest.NewClient(t, env)
		sam.Login("sam@example.com", admintest.Password)
		admintest.Want(t, "own tenant's schedules", sam.Get("/admin/tenants/alpha/schedules"), http.StatusOK, "No schedule yet.")
		tok := sam.CSRF("/admin/tenants/alpha/schedules")
		for _, path := range []string{
			"/admin/tenants/bravo/schedules",
			"/admin/tenants/bravo/schedules/billing",
			"/admin/tenants/" + bravo.ID + "/schedules/billing",
			"/admin/tenants/alpha/schedules/billing", // own tenant in the path, other tenant's schedule
		} {
			r := sam.Get(path)
			admintest.Want(t, "GET "+path, r, http.StatusNotFound)
			if strings.Contains(r.Body, "bravo-billing") {
				t.Fatalf("GET %s shows the other tenant's schedule", path)
			}
		}
		audits := env.Count(t, "audit_log")
		for _, tenant := range []string{"bravo", bravo.ID, "alpha"} {
			for _, act := range []string{"pause", "resume", "delete"} {
				path := "/admin/tenants/" + tenant + "/schedules/billing/" + act
				admintest.Want(t, "POST "+path, sam.Post(path, url.Values{"csrf": {tok}}), http.StatusNotFound)
			}
		}
		if s, ok := getSchedule(t, env, bravo.ID, "billing"); !ok || s.Paused || s.Version != theirs.Version {
			t.Fatalf("bravo's schedule after refused posts: found %v, %+v", ok, s)
		}
		if n := env.Count(t, "audit_log"); n != audits {
			t.Fatalf("audit_log %d -> %d after refused posts", audits, n)
		}
	})
}

func TestSchedulesPauseResumeDelete(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		tg := admintest.NewTarget(t)
		tick := mkSchedule(t, env, tn.ID, "tick", schedules.Input{Cron: "@every 1s", Job: schedules.Template{URL: tg.URL + "/tick"}})
		admintest.MkOperator(t, env, "ada@example.com", auth.RoleAdmin)

		// Let it fire once, so that its runs have a job to link to.
		var runs []string
		testutil.Eventually(t, 30*time.Second, func() error {
			rs, err := env.App.Schedules.Runs(context.Background(), admintest.CLI(), tn.ID, "tick", 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.JobID != "" {
					runs = append(runs, r.JobID)
				}
			}
			if len(runs) == 0 {
				return fmt.Errorf("the schedule has not fired: %d runs, none with a job", len(rs))
			}
			return nil
		})

		c := admintest.NewClient(t, env)
		c.Login("ada@example.com", admintest.Password)
		admintest.Want(t, "page with a run", c.Get("/admin/tenants/acme/schedules/tick"), http.StatusOK,
			`href="/admin/tenants/acme/jobs/`+runs[0]+`"`, `id="schedule-pause"`)
		tok := c.CSRF("/admin/tenants/acme/schedules")

		// Pause from the list: back to the list.
		r := c.Post("/admin/tenants/acme/schedules/tick/pause", url.Values{"csrf": {tok}, "back": {"list"}})
		if r.Status != http.StatusSeeOther || r.Location != "/admin/tenants/acme/schedules?flash=schedule_paused" {
			t.Fatalf("pause: %d %q\n%s", r.Status, r.Location, r.Body)
		}
		admintest.Want(t, "after pause", c.Get(r.Location), http.StatusOK, "The schedule was paused", `id="resume-tick"`, "none while paused")
		if s, _ := getSchedule(t, env, tn.ID, "tick"); !s.Paused {
			t.Fatal("the schedule is not paused")
		}
		if got := admintest.AuditTargets(t, env, "schedule.pause"); !slices.Equal(got, []string{tick.ID}) {
			t.Fatalf("schedule.pause audited for %v", got)
		}
		admintest.Want(t, "paused page", c.Get("/admin/tenants/acme/schedules/tick"), http.StatusOK,
			`id="schedule-state">paused<`, `id="schedule-resume"`, "None while paused")

		// Resume from its page: back to the page, with next runs again.
		r = c.Post("/admin/tenants/acme/schedules/tick/resume", url.Values{"csrf": {tok}})
		if r.Status != http.StatusSeeOther || r.Location != "/admin/tenants/acme/schedules/tick?flash=schedule_resumed" {
			t.Fatalf("resume: %d %q\n%s", r.Status, r.Location, r.Body)
		}
		s, _ := getSchedule(t, env, tn.ID, "tick")
		if s.Paused || len(s.NextRuns) == 0 {
			t.Fatalf("after resume: paused %v, next runs %v", s.Paused, s.NextRuns)
		}
		admintest.Want(t, "after resume", c.Get(r.Location), http.StatusOK, "The schedule was resumed", `id="schedule-state">active<`, `id="schedule-pause"`)
		if got := admintest.AuditTargets(t, env, "schedule.resume"); !slices.Equal(got, []string{tick.ID}) {
			t.Fatalf("schedule.resume audited for %v", got)
		}
		admintest.Want(t, "audit log", c.Get("/admin/audit?target="+tick.ID), http.StatusOK, "schedule.pause", "schedule.resume")

		// Delete: back to the list, where it is gone.
		r = c.Post("/admin/tenants/acme/schedules/tick/delete", url.Values{"csrf": {tok}})
		if r.Status != http.StatusSeeOther || r.Location != "/admin/tenants/acme/schedules?flash=schedule_deleted" {
			t.Fatalf("delete: %d %q\n%s", r.Status, r.Location, r.Body)
		}
		admintest.Want(t, "after delete", c.Get(r.Location), http.StatusOK, "The schedule was deleted", "No schedule yet.")
		if _, ok := getSchedule(t, env, tn.ID, "tick"); ok {
			t.Fatal("the schedule is still there")
		}
		if got := admintest.AuditTargets(t, env, "schedule.delete"); !slices.Equal(got, []string{tick.ID}) {
			t.Fatalf("schedule.delete audited for %v", got)
		}
		admintest.Want(t, "pause a deleted schedule", c.Post("/admin/tenants/acme/schedules/tick/pause", url.Values{"csrf": {tok}}), http.StatusNotFound)
	})
}
