package billing_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/contacts"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/internal/webhook"
)

// put sends a PUT with the root key, on tenant ("" = the instance).
func (h *harness) put(tenant, path, body string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest("PUT", h.env.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+h.env.RootKey)
	req.Header.Set("Content-Type", "application/json")
	if tenant != "" {
		req.Header.Set("Joist-Tenant", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stripeJob returns the stripe_event job carrying correlation id corr (the
// event's), once it is in one of the states, with its attempts.
func (h *harness) stripeJob(corr string, states ...string) jobs.Job {
	h.t.Helper()
	var full jobs.Job
	testutil.Eventually(h.t, 30*time.Second, func() error {
		list, _, err := h.env.App.Jobs.List(context.Background(), root, h.jobsOf, store.Page{Limit: 500}, jobs.Filter{Kind: "stripe_event"})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, j := range list {
			if j.CorrelationID == corr && (len(states) == 0 || contains(states, j.State)) {
				if full, err = h.env.App.Jobs.Get(context.Background(), root, h.jobsOf, j.ID); err != nil {
					h.t.Fatal(err)
				}
				return nil
			}
		}
		return fmt.Errorf("no stripe_event job of %s in %v: %+v", corr, states, list)
	})
	return full
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestStripeInstanceRouting: one Stripe account bills every tenant through
// an instance source; each event applies to the tenant its customer is
// routed to (joist_tenant metadata, or an explicit route), never to the
// instance, and an event no route names waits (retries) until routed.
func TestStripeInstanceRouting(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		h := newHarness(t, env)
		globex, err := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "globex"})
		if err != nil {
			t.Fatal(err)
		}
		name := "Gil"
		if _, _, err := env.App.Contacts.Upsert(ctx, root, globex.ID, "g_1", contacts.Input{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.App.Webhooks.PutSource(ctx, root, store.InstanceTenantID, "stripe", webhook.SourceInput{Provider: "stripe",
			Secrets: []webhook.SecretInput{{Secret: secret}}}); err != nil {
			t.Fatal(err)
		}
		h.ingest, h.jobsOf = "/in/_/stripe", store.InstanceTenantID

		// The customer's metadata names the tenant (by slug) and the contact:
		// the route is learned, and later events naming only cus_1 follow it.
		h.deliver(fmt.Sprintf(`{"id":"evt_i1","object":"event","created":%d,"livemode":true,"type":"customer.created",
			"data":{"object":{"id":"cus_1","object":"customer","metadata":{"joist_tenant":"acme","joist_contact":"user_1"}}}}`, t0-10), "")
		h.deliver(subEvent("evt_i2", "customer.subscription.created", t0, true, "sub_1", "cus_1", "active", true, ""), "corr-i2")
		v := h.sub("sub_1", "")
		if v.Status != "active" || v.Contact != "user_1" || len(v.History) != 1 || v.History[0].CorrelationID != "corr-i2" {
			t.Fatalf("routed by customer metadata: %+v", v)
		}
		if st := h.getAs("globex", "/v1/subscriptions/sub_1", nil); st != 404 {
			t.Fatalf("acme's subscription visible on globex: %d", st)
		}
		var tl struct {
			Data []struct {
				Kind          string
				CorrelationID string `json:"correlation_id"`
			}
		}
		h.get("/v1/contacts/user_1/timeline", &tl)
		if len(tl.Data) == 0 || tl.Data[0].Kind != "billing.subscription_created" || tl.Data[0].CorrelationID != "corr-i2" {
			t.Fatalf("user_1's timeline: %+v", tl.Data)
		}
		if n := env.Count(t, "subscriptions"); n != 1 {
			t.Fatalf("%d subscription rows, want 1 (nothing on the instance)", n)
		}

		// Subscription metadata naming the tenant by id routes too.
		h.deliver(subEvent("evt_i3", "customer.subscription.created", t0, true, "sub_2", "cus_2", "trialing", false,
			`,"metadata":{"joist_tenant":"`+globex.ID+`","joist_contact":"g_1"}`), "")
		if v := h.subOn("globex", "sub_2"); v.Status != "trialing" || v.Contact != "g_1" {
			t.Fatalf("routed by subscription metadata: %+v", v)
		}

		// A tenant that does not exist (or the instance itself): not applied anywhere.
		for i, tn := range []string{"nope", "_"} {
			h.deliver(subEvent(fmt.Sprintf("evt_bad%d", i), "customer.subscription.created", t0, true, "sub_bad", "cus_bad", "active", true,
				`,"metadata":{"joist_tenant":"`+tn+`"}`), "")
		}
		if n := env.Count(t, "subscriptions"); n != 2 {
			t.Fatalf("an event naming no real tenant was applied: %d subscriptions", n)
		}

		// No route and no metadata: the job retries with a clear error, and
		// applies once the customer is routed (explicit route + contact).
		h.post(subEvent("evt_i4", "customer.subscription.updated", t0+5, true, "sub_3", "cus_3", "past_due", true, ""), "corr-i4")
		j := h.stripeJob("corr-i4", "retrying")
		if len(j.Attempts) == 0 || !strings.Contains(j.Attempts[0].Error, "cus_3 is not routed to a tenant") ||
			!strings.Contains(j.Attempts[0].Error, "joist_tenant") {
			t.Fatalf("unrouted job's attempts: %+v", j.Attempts)
		}
		if st, body := h.put("", "/v1/billing/customers/cus_3", `{"tenant":"globex","contact":"g_1"}`); st != 201 ||
			!strings.Contains(body, `"tenant":"globex"`) || !strings.Contains(body, `"contact":"g_1"`) || !strings.Contains(body, `"link_source":"api"`) {
			t.Fatalf("route cus_3: %d %s", st, body)
		}
		var got struct {
			Tenant, Contact string
			LinkSource      string `json:"link_source"`
		}
		if st := h.getAs("", "/v1/billing/customers/cus_3", &got); st != 200 || got.Tenant != "globex" || got.LinkSource != "api" {
			t.Fatalf("GET the route of cus_3: %d %+v", st, got)
		}
		got.Tenant, got.Contact, got.LinkSource = "", "", ""
		if st := h.getAs("globex", "/v1/billing/customers/cus_3", &got); st != 200 || got.Contact != "g_1" || got.Tenant != "" {
			t.Fatalf("GET globex's link of cus_3: %d %+v", st, got)
		}
		got.Tenant, got.Contact, got.LinkSource = "", "", ""
		if st := h.getAs("", "/v1/billing/customers/cus_1", &got); st != 200 || got.Tenant != "acme" || got.LinkSource != "metadata" {
			t.Fatalf("GET the learned route of cus_1: %d %+v", st, got)
		}
		if st := h.getAs("", "/v1/billing/customers/cus_404", nil); st != 404 {
			t.Fatalf("GET an unrouted customer: %d", st)
		}
		// Retry it now rather than after its backoff (unless River's own
		// retry got there first: a running job cannot be retried).
		testutil.Eventually(t, 30*time.Second, func() error {
			cur, err := env.App.Jobs.Get(ctx, root, store.InstanceTenantID, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if cur.State == "completed" {
				return nil
			}
			if cur.State == "retrying" || cur.State == "dead" {
				_, _ = env.App.Jobs.Retry(ctx, root, store.InstanceTenantID, j.ID)
			}
			return fmt.Errorf("the routed job did not complete: %+v", cur)
		})
		if v := h.subOn("globex", "sub_3"); v.Status != "past_due" || v.Contact != "g_1" {
			t.Fatalf("after routing cus_3: %+v", v)
		}

		// An explicit route wins over joist_tenant metadata, and is never replaced by it.
		if st, body := h.put("", "/v1/billing/customers/cus_1", `{"tenant":"globex"}`); st != 200 || !strings.Contains(body, `"tenant":"globex"`) {
			t.Fatalf("re-route cus_1: %d %s", st, body)
		}
		h.deliver(subEvent("evt_i5", "customer.subscription.updated", t0+20, true, "sub_1", "cus_1", "canceled", true,
			`,"metadata":{"joist_tenant":"acme"}`), "")
		if v := h.subOn("globex", "sub_1"); v.Status != "canceled" {
			t.Fatalf("explicit route not followed: %+v", v)
		}
		if v := h.sub("sub_1", ""); v.Status != "active" {
			t.Fatalf("metadata beat the explicit route: %+v", v)
		}

		// A customer event without joist_tenant has nothing to apply: it
		// completes (no retries), and changes nothing.
		h.deliver(fmt.Sprintf(`{"id":"evt_i6","object":"event","created":%d,"livemode":true,"type":"customer.updated",
			"data":{"object":{"id":"cus_9","object":"customer","metadata":{}}}}`, t0), "")

		// Bad route requests say what is wrong, and store nothing.
		routes, audits := env.Count(t, "billing_routes"), env.Count(t, "audit_log")
		for _, c := range []struct {
			path, body string
			status     int
			code       string
		}{
			{"/v1/billing/customers/cus_4", `{}`, 400, "missing_tenant"},
			{"/v1/billing/customers/cus_4", `{"tenant":"nope"}`, 404, "not_found"},
			{"/v1/billing/customers/cus_4", `{"tenant":"_"}`, 404, "not_found"},
			{"/v1/billing/customers/nope", `{"tenant":"acme"}`, 400, "invalid_customer"},
			{"/v1/billing/customers/cus_4", `{"tenant":"acme","contact":"nobody"}`, 404, "not_found"},
			{"/v1/billing/customers/cus_4", `{"tenant":"acme","plan":"x"}`, 400, "unknown_field"},
		} {
			st, body := h.put("", c.path, c.body)
			if st != c.status || !strings.Contains(body, `"code":"`+c.code+`"`) {
				t.Errorf("PUT %s %s: %d %s, want %d %s", c.path, c.body, st, body, c.status, c.code)
			}
		}
		if st, body := h.put("acme", "/v1/billing/customers/cus_4", `{"tenant":"globex","contact":"user_1"}`); st != 400 || !strings.Contains(body, "invalid_tenant") {
			t.Errorf("a tenant routing to another: %d %s", st, body)
		}
		if st, body := h.put("acme", "/v1/billing/customers/cus_4", `{"tenant":"acme"}`); st != 400 || !strings.Contains(body, "missing_contact") {
			t.Errorf("a tenant link without a contact: %d %s", st, body)
		}
		if env.Count(t, "billing_routes") != routes || env.Count(t, "audit_log") != audits {
			t.Fatal("a refused route request stored something")
		}
		// Metrics count each outcome (the unrouted attempt, the refused
		// tenants, the applied changes).
		resp, err := http.Get(env.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		mb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`joist_billing_events_total{result="unrouted"}`, `joist_billing_events_total{result="refused"} 2`,
			`joist_billing_events_total{result="applied"}`} {
			if !strings.Contains(string(mb), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		// Only the root key routes.
		owner := auth.Actor{Type: auth.ActorOperator, ID: "op_scoped", Role: auth.RoleOwner, TenantIDs: []string{h.tn.ID, globex.ID}}
		_, _, err = env.App.Billing.RouteCustomer(ctx, owner, "cus_4", "acme", "")
		if !errors.Is(err, core.ErrForbidden) {
			t.Fatalf("an operator scoped to tenants routed a customer: %v", err)
		}
	})
}

func (h *harness) subOn(tenant, id string) subView {
	h.t.Helper()
	var v subView
	if st := h.getAs(tenant, "/v1/subscriptions/"+id, &v); st != 200 {
		h.t.Fatalf("GET %s's subscription %s: %d", tenant, id, st)
	}
	return v
}
