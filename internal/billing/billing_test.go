package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v82/webhook"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/contacts"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/internal/webhook"
)

var root = auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}

const secret = "whsec_billing_test_secret_0123456789"

type harness struct {
	t      *testing.T
	env    *apptest.Env
	tn     store.Tenant
	ingest string // the Stripe source's ingest path
	jobsOf string // the tenant whose stripe_event jobs wait waits for (the source's)
}

func newHarness(t *testing.T, env *apptest.Env) *harness {
	ctx := context.Background()
	tn, err := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"user_1", "user_2"} {
		name := "Ann " + id
		if _, _, err := env.App.Contacts.Upsert(ctx, root, tn.ID, id, contacts.Input{Name: &name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "stripe", webhook.SourceInput{Provider: "stripe",
		Secrets: []webhook.SecretInput{{Secret: secret}}}); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, env: env, tn: tn, ingest: "/in/acme/stripe", jobsOf: tn.ID}
}

// deliver signs body the way Stripe does (stripe-go's test helper) and
// posts it to the source's ingest URL.
func (h *harness) deliver(body string, corr string) (id string, duplicate bool) {
	h.t.Helper()
	id, duplicate = h.post(body, corr)
	h.wait()
	return id, duplicate
}

// post delivers body without waiting for its job.
func (h *harness) post(body string, corr string) (id string, duplicate bool) {
	h.t.Helper()
	p := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: []byte(body), Secret: secret})
	req, _ := http.NewRequest("POST", h.env.URL+h.ingest, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", p.Header)
	if corr != "" {
		req.Header.Set("Joist-Correlation-Id", corr)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("delivery: %d %s", resp.StatusCode, b)
	}
	var out struct {
		ID        string
		Duplicate bool
	}
	_ = json.Unmarshal(b, &out)
	return out.ID, out.Duplicate
}

// wait returns once every stripe_event job has completed.
func (h *harness) wait() {
	h.t.Helper()
	testutil.Eventually(h.t, 20*time.Second, func() error {
		list, _, err := h.env.App.Jobs.List(context.Background(), root, h.jobsOf, store.Page{Limit: 500}, jobs.Filter{Kind: "stripe_event"})
		if err != nil {
			h.t.Fatal(err)
		}
		done := true
		for _, j := range list {
			if j.State != "completed" {
				done = false
				if j.State == "dead" || j.State == "retryable" {
					h.t.Fatalf("stripe_event job %s is %s", j.ID, j.State)
				}
			}
		}
		if !done {
			return fmt.Errorf("stripe_event jobs not done: %+v", list)
		}
		return nil
	})
}

func (h *harness) get(path string, v any) int {
	h.t.Helper()
	return h.getAs("acme", path, v)
}

// getAs GETs path with the root key on tenant.
func (h *harness) getAs(tenant, path string, v any) int {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.env.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.env.RootKey)
	if tenant != "" { // "": the instance
		req.Header.Set("Joist-Tenant", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			h.t.Fatalf("%s: %v %s", path, err, b)
		}
	}
	return resp.StatusCode
}

type subView struct {
	StripeSubscription string `json:"stripe_subscription"`
	StripeCustomer     string `json:"stripe_customer"`
	Contact            string
	Livemode           bool
	Status             string
	Plan               struct {
		PriceID   string `json:"price_id"`
		ProductID string `json:"product_id"`
		Nickname  string
	}
	CurrentPeriodEnd  *time.Time `json:"current_period_end"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
	TrialEnd          *time.Time `json:"trial_end"`
	PaymentStatus     string     `json:"payment_status"`
	LastEventID       string     `json:"last_event_id"`
	History           []struct {
		StripeEventID string `json:"stripe_event_id"`
		FromStatus    string `json:"from_status"`
		ToStatus      string `json:"to_status"`
		CorrelationID string `json:"correlation_id"`
	}
}

func (h *harness) sub(id string, query string) subView {
	h.t.Helper()
	var v subView
	if st := h.get("/v1/subscriptions/"+id+query, &v); st != 200 {
		h.t.Fatalf("GET subscription %s: %d", id, st)
	}
	return v
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Unix()

// subEvent is a customer.subscription.* event. basil puts the current
// period end on the items (API 2025-03-31 and later); the old shape puts it
// on the subscription.
func subEvent(evtID, typ string, created int64, live bool, subID, customer, status string, basil bool, extra string) string {
	periodEnd := created + 30*86400
	item := fmt.Sprintf(`{"id":"si_1","object":"subscription_item","quantity":1,"price":{"id":"price_pro","object":"price","nickname":"Pro","product":"prod_pro"}%s}`,
		map[bool]string{true: fmt.Sprintf(`,"current_period_start":%d,"current_period_end":%d`, created, periodEnd), false: ""}[basil])
	top := fmt.Sprintf(`"current_period_start":%d,"current_period_end":%d,`, created, periodEnd)
	version := "2024-06-20"
	if basil {
		top, version = "", "2025-03-31.basil"
	}
	return fmt.Sprintf(`{"id":%q,"object":"event","api_version":%q,"created":%d,"livemode":%t,"type":%q,"data":{"object":{"id":%q,"object":"subscription",
		"customer":%q,"status":%q,%s"cancel_at_period_end":false,"trial_end":null,"metadata":{}%s,"items":{"object":"list","data":[%s]}}}}`,
		evtID, version, created, live, typ, subID, customer, status, top, extra, item)
}

func TestStripeBillingState(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		h := newHarness(t, env)
		// The customer names its contact in metadata.
		h.deliver(fmt.Sprintf(`{"id":"evt_cus","object":"event","created":%d,"livemode":true,"type":"customer.created",
			"data":{"object":{"id":"cus_A","object":"customer","metadata":{"joist_contact":"user_1"}}}}`, t0-10), "")

		// Old API shape: period end on the subscription.
		h.deliver(subEvent("evt_1", "customer.subscription.created", t0, true, "sub_A", "cus_A", "incomplete", false, ""), "corr-created")
		v := h.sub("sub_A", "")
		if v.Status != "incomplete" || v.Contact != "user_1" || v.Plan.PriceID != "price_pro" || v.Plan.ProductID != "prod_pro" ||
			v.Plan.Nickname != "Pro" || v.CurrentPeriodEnd == nil || v.CurrentPeriodEnd.Unix() != t0+30*86400 || !v.Livemode {
			t.Fatalf("after created: %+v", v)
		}
		// basil shape: period end on the items; cancel at period end.
		h.deliver(subEvent("evt_2", "customer.subscription.updated", t0+100, true, "sub_A", "cus_A", "active", true, `,"cancel_at_period_end":true`), "corr-updated")
		v = h.sub("sub_A", "")
		if v.Status != "active" || v.CurrentPeriodEnd == nil || v.CurrentPeriodEnd.Unix() != t0+100+30*86400 || !v.CancelAtPeriodEnd || v.LastEventID != "evt_2" {
			t.Fatalf("after updated (basil): %+v", v)
		}

		// An older update arriving late changes nothing.
		h.deliver(subEvent("evt_3", "customer.subscription.updated", t0+50, true, "sub_A", "cus_A", "past_due", false, ""), "")
		if v2 := h.sub("sub_A", ""); v2.Status != "active" || v2.LastEventID != "evt_2" || len(v2.History) != 2 {
			t.Fatalf("an older event changed the state: %+v", v2)
		}
		// A duplicate delivery is not processed again.
		before := env.Count(t, "subscription_changes")
		jobsBefore := env.Count(t, "jobs")
		if _, dup := h.deliver(subEvent("evt_2", "customer.subscription.updated", t0+100, true, "sub_A", "cus_A", "active", true, `,"cancel_at_period_end":true`), ""); !dup {
			t.Fatal("redelivery not reported as a duplicate")
		}
		if env.Count(t, "subscription_changes") != before || env.Count(t, "jobs") != jobsBefore {
			t.Fatal("a duplicate changed something")
		}

		// Test mode never changes live state; it is kept apart.
		h.deliver(subEvent("evt_test", "customer.subscription.deleted", t0+500, false, "sub_A", "cus_A", "canceled", true, ""), "")
		if v2 := h.sub("sub_A", ""); v2.Status != "active" || !v2.Livemode {
			t.Fatalf("a test-mode event changed live state: %+v", v2)
		}
		if tv := h.sub("sub_A", "?livemode=false"); tv.Status != "canceled" || tv.Livemode {
			t.Fatalf("test-mode state: %+v", tv)
		}

		// Invoices (basil: the subscription under parent.subscription_details), out of order too.
		h.deliver(fmt.Sprintf(`{"id":"evt_inv1","object":"event","created":%d,"livemode":true,"type":"invoice.payment_failed","data":{"object":{
			"id":"in_2","object":"invoice","customer":"cus_A","parent":{"type":"subscription_details","subscription_details":{"subscription":"sub_A","metadata":{}}}}}}`, t0+300), "")
		h.deliver(fmt.Sprintf(`{"id":"evt_inv0","object":"event","created":%d,"livemode":true,"type":"invoice.paid","data":{"object":{
			"id":"in_1","object":"invoice","customer":"cus_A","subscription":"sub_A"}}}`, t0+200), "")
		if v2 := h.sub("sub_A", ""); v2.PaymentStatus != "failed" || v2.Status != "active" {
			t.Fatalf("invoices: %+v", v2)
		}
		// A subscription event created before the invoice still applies: payment and state are ordered apart.
		h.deliver(subEvent("evt_4", "customer.subscription.updated", t0+250, true, "sub_A", "cus_A", "past_due", true, ""), "")
		v = h.sub("sub_A", "")
		if v.Status != "past_due" || v.PaymentStatus != "failed" {
			t.Fatalf("after past_due: %+v", v)
		}
		want := []string{"->incomplete", "incomplete->active", "active->active", "active->past_due"}
		if len(v.History) != len(want) {
			t.Fatalf("history: %+v", v.History)
		}
		for i, w := range want {
			if got := v.History[i].FromStatus + "->" + v.History[i].ToStatus; got != w {
				t.Fatalf("history[%d] = %s, want %s (%+v)", i, got, w, v.History)
			}
		}
		if v.History[1].CorrelationID != "corr-updated" {
			t.Fatalf("history correlation: %+v", v.History[1])
		}

		// The contact's timeline shows the changes with the delivery's correlation id.
		var tl struct {
			Data []struct {
				Kind          string
				Summary       string
				CorrelationID string `json:"correlation_id"`
			}
		}
		h.get("/v1/contacts/user_1/timeline?limit=100", &tl)
		kinds := map[string]string{}
		for _, e := range tl.Data {
			if _, ok := kinds[e.Kind]; !ok || e.CorrelationID == "corr-updated" {
				kinds[e.Kind] = e.CorrelationID
			}
			if strings.Contains(e.Summary, "past_due") && strings.Contains(e.Summary, "evt_3") {
				t.Fatalf("the stale event reached the timeline: %+v", e)
			}
		}
		if kinds["billing.subscription_updated"] != "corr-updated" || kinds["billing.subscription_created"] != "corr-created" ||
			kinds["billing.invoice_payment_failed"] == "" {
			t.Fatalf("timeline: %+v", tl.Data)
		}

		// Deleted, then list filters.
		h.deliver(subEvent("evt_5", "customer.subscription.deleted", t0+900, true, "sub_A", "cus_A", "canceled", true, ""), "")
		var l struct{ Data []subView }
		h.get("/v1/subscriptions?status=canceled&contact=user_1", &l)
		if len(l.Data) != 1 || l.Data[0].StripeSubscription != "sub_A" {
			t.Fatalf("list canceled: %+v", l)
		}
		h.get("/v1/subscriptions?status=active", &l)
		if len(l.Data) != 0 {
			t.Fatalf("list active: %+v", l)
		}
	})
}

func TestStripeCustomerLink(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		h := newHarness(t, env)
		ctx := context.Background()
		// No mapping yet: the subscription belongs to the tenant alone.
		h.deliver(subEvent("evt_b1", "customer.subscription.created", t0, true, "sub_B", "cus_B", "trialing", true, `,"trial_end":`+fmt.Sprint(t0+14*86400)), "")
		v := h.sub("sub_B", "")
		if v.Contact != "" || v.Status != "trialing" || v.TrialEnd == nil || v.TrialEnd.Unix() != t0+14*86400 {
			t.Fatalf("unmapped: %+v", v)
		}
		if _, _, err := env.App.Billing.LinkCustomer(ctx, root, h.tn.ID, "cus_B", "nobody"); err == nil {
			t.Fatal("linked to a contact that does not exist")
		}
		if _, _, err := env.App.Billing.LinkCustomer(ctx, root, h.tn.ID, "not a customer", "user_2"); err == nil {
			t.Fatal("linked a malformed customer id")
		}
		l, created, err := env.App.Billing.LinkCustomer(ctx, root, h.tn.ID, "cus_B", "user_2")
		if err != nil || !created || l.ContactExternalID != "user_2" || l.LinkSource != "api" {
			t.Fatalf("link: %+v %v %v", l, created, err)
		}
		if v := h.sub("sub_B", ""); v.Contact != "user_2" {
			t.Fatalf("after link: %+v", v)
		}
		// Metadata never replaces an explicit link.
		h.deliver(subEvent("evt_b2", "customer.subscription.trial_will_end", t0+10*86400, true, "sub_B", "cus_B", "trialing", true,
			`,"trial_end":`+fmt.Sprint(t0+14*86400)+`,"metadata":{"joist_contact":"user_1"}`), "corr-trial")
		if v := h.sub("sub_B", ""); v.Contact != "user_2" {
			t.Fatalf("metadata replaced the API link: %+v", v)
		}
		var tl struct {
			Data []struct{ Kind, CorrelationID string }
		}
		h.get("/v1/contacts/user_2/timeline", &tl)
		if len(tl.Data) == 0 || tl.Data[0].Kind != "billing.trial_will_end" {
			t.Fatalf("user_2's timeline: %+v", tl.Data)
		}
		// A subscription naming another tenant is not applied.
		h.deliver(subEvent("evt_x", "customer.subscription.created", t0, true, "sub_X", "cus_X", "active", true, `,"metadata":{"joist_tenant":"other"}`), "")
		if st := h.get("/v1/subscriptions/sub_X", nil); st != 404 {
			t.Fatalf("another tenant's subscription was applied: %d", st)
		}
		// Metadata naming an unknown contact creates it (the app's own id).
		h.deliver(subEvent("evt_c1", "customer.subscription.created", t0, true, "sub_C", "cus_C", "active", false, `,"metadata":{"joist_contact":"user_9"}`), "")
		if v := h.sub("sub_C", ""); v.Contact != "user_9" {
			t.Fatalf("metadata contact: %+v", v)
		}
	})
}

// fakeStripe plays Stripe's GET /v1/subscriptions/{id}: the documented
// subscription object, or Stripe's error shape.
type fakeStripe struct {
	mu      sync.Mutex
	subs    map[string]string // id -> subscription JSON
	holds   map[string]*hold  // id -> the next GET of it answers only once released
	fail    int               // answer 500 while > 0 (decremented per call)
	failMsg string            // the 500's error message (JSON string content)
	calls   []string          // "path?query auth"
	server  *httptest.Server
}

func newFakeStripe(t *testing.T) *fakeStripe {
	f := &fakeStripe{subs: map[string]string{}, holds: map[string]*hold{}}
	f.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" "+r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		if f.fail > 0 {
			f.fail--
			w.WriteHeader(500)
			msg := f.failMsg
			if msg == "" {
				msg = "An unknown error occurred"
			}
			fmt.Fprintf(w, `{"error":{"type":"api_error","message":"%s"}}`, msg)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/v1/subscriptions/")
		body, ok := f.subs[id]
		if h := f.holds[id]; h != nil && ok {
			// Answer with the state as it was when the request came, later.
			delete(f.holds, id)
			f.mu.Unlock()
			close(h.arrived)
			<-h.release
			f.mu.Lock()
		}
		if r.Method != "GET" || !ok {
			w.WriteHeader(404)
			fmt.Fprintf(w, `{"error":{"code":"resource_missing","param":"id","message":"No such subscription: '%s'","type":"invalid_request_error"}}`, id)
			return
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(f.server.Close)
	return f
}

// hold is one GET held back: arrived closes when it comes, and it is
// answered once release is closed.
type hold struct {
	arrived, release chan struct{}
	once             sync.Once
}

// free answers the held GET (once; safe to call again).
func (h *hold) free() { h.once.Do(func() { close(h.release) }) }

// holdNext holds back the next GET of subscription id.
func (f *fakeStripe) holdNext(id string) *hold {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := &hold{arrived: make(chan struct{}), release: make(chan struct{})}
	f.holds[id] = h
	return h
}

func (f *fakeStripe) set(id, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[id] = body
}

func (f *fakeStripe) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs, f.holds, f.fail, f.failMsg, f.calls = map[string]string{}, map[string]*hold{}, 0, "", nil
}

func (f *fakeStripe) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// apiSub is a subscription as GET /v1/subscriptions/{id}?expand[]=customer
// returns it, in the basil shape (period on the items) or the old one.
func apiSub(id, customer, contact, status string, periodEnd int64, cancelAtPeriodEnd, basil bool) string {
	itemPeriod, top := "", fmt.Sprintf(`"current_period_start":%d,"current_period_end":%d,`, periodEnd-30*86400, periodEnd)
	if basil {
		itemPeriod, top = fmt.Sprintf(`,"current_period_start":%d,"current_period_end":%d`, periodEnd-30*86400, periodEnd), ""
	}
	return fmt.Sprintf(`{"id":%q,"object":"subscription","customer":{"id":%q,"object":"customer","metadata":{"joist_contact":%q}},
		"status":%q,%s"cancel_at_period_end":%t,"cancel_at":null,"canceled_at":null,"trial_end":null,"livemode":true,"metadata":{},
		"latest_invoice":"in_api","items":{"object":"list","data":[{"id":"si_1","object":"subscription_item","quantity":2%s,
		"price":{"id":"price_team","object":"price","nickname":"Team","product":"prod_team"}}]}}`,
		id, customer, contact, status, top, cancelAtPeriodEnd, itemPeriod)
}

func TestStripeAPIRefetch(t *testing.T) {
	t.Parallel()
	const key = "sk_live_joist_test_key_0123456789"
	fs := newFakeStripe(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		fs.reset()
		h := newHarness(t, env)

		// The API is newer than the (older, late) event: the API's state is stored.
		fs.set("sub_R", apiSub("sub_R", "cus_R", "user_1", "active", t0+40*86400, true, true))
		h.deliver(subEvent("evt_r1", "customer.subscription.created", t0, true, "sub_R", "cus_R", "incomplete", false, ""), "corr-r1")
		v := h.sub("sub_R", "")
		if v.Status != "active" || !v.CancelAtPeriodEnd || v.Contact != "user_1" || v.Plan.PriceID != "price_team" ||
			v.CurrentPeriodEnd == nil || v.CurrentPeriodEnd.Unix() != t0+40*86400 || v.LastEventID != "evt_r1" {
			t.Fatalf("refetched state not applied: %+v", v)
		}
		if len(v.History) != 1 || v.History[0].StripeEventID != "evt_r1" || v.History[0].ToStatus != "active" || v.History[0].CorrelationID != "corr-r1" {
			t.Fatalf("history: %+v", v.History)
		}
		calls := fs.callLog()
		if len(calls) != 1 || calls[0] != "GET /v1/subscriptions/sub_R?expand%5B%5D=customer Bearer "+key {
			t.Fatalf("API calls: %q", calls)
		}

		// An event older than the applied one still applies the API's current state (old shape).
		fs.set("sub_R", apiSub("sub_R", "cus_R", "user_1", "past_due", t0+70*86400, false, false))
		h.deliver(fmt.Sprintf(`{"id":"evt_r0","object":"event","created":%d,"livemode":true,"type":"invoice.payment_failed","data":{"object":{
			"id":"in_r0","object":"invoice","customer":"cus_R","subscription":"sub_R"}}}`, t0-5), "")
		v = h.sub("sub_R", "")
		if v.Status != "past_due" || v.CancelAtPeriodEnd || v.CurrentPeriodEnd.Unix() != t0+70*86400 || v.PaymentStatus != "failed" || v.LastEventID != "evt_r1" {
			t.Fatalf("invoice with refetch: %+v", v)
		}

		// A 500 from the API: the job retries, and succeeds once Stripe recovers.
		fs.mu.Lock()
		fs.fail = 1
		fs.mu.Unlock()
		fs.set("sub_R", apiSub("sub_R", "cus_R", "user_1", "canceled", t0+70*86400, false, true))
		h.post(subEvent("evt_r2", "customer.subscription.updated", t0+10, true, "sub_R", "cus_R", "active", true, ""), "")
		testutil.Eventually(t, 30*time.Second, func() error {
			list, _, err := env.App.Jobs.List(context.Background(), root, h.tn.ID, store.Page{Limit: 500}, jobs.Filter{Kind: "stripe_event"})
			if err != nil {
				t.Fatal(err)
			}
			done, failed := true, false
			for _, j := range list {
				done = done && j.State == "completed"
				failed = failed || j.Attempt > 1
				if j.State == "dead" {
					t.Fatalf("job %s is dead", j.ID)
				}
			}
			if !done || !failed {
				return fmt.Errorf("the job did not retry to completion: %+v", list)
			}
			return nil
		})
		if v = h.sub("sub_R", ""); v.Status != "canceled" || v.LastEventID != "evt_r2" || v.History[len(v.History)-1].StripeEventID != "evt_r2" {
			t.Fatalf("after the retry: %+v", v)
		}

		// 404: the event's object applies (a deletion, or a subscription Stripe no longer knows).
		h.deliver(subEvent("evt_g1", "customer.subscription.deleted", t0, true, "sub_G", "cus_G", "canceled", true, ""), "")
		if v := h.sub("sub_G", ""); v.Status != "canceled" {
			t.Fatalf("404 deletion: %+v", v)
		}
		h.deliver(subEvent("evt_h1", "customer.subscription.updated", t0, true, "sub_H", "cus_H", "trialing", true, ""), "")
		h.deliver(subEvent("evt_h0", "customer.subscription.updated", t0-1, true, "sub_H", "cus_H", "active", true, ""), "")
		if v := h.sub("sub_H", ""); v.Status != "trialing" {
			t.Fatalf("404 keeps event ordering: %+v", v)
		}

		// Two jobs of one subscription commit in the reverse order of their
		// fetches: the state read first (older) never overwrites the later one.
		fs.set("sub_O", apiSub("sub_O", "cus_O", "user_1", "active", t0+30*86400, false, true))
		held := fs.holdNext("sub_O")
		defer held.free() // a failure below must not leave the fake server waiting
		h.post(subEvent("evt_o1", "customer.subscription.updated", t0+1, true, "sub_O", "cus_O", "active", true, ""), "")
		select {
		case <-held.arrived:
		case <-time.After(20 * time.Second):
			t.Fatal("the first job never fetched sub_O")
		}
		fs.set("sub_O", apiSub("sub_O", "cus_O", "user_1", "canceled", t0+30*86400, false, true))
		h.post(subEvent("evt_o2", "customer.subscription.updated", t0+2, true, "sub_O", "cus_O", "canceled", true, ""), "")
		testutil.Eventually(t, 20*time.Second, func() error {
			if h.get("/v1/subscriptions/sub_O", nil) != 200 || h.sub("sub_O", "").Status != "canceled" {
				return errors.New("the second job's state never applied")
			}
			return nil
		})
		held.free()
		h.wait()
		if v := h.sub("sub_O", ""); v.Status != "canceled" || len(v.History) != 1 {
			t.Fatalf("an earlier fetch committed last overwrote the state: %+v", v)
		}

		// A live key never reads test-mode objects: test-mode events apply as sent.
		n := len(fs.callLog())
		h.deliver(subEvent("evt_t1", "customer.subscription.updated", t0, false, "sub_R", "cus_R", "paused", true, ""), "")
		if tv := h.sub("sub_R", "?livemode=false"); tv.Status != "paused" || len(fs.callLog()) != n {
			t.Fatalf("test-mode event with a live key: %+v, %d calls", tv, len(fs.callLog())-n)
		}
	}, func(c *config.Config) {
		c.StripeAPIKey, c.StripeAPIBase = key, fs.server.URL
	})
}

// TestStripeAPIThroughGuardedClient: Stripe's API is called through the
// guarded client of operator destinations: a base URL on a metadata
// address is refused unless the operator names it, and the stripe_event
// job's attempt says why.
func TestStripeAPIThroughGuardedClient(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		h := newHarness(t, env)
		h.post(subEvent("evt_m1", "customer.subscription.updated", t0, true, "sub_M", "cus_M", "active", true, ""), "")
		testutil.Eventually(t, 30*time.Second, func() error {
			list, _, err := env.App.Jobs.List(context.Background(), root, h.tn.ID, store.Page{Limit: 10}, jobs.Filter{Kind: "stripe_event"})
			if err != nil || len(list) != 1 {
				t.Fatalf("jobs: %v %d", err, len(list))
			}
			j, err := env.App.Jobs.Get(context.Background(), root, h.tn.ID, list[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range j.Attempts {
				if strings.Contains(a.Error, `destination "169.254.169.254" refused for operator destinations`) && strings.Contains(a.Error, "JOIST_EGRESS_ALLOW") {
					return nil
				}
			}
			return fmt.Errorf("no attempt names the refusal: %+v", j.Attempts)
		})
	}, func(c *config.Config) {
		c.StripeAPIKey, c.StripeAPIBase = "sk_live_joist_test_key_0123456789", "http://169.254.169.254:1"
	})
}

// TestProviderErrorThatIsNotText: Stripe's API answering an error message
// that holds a NUL byte: the stripe_event job's attempt records it as safe
// text (River keeps errors in jsonb on PostgreSQL, which refuses \u0000)
// and the job retries and then applies, on both stores.
func TestProviderErrorThatIsNotText(t *testing.T) {
	t.Parallel()
	const key = "sk_live_joist_test_key_0123456789"
	fs := newFakeStripe(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		fs.reset()
		fs.mu.Lock()
		fs.fail, fs.failMsg = 1, `bad\u0000news`
		fs.mu.Unlock()
		h := newHarness(t, env)
		fs.set("sub_N", apiSub("sub_N", "cus_N", "user_1", "active", t0+40*86400, false, true))
		h.post(subEvent("evt_n1", "customer.subscription.updated", t0, true, "sub_N", "cus_N", "active", false, ""), "")
		testutil.Eventually(t, 30*time.Second, func() error {
			list, _, err := env.App.Jobs.List(context.Background(), root, h.tn.ID, store.Page{Limit: 10}, jobs.Filter{Kind: "stripe_event"})
			if err != nil || len(list) != 1 {
				return fmt.Errorf("jobs: %v %d", err, len(list))
			}
			j, err := env.App.Jobs.Get(context.Background(), root, h.tn.ID, list[0].ID)
			if err != nil {
				return err
			}
			if j.State != "completed" || len(j.Attempts) == 0 {
				return fmt.Errorf("job %s, attempts %+v", j.State, j.Attempts)
			}
			if e := j.Attempts[0].Error; !strings.Contains(e, "bad\uFFFDnews") || !strings.Contains(e, "replaced 1 byte(s)") {
				return fmt.Errorf("first attempt's error stored as %q", e)
			}
			return nil
		})
	}, func(c *config.Config) {
		c.StripeAPIKey, c.StripeAPIBase = key, fs.server.URL
	})
}

// TestStripeEventTextThatIsNotText: a verified Stripe event whose strings
// hold NUL or bytes that are not UTF-8 is applied with U+FFFD in their
// place, on both stores (PostgreSQL cannot store them as sent).
func TestStripeEventTextThatIsNotText(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		h := newHarness(t, env)
		end := t0 + 30*86400
		h.deliver(fmt.Sprintf(`{"id":"evt_nul","object":"event","api_version":"2024-06-20","created":%d,"livemode":true,"type":"customer.subscription.created",
			"data":{"object":{"id":"sub_N","object":"subscription","customer":"cus_N\u0000x","status":"active","current_period_start":%d,"current_period_end":%d,
			"cancel_at_period_end":false,"trial_end":null,"metadata":{},"items":{"object":"list","data":[{"id":"si_1","object":"subscription_item","quantity":1,
			"price":{"id":"price_pro","object":"price","nickname":"Pro`+"\xff"+`","product":"prod_pro"}}]}}}}`, t0, t0, end), "")
		v := h.sub("sub_N", "")
		if v.Status != "active" || v.StripeCustomer != "cus_N\uFFFDx" || v.Plan.Nickname != "Pro\uFFFD" {
			t.Fatalf("subscription applied as %+v", v)
		}
	})
}
