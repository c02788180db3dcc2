package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/contacts"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/signing"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/internal/webhook"
)

var root = auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}

const ghSecret = "It's a Secret to Everybody"

type app struct {
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
	srv  *httptest.Server
}

func newApp(t *testing.T) *app {
	a := &app{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.got = append(a.got, r)
		a.body = append(a.body, b)
		a.mu.Unlock()
		w.WriteHeader(200)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.got)
}

// githubDelivery posts a signed GitHub delivery, with extra headers if given.
func githubDelivery(t *testing.T, url, id, body string, secret string, extra ...map[string]string) *http.Response {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	for _, h := range extra {
		for k, v := range h {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestIngestDedupForwardReplay(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		rcv := newApp(t)
		src, created, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "github", webhook.SourceInput{Provider: "github",
			Secrets: []webhook.SecretInput{{Secret: ghSecret}}, ForwardURL: rcv.srv.URL + "/hooks/github"})
		if err != nil || !created {
			t.Fatalf("put source: %v", err)
		}
		if src.IngestURL != env.URL+"/in/acme/github" {
			t.Fatalf("ingest url %q", src.IngestURL)
		}
		body := `{"ref":"refs/heads/main","n":1}`
		// 50 concurrent deliveries of one event: one stored, one forwarded.
		var wg sync.WaitGroup
		dups := make(chan bool, 50)
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp := githubDelivery(t, src.IngestURL, "delivery-1", body, ghSecret)
				defer resp.Body.Close()
				var out struct {
					ID        string
					Duplicate bool
				}
				json.NewDecoder(resp.Body).Decode(&out)
				if resp.StatusCode != 200 || !strings.HasPrefix(out.ID, "evt_") {
					t.Errorf("delivery: %d %+v", resp.StatusCode, out)
				}
				dups <- out.Duplicate
			}()
		}
		wg.Wait()
		close(dups)
		firsts := 0
		for d := range dups {
			if !d {
				firsts++
			}
		}
		if firsts != 1 || env.Count(t, "webhook_events") != 1 {
			t.Fatalf("%d non-duplicate answers, %d events stored; want 1 and 1", firsts, env.Count(t, "webhook_events"))
		}
		deadline := time.Now().Add(20 * time.Second) // for all three waits below
		testutil.Eventually(t, time.Until(deadline), func() error {
			if n := rcv.count(); n < 1 {
				return fmt.Errorf("app received %d forwards, want 1", n)
			}
			return nil
		})
		time.Sleep(300 * time.Millisecond) // a second, wrong forward would have arrived by now
		if rcv.count() != 1 {
			t.Fatalf("app received %d forwards, want exactly 1", rcv.count())
		}
		fwd, fbody := rcv.got[0], rcv.body[0]
		if string(fbody) != body || fwd.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("forwarded body/type: %s %s", fbody, fwd.Header.Get("Content-Type"))
		}
		if fwd.Header.Get("Joist-Provider-X-Github-Delivery") != "delivery-1" || fwd.Header.Get("Joist-Source") != "github" ||
			fwd.Header.Get("Joist-Event-Type") != "push" || !strings.HasPrefix(fwd.Header.Get("Joist-Event-Id"), "evt_") {
			t.Fatalf("forwarded headers: %v", fwd.Header)
		}
		secrets, _ := env.App.Jobs.SigningSecrets(ctx, root, tn.ID)
		if err := signing.Verify(secrets[0].Secret, fwd.Header, fbody, time.Now(), time.Minute); err != nil {
			t.Fatalf("forward signature: %v", err)
		}
		evID := fwd.Header.Get("webhook-id")
		// Replay keeps the webhook-id.
		if _, err := env.App.Webhooks.Replay(ctx, root, tn.ID, evID); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, time.Until(deadline), func() error {
			if n := rcv.count(); n < 2 {
				return fmt.Errorf("app received %d forwards after the replay, want 2", n)
			}
			return nil
		})
		if rcv.count() != 2 || rcv.got[1].Header.Get("webhook-id") != evID {
			t.Fatalf("replay: %d forwards, webhook-id %q want %q", rcv.count(), rcv.got[len(rcv.got)-1].Header.Get("webhook-id"), evID)
		}
		// Delivered status, searchable by provider event id.
		var list []webhook.Event
		testutil.Eventually(t, time.Until(deadline), func() error {
			list, _, err = env.App.Webhooks.ListEvents(ctx, root, tn.ID, store.Page{}, webhook.EventFilter{ProviderEventID: "delivery-1", Statuses: []string{"delivered"}})
			if err != nil {
				t.Fatalf("event list: %v", err)
			}
			if len(list) != 1 {
				return fmt.Errorf("%d delivered events of delivery-1, want 1", len(list))
			}
			return nil
		})
		if len(list) != 1 || list[0].EventType != "push" {
			t.Fatalf("event list: %v %+v", err, list)
		}
	})
}

func TestRejectedDeliveries(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		src, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "github", webhook.SourceInput{Provider: "github",
			Secrets: []webhook.SecretInput{{Secret: ghSecret}}})
		if err != nil {
			t.Fatal(err)
		}
		resp := githubDelivery(t, src.IngestURL, "d-bad", `{"x":1}`, "wrong secret")
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("bad signature: %d", resp.StatusCode)
		}
		// No signature at all.
		r2, _ := http.Post(src.IngestURL, "application/json", bytes.NewReader([]byte(`{}`)))
		r2.Body.Close()
		if r2.StatusCode/100 != 4 {
			t.Fatalf("unsigned: %d", r2.StatusCode)
		}
		// Unknown tenant or source: 404, nothing logged.
		for _, u := range []string{env.URL + "/in/acme/nope", env.URL + "/in/nope/github"} {
			r, _ := http.Post(u, "application/json", strings.NewReader(`{}`))
			r.Body.Close()
			if r.StatusCode != 404 {
				t.Fatalf("%s: %d", u, r.StatusCode)
			}
		}
		// Wrong method.
		r3, _ := http.Get(src.IngestURL)
		r3.Body.Close()
		if r3.StatusCode != 405 {
			t.Fatalf("GET ingest: %d", r3.StatusCode)
		}
		rej, err := env.App.Webhooks.Rejections(ctx, root, tn.ID, "github")
		if err != nil || len(rej) != 2 || rej[1].Code != "bad_signature" {
			t.Fatalf("rejections: %v %+v", err, rej)
		}
		if env.Count(t, "webhook_events") != 0 {
			t.Fatal("a rejected delivery was stored as an event")
		}
		// The log is bounded per source.
		for i := range 120 {
			r := githubDelivery(t, src.IngestURL, fmt.Sprint("flood-", i), `{}`, "wrong")
			r.Body.Close()
		}
		if n := env.Count(t, "webhook_rejections"); n != 100 {
			t.Fatalf("rejections kept: %d, want 100", n)
		}
	})
}

func TestOldEventsArePurged(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		src, _, _ := env.App.Webhooks.PutSource(ctx, root, tn.ID, "github", webhook.SourceInput{Provider: "github", Secrets: []webhook.SecretInput{{Secret: ghSecret}}})
		for _, id := range []string{"a", "b"} {
			githubDelivery(t, src.IngestURL, id, `{}`, ghSecret).Body.Close()
		}
		var n int64
		err := env.App.DB.Write(ctx, func(tx *store.Tx) error {
			var err error
			n, err = webhook.EventPurge(ctx, tx, time.Now().Add(time.Hour), 1)
			return err
		})
		if err != nil || n != 1 || env.Count(t, "webhook_events") != 1 {
			t.Fatalf("purge: %d %v, %d left", n, err, env.Count(t, "webhook_events"))
		}
		// Once purged, the same provider event id is a new event again.
		resp := githubDelivery(t, src.IngestURL, "a", `{}`, ghSecret)
		var out struct{ Duplicate bool }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if out.Duplicate {
			t.Fatal("a purged event still deduplicates")
		}
	})
}

// TestStoreOnlyAndTypeFilter: a source without forward_url stores every
// event; forward_types forwards only the listed types; a Svix/Resend-style
// source verifies Standard Webhooks signatures with secret rotation.
func TestStoreOnlyAndTypeFilter(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		rcv := newApp(t)
		oldSecret, newSecret := signing.NewSecret(), signing.NewSecret()
		soon := time.Now().Add(time.Hour)
		src, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "resend", webhook.SourceInput{Provider: "svix",
			Secrets:    []webhook.SecretInput{{Secret: newSecret}, {Secret: oldSecret, ExpiresAt: &soon}},
			ForwardURL: rcv.srv.URL, ForwardTypes: []string{"email.bounced"}})
		if err != nil {
			t.Fatal(err)
		}
		send := func(id, typ, secret string) int {
			body := []byte(`{"type":"` + typ + `","data":{}}`)
			h := http.Header{}
			if err := signing.Sign(h, []string{secret}, id, time.Now(), body); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("POST", src.IngestURL, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range map[string]string{"svix-id": h.Get("webhook-id"), "svix-timestamp": h.Get("webhook-timestamp"), "svix-signature": h.Get("webhook-signature")} {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if st := send("msg_1", "email.delivered", newSecret); st != 200 {
			t.Fatalf("new secret: %d", st)
		}
		if st := send("msg_2", "email.bounced", oldSecret); st != 200 {
			t.Fatalf("old secret during rotation: %d", st)
		}
		if st := send("msg_3", "email.bounced", signing.NewSecret()); st != 401 {
			t.Fatalf("unknown secret: %d", st)
		}
		testutil.Eventually(t, 15*time.Second, func() error {
			if n := rcv.count(); n < 1 {
				return fmt.Errorf("forwarded %d events, want the bounce", n)
			}
			return nil
		})
		time.Sleep(300 * time.Millisecond) // a wrongly forwarded event would have arrived by now
		if rcv.count() != 1 || rcv.got[0].Header.Get("Joist-Event-Type") != "email.bounced" {
			t.Fatalf("forwarded %d events, want only the bounce", rcv.count())
		}
		list, _, err := env.App.Webhooks.ListEvents(ctx, root, tn.ID, store.Page{}, webhook.EventFilter{Statuses: []string{"stored"}})
		if err != nil || len(list) != 1 || list[0].ProviderEventID != "msg_1" {
			t.Fatalf("the unforwarded type must still be stored: %v %+v", err, list)
		}
		// Metrics count accepted and rejected deliveries by provider.
		resp, _ := http.Get(env.URL + "/metrics")
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`joist_webhook_requests_total{provider="svix",result="accepted"} 2`, `joist_webhook_requests_total{provider="svix",result="bad_signature"} 1`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

// TestEventNamingAContactLandsOnItsTimeline: with contact_pointer, an event
// naming a known contact is on that contact's timeline with the delivery's
// correlation id; unknown contacts and duplicates add nothing.
func TestEventNamingAContactLandsOnItsTimeline(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		if _, _, err := env.App.Contacts.Upsert(ctx, root, tn.ID, "user_42", contacts.Input{}); err != nil {
			t.Fatal(err)
		}
		src, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "github", webhook.SourceInput{Provider: "github",
			Secrets: []webhook.SecretInput{{Secret: ghSecret}}, ContactPointer: "/sender/login"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "bad", webhook.SourceInput{Provider: "github",
			Secrets: []webhook.SecretInput{{Secret: ghSecret}}, ContactPointer: "no-slash"}); err == nil {
			t.Fatal("a bad contact_pointer was accepted")
		}
		send := func(id, login, corr string) {
			body := `{"sender":{"login":"` + login + `"}}`
			m := hmac.New(sha256.New, []byte(ghSecret))
			m.Write([]byte(body))
			req, _ := http.NewRequest("POST", src.IngestURL, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Delivery", id)
			req.Header.Set("X-GitHub-Event", "star")
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
			req.Header.Set("Joist-Correlation-Id", corr)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("deliver: %v %v", err, resp)
			}
			resp.Body.Close()
		}
		send("d1", "user_42", "corr-d1")
		send("d1", "user_42", "corr-d1-again") // duplicate
		send("d2", "stranger", "corr-d2")
		tl, _, err := env.App.Contacts.Timeline(ctx, root, tn.ID, "user_42", store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range tl {
			if e.Kind == "webhook.received" {
				n++
				if e.CorrelationID != "corr-d1" || e.Summary != "github star received" || !strings.HasPrefix(e.RefID, "evt_") {
					t.Fatalf("timeline entry: %+v", e)
				}
			}
		}
		if n != 1 {
			t.Fatalf("%d webhook.received entries, want 1", n)
		}
	})
}

// TestBatchedDeliveries: many distinct events, each delivered twice at the
// same moment, share batched writes: every event stored once with one
// forward job, and each pair answers exactly one non-duplicate.
func TestBatchedDeliveries(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		rcv := newApp(t)
		src, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "github", webhook.SourceInput{Provider: "github",
			Secrets: []webhook.SecretInput{{Secret: ghSecret}}, ForwardURL: rcv.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		const events = 60
		firsts := make([]int, events)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range events {
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp := githubDelivery(t, src.IngestURL, fmt.Sprint("batch-", i), fmt.Sprintf(`{"n":%d}`, i), ghSecret)
					defer resp.Body.Close()
					var out struct{ Duplicate bool }
					json.NewDecoder(resp.Body).Decode(&out)
					if resp.StatusCode != 200 {
						t.Errorf("delivery %d: %d", i, resp.StatusCode)
					}
					if !out.Duplicate {
						mu.Lock()
						firsts[i]++
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
		for i, n := range firsts {
			if n != 1 {
				t.Fatalf("event %d answered %d non-duplicates, want 1", i, n)
			}
		}
		if e, j := env.Count(t, "webhook_events"), env.Count(t, "jobs"); e != events || j != events {
			t.Fatalf("%d events and %d jobs stored, want %d of each", e, j, events)
		}
	})
}

// TestInstanceSource: with the root key and no Joist-Tenant, webhook sources
// belong to the instance; providers deliver to /in/_/{source}; tenant keys
// cannot see them, and tenant lists do not show the instance.
func TestInstanceSource(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		rcv := newApp(t)
		do := func(method, path, key, body string) (int, string) {
			req, _ := http.NewRequest(method, env.URL+path, strings.NewReader(body))
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		st, body := do("PUT", "/v1/webhook-sources/gh", env.RootKey, `{"provider":"github","secrets":[{"secret":"`+ghSecret+`"}],"forward_url":"`+rcv.srv.URL+`"}`)
		if st != 201 || !strings.Contains(body, `"ingest_url":"`+env.URL+`/in/_/gh"`) {
			t.Fatalf("instance source: %d %s", st, body)
		}
		resp := githubDelivery(t, env.URL+"/in/_/gh", "inst-1", `{"x":1}`, ghSecret)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("delivery to /in/_/gh: %d", resp.StatusCode)
		}
		testutil.Eventually(t, 15*time.Second, func() error {
			if rcv.count() < 1 {
				return errors.New("instance event not forwarded")
			}
			return nil
		})
		if rcv.count() != 1 {
			t.Fatal("instance event not forwarded")
		}
		if st, body := do("GET", "/v1/webhook-events", env.RootKey, ""); st != 200 || !strings.Contains(body, "inst-1") {
			t.Fatalf("instance events: %d %s", st, body)
		}
		// Its forward job is the instance's: listed with the root key and no Joist-Tenant.
		if st, body := do("GET", "/v1/jobs?kind=http_push", env.RootKey, ""); st != 200 || !strings.Contains(body, rcv.srv.URL) {
			t.Fatalf("instance jobs: %d %s", st, body)
		}
		// The forward is signed with the instance's secret, which the root key reads without Joist-Tenant.
		st, body = do("GET", "/v1/signing-secret", env.RootKey, "")
		var sec struct{ Data []struct{ Secret string } }
		json.Unmarshal([]byte(body), &sec)
		if st != 200 || len(sec.Data) != 1 {
			t.Fatalf("instance signing secret: %d %s", st, body)
		}
		rcv.mu.Lock()
		fwd, fbody := rcv.got[0], rcv.body[0]
		rcv.mu.Unlock()
		if err := signing.Verify(sec.Data[0].Secret, fwd.Header, fbody, time.Now(), time.Minute); err != nil {
			t.Fatalf("instance forward signature: %v", err)
		}
		// A tenant's key reaches neither the instance's sources nor its events.
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		_, key, _ := env.App.Tenants.KeyCreate(ctx, root, tn.ID, "k")
		if st, body := do("GET", "/v1/webhook-events", key, ""); st != 200 || strings.Contains(body, "inst-1") {
			t.Fatalf("tenant key sees instance events: %d %s", st, body)
		}
		if st, _ := do("GET", "/v1/webhook-sources/gh", key, ""); st != 404 {
			t.Fatalf("tenant key reads the instance source: %d", st)
		}
		if st, body := do("GET", "/v1/jobs", key, ""); st != 200 || strings.Contains(body, rcv.srv.URL) {
			t.Fatalf("tenant key sees the instance's jobs: %d %s", st, body)
		}
		// Jobs are not created on the instance.
		if st, _ := do("POST", "/v1/jobs", env.RootKey, `{"url":"`+rcv.srv.URL+`"}`); st != 400 {
			t.Fatalf("a job created on the instance: %d", st)
		}
		if st, body := do("GET", "/v1/tenants", env.RootKey, ""); st != 200 || strings.Contains(body, `"slug":"_"`) {
			t.Fatalf("tenant list shows the instance: %s", body)
		}
		// Other tenant routes still need Joist-Tenant with the root key.
		if st, _ := do("GET", "/v1/contacts", env.RootKey, ""); st != 400 {
			t.Fatalf("contacts without Joist-Tenant: %d", st)
		}
	})
}

func TestInstanceTenantOnlyForWebhookRoutes(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, store.SQLite)
	for _, path := range []string{"/v1/contacts", "/v1/schedules", "/v1/subscriptions", "/v1/tenants/_", "/v1/tenants/" + store.InstanceTenantID + "/keys"} {
		req, _ := http.NewRequest("GET", env.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+env.RootKey)
		req.Header.Set("Joist-Tenant", "_")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("%s on the instance tenant: %d, want 404", path, resp.StatusCode)
		}
	}
}

// TestForwardOfPurgedEvent: a forward job reads its event's body at each
// attempt (the job keeps no copy); once the event is purged, the job ends
// dead with dead_reason event_gone instead of sending an empty body.
func TestForwardOfPurgedEvent(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		var calls atomic.Int32
		var mu sync.Mutex
		var first []byte
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			if first == nil {
				first = b
			}
			mu.Unlock()
			calls.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		t.Cleanup(down.Close)
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		src, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "github", webhook.SourceInput{Provider: "github",
			Secrets: []webhook.SecretInput{{Secret: ghSecret}}, ForwardURL: down.URL})
		if err != nil {
			t.Fatal(err)
		}
		githubDelivery(t, src.IngestURL, "purged-1", `{"zen":"keep it logically awesome"}`, ghSecret).Body.Close()
		testutil.Eventually(t, 15*time.Second, func() error {
			if calls.Load() < 1 {
				return errors.New("the forward was never attempted")
			}
			return nil
		})
		mu.Lock()
		got := string(first)
		mu.Unlock()
		if got != `{"zen":"keep it logically awesome"}` {
			t.Fatalf("first attempt's body %q", got)
		}
		if err := env.App.DB.Write(ctx, func(tx *store.Tx) error {
			_, err := webhook.EventPurge(ctx, tx, time.Now().Add(time.Hour), 100)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 30*time.Second, func() error {
			list, _, err := env.App.Jobs.List(ctx, root, tn.ID, store.Page{Limit: 10}, jobs.Filter{Kind: "http_push"})
			if err != nil || len(list) != 1 {
				t.Fatalf("jobs: %v %+v", err, list)
			}
			j := list[0]
			if j.State != "dead" {
				return fmt.Errorf("job not dead after its event was purged: %+v", j)
			}
			if j.DeadReason != "event_gone" {
				t.Fatalf("dead reason %q, want event_gone", j.DeadReason)
			}
			full, err := env.App.Jobs.Get(ctx, root, tn.ID, j.ID)
			if err != nil || len(full.Attempts) < 2 || !strings.Contains(full.Attempts[len(full.Attempts)-1].Error, "no longer stored") {
				t.Fatalf("attempts: %v %+v", err, full.Attempts)
			}
			return nil
		})
		if n := calls.Load(); n != 1 {
			t.Fatalf("the target was called %d times, want once (before the purge)", n)
		}
	})
}

// TestForwardArgsKeepPreviousFormat: a forward names its event in the job's
// River args exactly as the previous version wrote them (body_event, no
// body source fields), so forwards queued before an upgrade run after it
// through the event body hook, and a node still on the previous version (a
// rolling upgrade) sends the body of forwards queued by a newer one.
func TestForwardArgsKeepPreviousFormat(t *testing.T) {
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		rcv := newApp(t)
		src, _, err := env.App.Webhooks.PutSource(ctx, root, tn.ID, "github", webhook.SourceInput{Provider: "github",
			Secrets: []webhook.SecretInput{{Secret: ghSecret}}, ForwardURL: rcv.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		const body = `{"zen":"design for failure"}`
		resp := githubDelivery(t, src.IngestURL, "fmt-1", body, ghSecret)
		var out struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		for deadline := time.Now().Add(15 * time.Second); rcv.count() < 1; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the forward was never delivered")
			}
		}
		rcv.mu.Lock()
		got := string(rcv.body[0])
		rcv.mu.Unlock()
		if got != body {
			t.Fatalf("forwarded body %q, want %q", got, body)
		}
		ev, err := env.App.Webhooks.GetEvent(ctx, root, tn.ID, out.ID)
		if err != nil {
			t.Fatal(err)
		}
		q := "SELECT json(r.args) FROM river_job r JOIN jobs j ON j.river_id = r.id WHERE j.id = ?"
		if env.Dialect == store.Postgres {
			q = "SELECT r.args::text FROM river_job r JOIN jobs j ON j.river_id = r.id WHERE j.id = ?"
		}
		var raw string
		if err := env.App.DB.Read(ctx, func(tx *store.Tx) error { return tx.QueryRow(ctx, q, ev.ForwardJobID).Scan(&raw) }); err != nil {
			t.Fatal(err)
		}
		var args map[string]any
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			t.Fatal(err)
		}
		if args["body_event"] != ev.ID {
			t.Fatalf("args name body_event %v, want %s: %s", args["body_event"], ev.ID, raw)
		}
		previous := map[string]bool{"job_id": true, "tenant_id": true, "url": true, "method": true, "headers": true, "body": true,
			"content_type": true, "timeout_ms": true, "unique_key": true, "correlation_id": true, "webhook_id": true, "body_base64": true, "body_event": true}
		for k := range args {
			if !previous[k] {
				t.Fatalf("args hold %q, which the previous version does not know: %s", k, raw)
			}
		}
	})
}
