package billing_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/webhook"
	"github.com/joist-dev/joist/internal/webhook/webhooktest"
)

// TestCustomerAndWebhooksBrowser is an operator's support path in a real
// browser: find a customer by email, see their Stripe subscription on the
// contact page; see why a provider's deliveries are refused (rejected
// requests); find an event by its provider id; bulk-replay the dead
// letters once the app is fixed, and see them delivered.
func TestCustomerAndWebhooksBrowser(t *testing.T) {
	browser := admintest.NewBrowser(t, admintest.Chromium(t))
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		admintest.MkContact(t, env, tn.ID, "user_7", "ann@example.com", "Ann Example")
		if _, _, err := env.App.Webhooks.PutSource(context.Background(), admintest.CLI(), tn.ID, "stripe", webhook.SourceInput{Provider: "stripe",
			Secrets: []webhook.SecretInput{{Secret: stripeSecret}}}); err != nil {
			t.Fatal(err)
		}
		created := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC).Unix()
		deliverStripe(t, env, tn, "stripe", fmt.Sprintf(`{"id":"evt_br_1","object":"event","created":%d,"livemode":true,
			"type":"customer.subscription.created","data":{"object":{"id":"sub_br","object":"subscription","customer":"cus_br","status":"past_due",
			"cancel_at_period_end":false,"metadata":{"joist_contact":"user_7"},"items":{"object":"list","data":[{"id":"si_1","quantity":1,
			"current_period_end":%d,"price":{"id":"price_silver","nickname":"Silver Plan","product":"prod_silver"}}]}}}}`, created, created+30*86400))

		rc := webhooktest.NewReceiver(t, http.StatusGone) // the app refuses: the events die
		webhooktest.MkSource(t, env, tn.ID, "github", rc.URL+"/hooks")
		dead1 := webhooktest.MkEvent(t, env, tn, "github", "br-delivery-1", `{"n":1}`, "dead")
		dead2 := webhooktest.MkEvent(t, env, tn, "github", "br-delivery-2", `{"n":2}`, "dead")
		if st := webhooktest.Deliver(t, env, "acme", "github", "br-forged", `{"n":3}`, "not the secret"); st != http.StatusUnauthorized {
			t.Fatalf("forged delivery: %d", st)
		}

		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		defer cancel()
		admintest.AcceptDialogs(ctx)
		admintest.LoginAs(t, ctx, env, "/admin/tenants", "tenants")

		// Find the customer by email; the contact page shows the subscription.
		admintest.Step(t, ctx, "tenant",
			chromedp.Click(chromedp.CSS(`#tenants a[href="/admin/tenants/acme"]`)),
			chromedp.WaitVisible(chromedp.ID("contact-q")),
			chromedp.SendKeys(chromedp.ID("contact-q"), "ann@example"),
			chromedp.Click(chromedp.ID("contact-search")),
			chromedp.WaitVisible(chromedp.ID("contacts")))
		admintest.Step(t, ctx, "contact",
			chromedp.Click(chromedp.CSS(`#contacts a[href$="/contacts/user_7"]`)),
			chromedp.WaitVisible(chromedp.ID("subscriptions")))
		admintest.Shot(t, ctx, "customer")
		card := admintest.Text(t, ctx, "sub-sub_br")
		for _, f := range []string{"past_due", "Silver Plan", "cus_br", "customer.subscription.created"} {
			if !strings.Contains(card, f) {
				t.Fatalf("subscription card lacks %q:\n%s", f, card)
			}
		}

		// Why the forged delivery was refused.
		admintest.Step(t, ctx, "rejections",
			chromedp.Navigate(env.URL+"/admin/tenants/acme/webhooks"),
			chromedp.WaitVisible(chromedp.ID("sources")),
			chromedp.Click(chromedp.CSS(`#sources a[href$="/webhooks/github/rejections"]`)),
			chromedp.WaitVisible(chromedp.ID("rejections")))
		if got := admintest.Text(t, ctx, "rejections"); !strings.Contains(got, "bad_signature") || !strings.Contains(got, "br-forged") {
			t.Fatalf("rejections:\n%s", got)
		}

		// Search events by the provider's delivery id.
		admintest.Step(t, ctx, "search",
			chromedp.Navigate(env.URL+"/admin/tenants/acme/webhooks/events"),
			chromedp.WaitVisible(chromedp.ID("event-filters")),
			chromedp.SendKeys(chromedp.CSS(`#event-filters input[name="id"]`), "br-delivery-2"),
			chromedp.Submit(chromedp.CSS(`#event-filters input[name="id"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#event-filters input[name="id"][value="br-delivery-2"]`)))
		if got := admintest.Text(t, ctx, "events"); !strings.Contains(got, dead2.ID) || strings.Contains(got, dead1.ID) {
			t.Fatalf("search by delivery id:\n%s", got)
		}

		// The app is fixed: replay every dead letter at once.
		rc.Status.Store(http.StatusOK)
		admintest.Step(t, ctx, "dead letters",
			chromedp.Navigate(env.URL+"/admin/tenants/acme/webhooks/events?status=dead"),
			chromedp.WaitVisible(chromedp.CSS(`#status-dead[aria-current=page]`)))
		if got := admintest.Text(t, ctx, "events"); !strings.Contains(got, dead1.ID) || !strings.Contains(got, dead2.ID) {
			t.Fatalf("dead letters:\n%s", got)
		}
		admintest.Step(t, ctx, "bulk replay",
			chromedp.Click(chromedp.ID("replay-many-button")),
			chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
		if got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.flash"))); err != nil || !strings.Contains(got, "2 events were queued") {
			t.Fatalf("flash after the bulk replay: %q (%v)", got, err)
		}
		webhooktest.WaitEvent(t, env, tn.ID, dead1.ID, "delivered")
		webhooktest.WaitEvent(t, env, tn.ID, dead2.ID, "delivered")
		admintest.Step(t, ctx, "dead letters again",
			chromedp.Navigate(env.URL+"/admin/tenants/acme/webhooks/events?status=dead"),
			chromedp.WaitVisible(chromedp.ID("events")))
		if got := admintest.Text(t, ctx, "events"); strings.Contains(got, dead1.ID) || strings.Contains(got, dead2.ID) {
			t.Fatalf("dead letters after the replay:\n%s", got)
		}
	})
}
