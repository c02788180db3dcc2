package admin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/testutil"
)

// TestJobsBrowser is the dead-letter path in a real browser: find the dead
// job, see why it failed, retry it, see it complete and see the audit entry.
// One Chromium serves both stores, each in its own browser context.
func TestJobsBrowser(t *testing.T) {
	browser := newBrowser(t, chromium(t))
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := mkTenant(t, env, "acme")
		tg := newTarget(t)
		done := mkJob(t, env, tn.ID, tg, jobs.PushInput{URL: tg.URL + "/fine"}, "completed")
		dead := deadJob(t, env, tn.ID, tg)
		tg.status.Store(http.StatusInternalServerError) // until the operator has seen the failure

		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer cancel()
		loginAs(t, ctx, env, "/admin/tenants/acme", "tenant-jobs")

		// The tenant's jobs, then only the dead ones.
		step(t, ctx, "jobs",
			chromedp.Click(chromedp.ID("tenant-jobs")),
			chromedp.WaitVisible(chromedp.ID("job-counts")))
		if got := text(t, ctx, "jobs"); !strings.Contains(got, dead.ID) || !strings.Contains(got, done.ID) {
			t.Fatalf("all jobs:\n%s", got)
		}
		step(t, ctx, "dead jobs",
			chromedp.Click(chromedp.ID("state-dead")),
			// Only the filtered page marks dead as chosen.
			chromedp.WaitReady(chromedp.CSS(`#job-filters select[name=state] option[value=dead][selected]`)),
			chromedp.WaitVisible(chromedp.ID("retry-dead")))
		if got := text(t, ctx, "jobs"); !strings.Contains(got, dead.ID) || strings.Contains(got, done.ID) || !strings.Contains(got, "dead") {
			t.Fatalf("dead jobs:\n%s", got)
		}

		// Open it: the failed attempt says why.
		step(t, ctx, "dead job",
			chromedp.Click(chromedp.CSS(`#jobs a[href$="/jobs/`+dead.ID+`"]`)),
			chromedp.WaitVisible(chromedp.ID("attempts")))
		if got := text(t, ctx, "job-state"); got != "dead" {
			t.Fatalf("job page shows state %q, want dead", got)
		}
		if got := text(t, ctx, "attempts"); !strings.Contains(got, "500") || !strings.Contains(got, "target answered 500") ||
			!strings.Contains(got, "app says Internal Server Error") {
			t.Fatalf("attempts of the dead job:\n%s", got)
		}

		// The app is fixed; retry, and reload until the job has completed.
		tg.status.Store(http.StatusOK)
		step(t, ctx, "retry",
			chromedp.Click(chromedp.ID("job-retry")),
			chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
		if got := text(t, ctx, "job-state"); got == "dead" {
			t.Fatal("the job is still dead right after the retry")
		}
		testutil.Eventually(t, 30*time.Second, func() error {
			if got := text(t, ctx, "job-state"); got != "completed" {
				step(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("job-state")))
				return fmt.Errorf("job page shows %q after the retry", got)
			}
			return nil
		})
		shot(t, ctx, "completed")
		if got := text(t, ctx, "attempts"); !strings.Contains(got, "200") {
			t.Fatalf("attempts after the retry:\n%s", got)
		}
		if html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main"))); strings.Contains(html, `id="job-cancel"`) {
			t.Fatal("a completed job offers Cancel")
		}

		// The audit log has the retry, by the owner.
		step(t, ctx, "audit",
			chromedp.Click(chromedp.ID("job-audit")),
			chromedp.WaitVisible(chromedp.ID("audit")))
		if got := text(t, ctx, "audit"); !strings.Contains(got, "job.retry") || !strings.Contains(got, env.OwnerEmail) || !strings.Contains(got, dead.ID) {
			t.Fatalf("audit log of the job:\n%s", got)
		}
	})
}
