package billing_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v82/webhook"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/internal/webhook"
)

const stripeSecret = "whsec_admin_billing_test_0123456789"

// deliverStripe signs body as Stripe does (stripe-go's test helper), posts
// it to the tenant's source and waits (bounded) for every stripe_event job
// of the tenant to complete.
func deliverStripe(t *testing.T, env *apptest.Env, tn store.Tenant, source, body string) {
	t.Helper()
	p := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: []byte(body), Secret: stripeSecret})
	req, err := http.NewRequest(http.MethodPost, env.URL+"/in/"+tn.Slug+"/"+source, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", p.Header)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("stripe delivery: status %d", res.StatusCode)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		list, _, err := env.App.Jobs.List(context.Background(), admintest.CLI(), tn.ID, store.Page{Limit: 500}, jobs.Filter{Kind: "stripe_event"})
		if err != nil {
			t.Fatal(err)
		}
		done := len(list) > 0
		for _, j := range list {
			if j.State == "dead" {
				t.Fatalf("stripe_event job %s is dead", j.ID)
			}
			if j.State != "completed" {
				done = false
			}
		}
		if !done {
			return fmt.Errorf("stripe_event jobs not done: %+v", list)
		}
		return nil
	})
}

func TestContactPageSubscriptions(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		acme := admintest.MkTenant(t, env, "acme")
		other := admintest.MkTenant(t, env, "other")
		admintest.MkContact(t, env, acme.ID, "user_1", "ann@example.com", "Ann")
		if _, _, err := env.App.Webhooks.PutSource(context.Background(), admintest.CLI(), acme.ID, "stripe", webhook.SourceInput{Provider: "stripe",
			Secrets: []webhook.SecretInput{{Secret: stripeSecret}}}); err != nil {
			t.Fatal(err)
		}
		created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Unix()
		periodEnd := created + 30*86400
		trialEnd := created + 7*86400
		// basil shape (period on the items); the customer names its contact in metadata.
		deliverStripe(t, env, acme, "stripe", fmt.Sprintf(`{"id":"evt_adm_1","object":"event","api_version":"2025-03-31.basil","created":%d,
			"livemode":true,"type":"customer.subscription.created","data":{"object":{"id":"sub_adm","object":"subscription","customer":"cus_adm",
			"status":"trialing","cancel_at_period_end":true,"trial_end":%d,"metadata":{"joist_contact":"user_1"},
			"items":{"object":"list","data":[{"id":"si_1","object":"subscription_item","quantity":1,"current_period_start":%d,"current_period_end":%d,
			"price":{"id":"price_gold","object":"price","nickname":"Gold Plan","product":"prod_gold"}}]}}}}`, created, trialEnd, created, periodEnd))
		deliverStripe(t, env, acme, "stripe", fmt.Sprintf(`{"id":"evt_adm_2","object":"event","created":%d,"livemode":true,"type":"invoice.paid",
			"data":{"object":{"id":"in_adm","object":"invoice","customer":"cus_adm","subscription":"sub_adm","status":"paid"}}}`, created+60))

		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		r := owner.Get("/admin/tenants/acme/contacts/user_1")
		admintest.Want(t, "contact page", r, http.StatusOK, `id="subscriptions"`, "sub_adm", `<span class="badge ok">trialing</span>`,
			"Gold Plan", "price_gold", "cus_adm", time.Unix(periodEnd, 0).UTC().Format("2006-01-02 15:04:05 UTC"),
			time.Unix(trialEnd, 0).UTC().Format("2006-01-02 15:04:05 UTC"), "evt_adm_1", "customer.subscription.created")
		card := r.Body[strings.Index(r.Body, `id="subscriptions"`):]
		for _, f := range []string{"<dt>Cancel at period end</dt><dd>yes", ">paid</span>", "<dt>Mode</dt><dd>live"} {
			if !strings.Contains(card, f) {
				t.Fatalf("subscriptions card lacks %q:\n%s", f, card)
			}
		}

		admintest.Want(t, "tenant page", owner.Get("/admin/tenants/acme"), http.StatusOK, `id="subscriptions"`, "1 live Stripe subscription",
			`<span class="badge ok">trialing</span> 1`)
		// A failed key creation shows the tenant page again, without the summary.
		tok := owner.CSRF("/admin/tenants/acme")
		r = owner.Post("/admin/tenants/acme/keys", url.Values{"csrf": {tok}, "name": {strings.Repeat("x", 500)}})
		admintest.Want(t, "key form error", r, http.StatusBadRequest, "the limit is 100")
		if strings.Contains(r.Body, `id="subscriptions"`) {
			t.Fatalf("key form error page shows the summary:\n%s", r.Body)
		}

		// A contact with no subscription says so.
		admintest.MkContact(t, env, acme.ID, "user_2", "bob@example.com", "Bob")
		admintest.Want(t, "contact without subscription", owner.Get("/admin/tenants/acme/contacts/user_2"), http.StatusOK,
			"No Stripe subscription is linked to this contact.")

		// An operator of another tenant does not see the contact.
		admintest.MkOperator(t, env, "olga@example.com", auth.RoleSupport, other.ID)
		olga := admintest.NewClient(t, env)
		olga.Login("olga@example.com", admintest.Password)
		for _, path := range []string{"/admin/tenants/acme/contacts/user_1", "/admin/tenants/" + acme.ID + "/contacts/user_1",
			"/admin/tenants/other/contacts/user_1"} {
			r := olga.Get(path)
			admintest.Want(t, "GET "+path, r, http.StatusNotFound)
			if strings.Contains(r.Body, "sub_adm") || strings.Contains(r.Body, "Gold Plan") {
				t.Fatalf("GET %s shows the other tenant's subscription", path)
			}
		}
	})
}
