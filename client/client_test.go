package client_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/apitest/openapicheck"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/testutil"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, func() error {
		if !cond() {
			return fmt.Errorf("waiting for %s", what)
		}
		return nil
	})
}

// must returns v, or panics (failing the test) on an error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status {
		t.Fatalf("err = %v, want a %d problem", err, status)
	}
}

// TestJobsWebhooksBilling runs a real joist and calls every jobs, signing
// secret, webhook and billing method once, each exchange validated against
// /openapi.json.
func TestJobsWebhooksBilling(t *testing.T) {
	ctx := context.Background()
	env := apptest.Start(t, store.SQLite)
	chk := openapicheck.New(t, apptest.OpenAPI(t))
	hc := &http.Client{Transport: chk.Transport(http.DefaultTransport), Timeout: 30 * time.Second}
	root := client.New(env.URL, env.RootKey, hc)
	must(root.CreateTenant(ctx, client.TenantCreate{Slug: "acme", Name: "Acme"}))
	key := must(root.CreateKey(ctx, "acme", "ci"))
	c := client.New(env.URL, key.Key, hc)
	if _, _, err := c.UpsertContact(ctx, "user_42", client.ContactUpsert{Email: client.String("ann@example.com")}); err != nil {
		t.Fatal(err)
	}

	// Jobs: a push to a target answering 410 dies; retry runs it again.
	var gone atomic.Int32
	goneSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gone.Add(1)
		w.WriteHeader(http.StatusGone)
	}))
	defer goneSrv.Close()
	start := time.Now().Add(-time.Minute)
	j, dedup, err := c.CreateJob(ctx, client.JobCreate{URL: goneSrv.URL + "/hook", Body: json.RawMessage(`{"n":1}`), MaxAttempts: 3, Timeout: "5s"},
		client.IdempotencyKey("job-1"))
	if err != nil || dedup || j.URL != goneSrv.URL+"/hook" || j.MaxAttempts != 3 {
		t.Fatalf("create: %+v dedup=%v err=%v", j, dedup, err)
	}
	dead := func(n int32) func() bool {
		return func() bool {
			g := must(c.GetJob(ctx, j.ID))
			return g.State == "dead" && gone.Load() >= n
		}
	}
	waitFor(t, "the job to die on 410", dead(1))
	g := must(c.GetJob(ctx, j.ID))
	if g.DeadReason != "gone" || len(g.Attempts) == 0 || g.Attempts[0].Status != http.StatusGone || g.FinalizedAt == nil {
		t.Fatalf("dead job: %+v", g)
	}
	l := must(c.ListJobs(ctx, client.JobListOptions{ListOptions: client.ListOptions{Limit: 10},
		JobFilter: client.JobFilter{States: []string{"dead", "scheduled"}, Queue: g.Queue, Kind: g.Kind, Since: start, Until: time.Now().Add(time.Minute)}}))
	if len(l.Data) != 1 || l.Data[0].ID != j.ID {
		t.Fatalf("list dead: %+v", l.Data)
	}
	r := must(c.RetryJob(ctx, j.ID))
	if r.ID != j.ID || r.State == "dead" {
		t.Fatalf("retry: %+v", r)
	}
	waitFor(t, "the retried job to die again", dead(2))

	// Deduplication, cancel and bulk cancel on delayed jobs.
	later := client.JobCreate{URL: "http://127.0.0.1:9/later", Delay: "1h", UniqueKey: "u1"}
	a, dedup, err := c.CreateJob(ctx, later)
	if err != nil || dedup || a.State != "scheduled" {
		t.Fatalf("delayed: %+v dedup=%v err=%v", a, dedup, err)
	}
	b, dedup, err := c.CreateJob(ctx, later)
	if err != nil || !dedup || b.ID != a.ID {
		t.Fatalf("dedup: %+v dedup=%v err=%v", b, dedup, err)
	}
	if x := must(c.CancelJob(ctx, a.ID)); x.State != "cancelled" {
		t.Fatalf("cancel: %+v", x)
	}
	if _, _, err := c.CreateJob(ctx, client.JobCreate{URL: "http://127.0.0.1:9/later", Delay: "1h"}); err != nil {
		t.Fatal(err)
	}
	br := must(c.BulkJobs(ctx, client.JobBulk{Action: "cancel", JobFilter: client.JobFilter{States: []string{"scheduled"}}}))
	if br.Matched != 1 || br.Changed != 1 || !br.Finished {
		t.Fatalf("bulk: %+v", br)
	}
	_, err = c.BulkJobs(ctx, client.JobBulk{Action: "explode", JobFilter: client.JobFilter{States: []string{"dead"}}})
	wantStatus(t, err, http.StatusBadRequest)

	// Signing secrets.
	ss := must(c.SigningSecrets(ctx))
	if len(ss.Data) != 1 || ss.Data[0].ExpiresAt != nil {
		t.Fatalf("secrets: %+v", ss.Data)
	}
	rot := must(c.RotateSigningSecret(ctx, client.SigningSecretRotate{ExpireOldIn: "1h"}))
	if len(rot.Data) != 2 {
		t.Fatalf("rotated: %+v", rot.Data)
	}
	var expiring int
	for _, s := range rot.Data {
		if s.ExpiresAt != nil {
			expiring++
			if s.ID != ss.Data[0].ID {
				t.Errorf("the new secret expires: %+v", s)
			}
		}
	}
	if expiring != 1 {
		t.Fatalf("rotated: %d expiring, want 1", expiring)
	}

	// Webhooks: a GitHub source, a signed delivery, a rejection, events, replay.
	var forwarded atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { forwarded.Add(1) }))
	defer app.Close()
	put := client.WebhookSourcePut{Provider: "github", Secrets: []client.WebhookSecret{{Secret: "s3cret"}}, ForwardURL: app.URL}
	src, created, err := c.PutWebhookSource(ctx, "gh", put)
	if err != nil || !created || src.Provider != "github" || len(src.Secrets) != 1 || src.IngestURL != env.URL+"/in/acme/gh" {
		t.Fatalf("put source: %+v created=%v err=%v", src, created, err)
	}
	put.ForwardTypes = []string{"push"}
	src, created, err = c.PutWebhookSource(ctx, "gh", put)
	if err != nil || created || len(src.ForwardTypes) != 1 {
		t.Fatalf("replace source: %+v created=%v err=%v", src, created, err)
	}
	if sl := must(c.ListWebhookSources(ctx)); len(sl.Data) != 1 || sl.Data[0].Name != "gh" {
		t.Fatalf("sources: %+v", sl.Data)
	}
	if gs := must(c.GetWebhookSource(ctx, "gh")); gs.ID != src.ID || gs.ForwardURL != app.URL {
		t.Fatalf("get source: %+v", gs)
	}
	deliver := func(id, sig string) int {
		body := `{"zen":"hi"}`
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, src.IngestURL, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-GitHub-Event", "push")
		if sig == "" {
			mac := hmac.New(sha256.New, []byte("s3cret"))
			mac.Write([]byte(body))
			sig = "sha256=" + hex.EncodeToString(mac.Sum(nil))
		}
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := deliver("d1", ""); st != http.StatusOK {
		t.Fatalf("signed delivery: %d", st)
	}
	if st := deliver("d2", "sha256=00"); st != http.StatusBadRequest && st != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d", st)
	}
	if rj := must(c.WebhookRejections(ctx, "gh")); len(rj.Data) != 1 || rj.Data[0].Code == "" {
		t.Fatalf("rejections: %+v", rj.Data)
	}
	waitFor(t, "the forward", func() bool { return forwarded.Load() >= 1 })
	el := must(c.ListWebhookEvents(ctx, client.WebhookEventListOptions{ListOptions: client.ListOptions{Limit: 10},
		WebhookEventFilter: client.WebhookEventFilter{Source: "gh", Type: "push", ProviderEventID: "d1",
			Statuses: []string{"pending", "delivered"}, Since: start, Until: time.Now().Add(time.Minute)}}))
	if len(el.Data) != 1 || el.Data[0].Body != nil {
		t.Fatalf("events: %+v", el.Data)
	}
	ev := must(c.GetWebhookEvent(ctx, el.Data[0].ID))
	if ev.Source != "gh" || ev.Type != "push" || ev.ProviderEventID != "d1" || ev.Body == nil || *ev.Body != `{"zen":"hi"}` ||
		ev.Headers["X-Github-Event"] != "push" {
		t.Fatalf("event: %+v", ev)
	}
	if re := must(c.ReplayWebhookEvent(ctx, ev.ID)); re.ID != ev.ID {
		t.Fatalf("replay: %+v", re)
	}
	if n := must(c.ReplayWebhookEvents(ctx, client.WebhookEventFilter{ProviderEventID: "d1"})); n != 1 {
		t.Fatalf("replay many: %d", n)
	}
	waitFor(t, "the replays", func() bool { return forwarded.Load() >= 3 })
	if err := c.DeleteWebhookSource(ctx, "gh"); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetWebhookSource(ctx, "gh")
	wantStatus(t, err, http.StatusNotFound)

	// Billing: no subscriptions yet; a customer linked to a contact.
	for _, lo := range []client.SubscriptionListOptions{{}, {Statuses: []string{"active", "trialing"}, Contact: "user_42", Testmode: true}} {
		if sl := must(c.ListSubscriptions(ctx, lo)); sl.Data == nil || len(sl.Data) != 0 {
			t.Fatalf("subscriptions %+v: %+v", lo, sl)
		}
	}
	_, err = c.GetSubscription(ctx, "sub_1", false)
	wantStatus(t, err, http.StatusNotFound)
	bc, created, err := c.LinkCustomer(ctx, "cus_1", "user_42")
	if err != nil || !created || bc.StripeCustomer != "cus_1" || bc.Contact != "user_42" || bc.LinkSource != "api" {
		t.Fatalf("link: %+v created=%v err=%v", bc, created, err)
	}
	if _, created, err = root.Tenant("acme").LinkCustomer(ctx, "cus_1", "user_42"); err != nil || created {
		t.Fatalf("relink: created=%v err=%v", created, err)
	}
	if bc, created, err = root.RouteCustomer(ctx, "cus_2", "acme", "user_42"); err != nil || !created || bc.Tenant != "acme" || bc.Contact != "user_42" {
		t.Fatalf("route: %+v created=%v err=%v", bc, created, err)
	}
	if bc, err := root.GetCustomer(ctx, "cus_2"); err != nil || bc.Tenant != "acme" {
		t.Fatalf("get route: %+v %v", bc, err)
	}
	if bc, err := c.GetCustomer(ctx, "cus_1"); err != nil || bc.Contact != "user_42" {
		t.Fatalf("get link: %+v %v", bc, err)
	}
	_, _, err = c.RouteCustomer(ctx, "cus_3", "other", "")
	wantStatus(t, err, http.StatusBadRequest)

	cov := chk.Covered()
	for _, op := range []string{"POST /v1/jobs", "GET /v1/jobs", "GET /v1/jobs/{job}", "POST /v1/jobs/{job}/retry", "POST /v1/jobs/{job}/cancel",
		"POST /v1/jobs/bulk", "GET /v1/signing-secret", "POST /v1/signing-secret/rotate", "PUT /v1/webhook-sources/{name}",
		"GET /v1/webhook-sources", "GET /v1/webhook-sources/{name}", "DELETE /v1/webhook-sources/{name}",
		"GET /v1/webhook-sources/{name}/rejections", "GET /v1/webhook-events", "GET /v1/webhook-events/{event}",
		"POST /v1/webhook-events/{event}/replay", "POST /v1/webhook-events/replay", "POST /in/{tenant}/{source}",
		"GET /v1/subscriptions", "GET /v1/subscriptions/{subscription}", "PUT /v1/billing/customers/{customer}"} {
		if cov[op] == 0 {
			t.Errorf("not exercised through the checker: %s", op)
		}
	}
}
