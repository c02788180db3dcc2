package billing_test

import (
	"context"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// TestStripeSourceBillingOff: billing is on by default for a stripe
// source and can be turned off ("billing": false): its events are stored
// (and forwarded) but change no billing state. Only a stripe source has
// the setting.
func TestStripeSourceBillingOff(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		h := newHarness(t, env)
		var src struct{ Billing bool }
		if st := h.get("/v1/webhook-sources/stripe", &src); st != 200 || !src.Billing {
			t.Fatalf("a stripe source's billing is on by default: %d %+v", st, src)
		}
		if st, body := h.put("acme", "/v1/webhook-sources/stripe-raw", `{"provider":"stripe","secrets":[{"secret":"`+secret+`"}],"billing":false}`); st != 201 ||
			!strings.Contains(body, `"billing":false`) {
			t.Fatalf("billing off: %d %s", st, body)
		}
		h.ingest = "/in/acme/stripe-raw"
		id, _ := h.post(subEvent("evt_raw", "customer.subscription.created", t0, true, "sub_raw", "cus_raw", "active", true, ""), "")
		ev, err := env.App.Webhooks.GetEvent(context.Background(), root, h.tn.ID, id)
		if err != nil || ev.ProviderEventID != "evt_raw" {
			t.Fatalf("the event is stored: %+v %v", ev, err)
		}
		list, _, err := env.App.Jobs.List(context.Background(), root, h.tn.ID, store.Page{Limit: 10}, jobs.Filter{Kind: "stripe_event"})
		if err != nil || len(list) != 0 {
			t.Fatalf("a billing job for a source with billing off: %v %+v", err, list)
		}
		if st := h.get("/v1/subscriptions/sub_raw", nil); st != 404 {
			t.Fatalf("billing state from a source with billing off: %d", st)
		}
		sources := env.Count(t, "webhook_sources")
		if st, body := h.put("acme", "/v1/webhook-sources/gh", `{"provider":"github","secrets":[{"secret":"x"}],"billing":true}`); st != 400 ||
			!strings.Contains(body, "invalid_billing") {
			t.Fatalf("billing on a github source: %d %s", st, body)
		}
		if env.Count(t, "webhook_sources") != sources {
			t.Fatal("a refused source was stored")
		}
	})
}
