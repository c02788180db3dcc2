package jobs_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/testutil"
)

// mkJob enqueues an HTTP-push job to tg and waits (bounded) until it is in
// state want.
func mkJob(t *testing.T, env *apptest.Env, tenantID string, tg *admintest.Target, in jobs.PushInput, want string) jobs.Job {
	t.Helper()
	if in.URL == "" {
		in.URL = tg.URL + "/work"
	}
	j, created, err := env.App.Jobs.Create(context.Background(), admintest.CLI(), tenantID, in)
	if err != nil || !created {
		t.Fatalf("create job: %v (created %v)", err, created)
	}
	return waitJob(t, env, tenantID, j.ID, want)
}

// waitJob polls the job until it is in state want, for at most 30 seconds.
func waitJob(t *testing.T, env *apptest.Env, tenantID, id, want string) jobs.Job {
	t.Helper()
	var j jobs.Job
	testutil.Eventually(t, 30*time.Second, func() error {
		var err error
		if j, err = env.App.Jobs.Get(context.Background(), admintest.CLI(), tenantID, id); err != nil {
			t.Fatal(err)
		}
		if j.State != want {
			return fmt.Errorf("job %s is %s, want %s (attempts %+v)", id, j.State, want, j.Attempts)
		}
		return nil
	})
	return j
}

// jobState is a job's state now.
func jobState(t *testing.T, env *apptest.Env, tenantID, id string) string {
	t.Helper()
	j, err := env.App.Jobs.Get(context.Background(), admintest.CLI(), tenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	return j.State
}

// deadJob makes a job die for real: the target answers 500 and the job has
// a single attempt.
func deadJob(t *testing.T, env *apptest.Env, tenantID string, tg *admintest.Target) jobs.Job {
	t.Helper()
	tg.Status.Store(http.StatusInternalServerError)
	defer tg.Status.Store(http.StatusOK)
	return mkJob(t, env, tenantID, tg, jobs.PushInput{MaxAttempts: 1}, "dead")
}

func TestJobsPagesViewerSeesButCannotAct(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		tg := admintest.NewTarget(t)
		dead := deadJob(t, env, tn.ID, tg)
		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)

		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		admintest.Want(t, "tenant page links to jobs", owner.Get("/admin/tenants/acme"), http.StatusOK, `href="/admin/tenants/acme/jobs"`)
		admintest.Want(t, "owner's list", owner.Get("/admin/tenants/acme/jobs?state=dead"), http.StatusOK,
			dead.ID, `id="state-dead" aria-current="page">1<`, `id="retry-dead"`)
		admintest.Want(t, "owner's job page", owner.Get("/admin/tenants/acme/jobs/"+dead.ID), http.StatusOK,
			`id="job-retry"`, "app says Internal Server Error", "target answered 500")
		admintest.Want(t, "unknown state", owner.Get("/admin/tenants/acme/jobs?state=bogus"), http.StatusBadRequest, "is not one of")
		admintest.Want(t, "unknown job", owner.Get("/admin/tenants/acme/jobs/job_nope"), http.StatusNotFound)

		v := admintest.NewClient(t, env)
		v.Login("vera@example.com", admintest.Password)
		list := v.Get("/admin/tenants/acme/jobs?state=dead")
		admintest.Want(t, "viewer's list", list, http.StatusOK, dead.ID)
		if strings.Contains(list.Body, `id="retry-dead"`) {
			t.Fatal("the viewer sees the bulk retry form")
		}
		page := v.Get("/admin/tenants/acme/jobs/" + dead.ID)
		admintest.Want(t, "viewer's job page", page, http.StatusOK, "target answered 500", `id="attempts"`)
		if strings.Contains(page.Body, `id="job-retry"`) || strings.Contains(page.Body, `id="job-cancel"`) {
			t.Fatal("the viewer sees the retry or cancel button")
		}

		// With a valid session and CSRF token, the server still refuses.
		tok := v.CSRF("/admin/tenants/acme/jobs/" + dead.ID)
		audits := env.Count(t, "audit_log")
		for _, path := range []string{"/jobs/" + dead.ID + "/retry", "/jobs/" + dead.ID + "/cancel", "/jobs/retry-dead"} {
			admintest.Want(t, "viewer POST "+path, v.Post("/admin/tenants/acme"+path, url.Values{"csrf": {tok}}), http.StatusForbidden, "jobs.write")
		}
		time.Sleep(100 * time.Millisecond) // a wrongly queued retry would have started by now
		if st := jobState(t, env, tn.ID, dead.ID); st != "dead" {
			t.Fatalf("after the viewer's refused retry the job is %s", st)
		}
		if n := env.Count(t, "audit_log"); n != audits {
			t.Fatalf("audit_log %d -> %d after refused posts", audits, n)
		}
		if n := tg.Calls.Load(); n != 1 {
			t.Fatalf("target called %d times, want 1 (the failed attempt)", n)
		}
	})
}

func TestJobsPagesTenantScope(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		alpha := admintest.MkTenant(t, env, "alpha")
		bravo := admintest.MkTenant(t, env, "bravo")
		tg := admintest.NewTarget(t)
		theirs := deadJob(t, env, bravo.ID, tg)
		waiting := mkJob(t, env, bravo.ID, tg, jobs.PushInput{Delay: "1h"}, "scheduled")
		admintest.MkOperator(t, env, "sam@example.com", auth.RoleSupport, alpha.ID)

		sam := admintest.NewClient(t, env)
		sam.Login("sam@example.com", admintest.Password)
		list := sam.Get("/admin/tenants/alpha/jobs")
		admintest.Want(t, "own tenant's jobs", list, http.StatusOK, "No job matches.")
		tok := sam.CSRF("/admin/tenants/alpha/jobs")
		for _, path := range []string{
			"/admin/tenants/bravo/jobs",
			"/admin/tenants/bravo/jobs?state=dead",
			"/admin/tenants/bravo/jobs/" + theirs.ID,
			"/admin/tenants/" + bravo.ID + "/jobs/" + theirs.ID,
			"/admin/tenants/alpha/jobs/" + theirs.ID, // own tenant in the path, other tenant's job
		} {
			r := sam.Get(path)
			admintest.Want(t, "GET "+path, r, http.StatusNotFound)
			if strings.Contains(r.Body, "app says") {
				t.Fatalf("GET %s shows the other tenant's job", path)
			}
		}
		audits := env.Count(t, "audit_log")
		for _, path := range []string{
			"/admin/tenants/bravo/jobs/" + theirs.ID + "/retry",
			"/admin/tenants/alpha/jobs/" + theirs.ID + "/retry",
			"/admin/tenants/alpha/jobs/" + waiting.ID + "/cancel",
			"/admin/tenants/bravo/jobs/" + waiting.ID + "/cancel",
			"/admin/tenants/bravo/jobs/retry-dead",
		} {
			admintest.Want(t, "POST "+path, sam.Post(path, url.Values{"csrf": {tok}}), http.StatusNotFound)
		}
		if st := jobState(t, env, bravo.ID, theirs.ID); st != "dead" {
			t.Fatalf("bravo's dead job is %s after refused posts", st)
		}
		if st := jobState(t, env, bravo.ID, waiting.ID); st != "scheduled" {
			t.Fatalf("bravo's scheduled job is %s after refused posts", st)
		}
		if n := env.Count(t, "audit_log"); n != audits {
			t.Fatalf("audit_log %d -> %d after refused posts", audits, n)
		}
	})
}

func TestJobsBulkRetryDead(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		acme := admintest.MkTenant(t, env, "acme")
		other := admintest.MkTenant(t, env, "other")
		tg := admintest.NewTarget(t)
		dead1 := deadJob(t, env, acme.ID, tg)
		dead2 := deadJob(t, env, acme.ID, tg)
		tg.Status.Store(http.StatusGone) // 410: dead at once, however many attempts are left
		gone := mkJob(t, env, acme.ID, tg, jobs.PushInput{MaxAttempts: 5}, "dead")
		tg.Status.Store(http.StatusOK)
		if gone.DeadReason != "gone" {
			t.Fatalf("410 job's dead reason %q", gone.DeadReason)
		}
		done := mkJob(t, env, acme.ID, tg, jobs.PushInput{}, "completed")
		later := mkJob(t, env, acme.ID, tg, jobs.PushInput{Delay: "1h"}, "scheduled")
		cancelled := mkJob(t, env, acme.ID, tg, jobs.PushInput{Delay: "1h"}, "scheduled")
		if _, err := env.App.Jobs.Cancel(context.Background(), admintest.CLI(), acme.ID, cancelled.ID); err != nil {
			t.Fatal(err)
		}
		otherDead := deadJob(t, env, other.ID, tg)
		calls := tg.Calls.Load()

		c := admintest.NewClient(t, env)
		c.LoginOwner()
		list := c.Get("/admin/tenants/acme/jobs?state=dead")
		admintest.Want(t, "dead list", list, http.StatusOK, dead1.ID, dead2.ID, gone.ID, `id="state-dead" aria-current="page">3<`,
			`id="state-completed">1<`, `id="state-scheduled">1<`, `id="state-cancelled">1<`, `id="state-all">6<`, "Retry all dead jobs")
		for _, id := range []string{done.ID, later.ID, cancelled.ID, otherDead.ID} {
			if strings.Contains(list.Body, id) {
				t.Fatalf("the dead list shows job %s", id)
			}
		}
		tok := c.CSRF("/admin/tenants/acme/jobs")

		// A filter that matches no dead job retries nothing.
		r := c.Post("/admin/tenants/acme/jobs/retry-dead", url.Values{"csrf": {tok}, "kind": {"noop"}})
		if r.Status != http.StatusSeeOther || !strings.Contains(r.Location, "state=dead") {
			t.Fatalf("bulk retry (kind noop): %d %q\n%s", r.Status, r.Location, r.Body)
		}
		admintest.Want(t, "after empty bulk", c.Get(r.Location), http.StatusOK, "0 dead jobs were queued to run again.")
		if got := admintest.AuditTargets(t, env, "job.retry"); len(got) != 0 {
			t.Fatalf("bulk retry of kind noop audited %v", got)
		}

		// The dead ones of the default queue, exactly.
		r = c.Post("/admin/tenants/acme/jobs/retry-dead", url.Values{"csrf": {tok}, "queue": {"default"}, "kind": {"http_push"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("bulk retry: %d\n%s", r.Status, r.Body)
		}
		admintest.Want(t, "after bulk", c.Get(r.Location), http.StatusOK, "3 dead jobs were queued to run again.")
		wantIDs := []string{dead1.ID, dead2.ID, gone.ID}
		slices.Sort(wantIDs)
		if got := admintest.AuditTargets(t, env, "job.retry"); !slices.Equal(got, wantIDs) {
			t.Fatalf("job.retry audited for %v, want %v", got, wantIDs)
		}
		for _, id := range wantIDs {
			if j := waitJob(t, env, acme.ID, id, "completed"); j.DeadReason != "" || j.Attempts[len(j.Attempts)-1].Status != 200 {
				t.Fatalf("retried job %s: dead reason %q, attempts %+v", id, j.DeadReason, j.Attempts)
			}
		}
		if n := tg.Calls.Load() - calls; n != 3 {
			t.Fatalf("target called %d more times, want 3", n)
		}
		for id, st := range map[string]string{done.ID: "completed", later.ID: "scheduled", cancelled.ID: "cancelled"} {
			if got := jobState(t, env, acme.ID, id); got != st {
				t.Fatalf("job %s is %s after the bulk retry, want %s", id, got, st)
			}
		}
		if got := jobState(t, env, other.ID, otherDead.ID); got != "dead" {
			t.Fatalf("the other tenant's dead job is %s after acme's bulk retry", got)
		}
		admintest.Want(t, "audit log", c.Get("/admin/audit?action=job.retry&tenant=acme"), http.StatusOK, dead1.ID, dead2.ID, gone.ID)

		// One job: cancel the scheduled one; a finished job cannot be
		// cancelled, and the page says why.
		admintest.Want(t, "scheduled job page", c.Get("/admin/tenants/acme/jobs/"+later.ID), http.StatusOK, `id="job-cancel"`, "Run now")
		r = c.Post("/admin/tenants/acme/jobs/"+later.ID+"/cancel", url.Values{"csrf": {tok}})
		if r.Status != http.StatusSeeOther || r.Location != "/admin/tenants/acme/jobs/"+later.ID+"?flash=job_cancelled" {
			t.Fatalf("cancel: %d %q\n%s", r.Status, r.Location, r.Body)
		}
		admintest.Want(t, "after cancel", c.Get(r.Location), http.StatusOK, "The job was cancelled.", `id="job-state">cancelled<`)
		if got := admintest.AuditTargets(t, env, "job.cancel"); !slices.Contains(got, later.ID) {
			t.Fatalf("job.cancel audited for %v", got)
		}
		admintest.Want(t, "cancel a completed job", c.Post("/admin/tenants/acme/jobs/"+done.ID+"/cancel", url.Values{"csrf": {tok}}),
			http.StatusConflict, "is already completed", `id="attempts"`)
	})
}
