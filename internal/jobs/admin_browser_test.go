package jobs_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/testutil"
)

// TestJobsBrowser is the dead-letter path in a real browser: find the dead
// job, see why it failed, retry it, see it complete and see the audit entry.
// One Chromium serves both stores, each in its own browser context.
func TestJobsBrowser(t *testing.T) {
	browser := admintest.NewBrowser(t, admintest.Chromium(t))
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		tg := admintest.NewTarget(t)
		done := mkJob(t, env, tn.ID, tg, jobs.PushInput{URL: tg.URL + "/fine"}, "completed")
		dead := deadJob(t, env, tn.ID, tg)
		tg.Status.Store(http.StatusInternalServerError) // until the operator has seen the failure

		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer cancel()
		admintest.LoginAs(t, ctx, env, "/admin/tenants/acme", "tenant-jobs")

		// The tenant's jobs, then only the dead ones.
		admintest.Step(t, ctx, "jobs",
			chromedp.Click(chromedp.ID("tenant-jobs")),
			chromedp.WaitVisible(chromedp.ID("job-counts")))
		if got := admintest.Text(t, ctx, "jobs"); !strings.Contains(got, dead.ID) || !strings.Contains(got, done.ID) {
			t.Fatalf("all jobs:\n%s", got)
		}
		admintest.Step(t, ctx, "dead jobs",
			chromedp.Click(chromedp.ID("state-dead")),
			// Only the filtered page marks dead as chosen.
			chromedp.WaitReady(chromedp.CSS(`#job-filters select[name=state] option[value=dead][selected]`)),
			chromedp.WaitVisible(chromedp.ID("retry-dead")))
		if got := admintest.Text(t, ctx, "jobs"); !strings.Contains(got, dead.ID) || strings.Contains(got, done.ID) || !strings.Contains(got, "dead") {
			t.Fatalf("dead jobs:\n%s", got)
		}

		// Open it: the failed attempt says why.
		admintest.Step(t, ctx, "dead job",
			chromedp.Click(chromedp.CSS(`#jobs a[href$="/jobs/`+dead.ID+`"]`)),
			chromedp.WaitVisible(chromedp.ID("attempts")))
		if got := admintest.Text(t, ctx, "job-state"); got != "dead" {
			t.Fatalf("job page shows state %q, want dead", got)
		}
		if got := admintest.Text(t, ctx, "attempts"); !strings.Contains(got, "500") || !strings.Contains(got, "target answered 500") ||
			!strings.Contains(got, "app says Internal Server Error") {
			t.Fatalf("attempts of the dead job:\n%s", got)
		}

		// The app is fixed; retry, and reload until the job has completed.
		tg.Status.Store(http.StatusOK)
		admintest.Step(t, ctx, "retry",
			chromedp.Click(chromedp.ID("job-retry")),
			chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
		if got := admintest.Text(t, ctx, "job-state"); got == "dead" {
			t.Fatal("the job is still dead right after the retry")
		}
		testutil.Eventually(t, 30*time.Second, func() error {
			if got := admintest.Text(t, ctx, "job-state"); got != "completed" {
				admintest.Step(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("job-state")))
				return fmt.Errorf("job page shows %q after the retry", got)
			}
			return nil
		})
		admintest.Shot(t, ctx, "completed")
		if got := admintest.Text(t, ctx, "attempts"); !strings.Contains(got, "200") {
			t.Fatalf("attempts after the retry:\n%s", got)
		}
		if html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main"))); strings.Contains(html, `id="job-cancel"`) {
			t.Fatal("a completed job offers Cancel")
		}

		// The audit log has the retry, by the owner.
		admintest.Step(t, ctx, "audit",
			chromedp.Click(chromedp.ID("job-audit")),
			chromedp.WaitVisible(chromedp.ID("audit")))
		if got := admintest.Text(t, ctx, "audit"); !strings.Contains(got, "job.retry") || !strings.Contains(got, env.OwnerEmail) || !strings.Contains(got, dead.ID) {
			t.Fatalf("audit log of the job:\n%s", got)
		}
	})
}
