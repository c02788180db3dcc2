package webhook_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/internal/webhook/webhooktest"
)

// TestWebhooksBrowser is the inbound webhooks path in a real browser: the
// source's ingest URL with its copy button, the dead letters, a dead
// event's headers, body and failed attempt, Replay, the event delivered,
// the audit entry. One Chromium serves both stores, each in its own
// browser context.
func TestWebhooksBrowser(t *testing.T) {
	browser := admintest.NewBrowser(t, admintest.Chromium(t))
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		rc := webhooktest.NewReceiver(t, http.StatusGone) // the app refuses it: the event dies
		src := webhooktest.MkSource(t, env, tn.ID, "github", rc.URL+"/hooks")
		dead := webhooktest.MkEvent(t, env, tn, "github", "browser-1", `{"ref":"refs/heads/main","pusher":"grace"}`, "dead")

		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer cancel()
		admintest.LoginAs(t, ctx, env, "/admin/tenants/acme", "tenant-webhooks")

		// The sources: the ingest URL as text, with a copy button.
		admintest.Step(t, ctx, "webhooks",
			chromedp.Click(chromedp.ID("tenant-webhooks")),
			chromedp.WaitVisible(chromedp.ID("sources")))
		if got := strings.TrimSpace(admintest.Text(t, ctx, "ingest-0")); got != src.IngestURL {
			t.Fatalf("ingest URL shown %q, want %q", got, src.IngestURL)
		}
		if got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#sources button[data-copy="ingest-0"]`))); err != nil || got != "Copy" {
			t.Fatalf("copy button %q (err %v)", got, err)
		}

		// The dead letters list the event; open it.
		admintest.Step(t, ctx, "dead letters",
			chromedp.Click(chromedp.ID("webhook-dead")),
			chromedp.WaitVisible(chromedp.CSS(`#status-dead[aria-current=page]`)))
		if got := admintest.Text(t, ctx, "events"); !strings.Contains(got, dead.ID) || !strings.Contains(got, "browser-1") {
			t.Fatalf("dead letters:\n%s", got)
		}
		admintest.Step(t, ctx, "dead event",
			chromedp.Click(chromedp.CSS(`#events a[href$="/webhooks/events/`+dead.ID+`"]`)),
			chromedp.WaitVisible(chromedp.ID("event-body")))
		if got := admintest.Text(t, ctx, "event-status"); got != "dead" {
			t.Fatalf("event page shows status %q, want dead", got)
		}
		if got := admintest.Text(t, ctx, "event-headers"); !strings.Contains(got, "X-Github-Delivery") || !strings.Contains(got, "browser-1") {
			t.Fatalf("headers:\n%s", got)
		}
		if got := admintest.Text(t, ctx, "event-body"); !strings.Contains(got, `"pusher":"grace"`) {
			t.Fatalf("body:\n%s", got)
		}
		if got := admintest.Text(t, ctx, "event-verification"); !strings.Contains(got, "verified") {
			t.Fatalf("verification: %q", got)
		}
		if got := admintest.Text(t, ctx, "attempts"); !strings.Contains(got, "410") || !strings.Contains(got, "receiver says Gone") {
			t.Fatalf("attempts of the dead event:\n%s", got)
		}

		// The app is fixed; replay, and reload until the event is delivered.
		rc.Status.Store(http.StatusOK)
		admintest.Step(t, ctx, "replay",
			chromedp.Click(chromedp.ID("event-replay")),
			chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
		testutil.Eventually(t, 20*time.Second, func() error {
			if got := admintest.Text(t, ctx, "event-status"); got != "delivered" {
				admintest.Step(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("event-status")))
				return fmt.Errorf("event page shows %q after the replay", got)
			}
			return nil
		})
		admintest.Shot(t, ctx, "delivered")
		if got := admintest.Text(t, ctx, "attempts"); !strings.Contains(got, "200") || !strings.Contains(got, "receiver says OK") {
			t.Fatalf("attempts after the replay:\n%s", got)
		}
		if ids := rc.WebhookIDs(); len(ids) != 2 || ids[0] != dead.ID || ids[1] != dead.ID {
			t.Fatalf("webhook-ids received %v, want the event id twice", ids)
		}

		// The audit log has the replay, by the owner.
		admintest.Step(t, ctx, "audit",
			chromedp.Click(chromedp.ID("event-audit")),
			chromedp.WaitVisible(chromedp.ID("audit")))
		if got := admintest.Text(t, ctx, "audit"); !strings.Contains(got, "webhook_event.replay") || !strings.Contains(got, env.OwnerEmail) || !strings.Contains(got, dead.ID) {
			t.Fatalf("audit log of the event:\n%s", got)
		}
	})
}
