package openapicheck_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v82/webhook"

	"github.com/joist-dev/joist/internal/apitest/openapicheck"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/testutil"
)

// caller sends requests to one base URL through one client.
type caller struct {
	t    *testing.T
	hc   *http.Client
	base string
}

func (c caller) do(method, path, key string, body string, hdr ...string) (int, http.Header, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func (c caller) want(status int, method, path, key, body string, hdr ...string) (http.Header, []byte) {
	c.t.Helper()
	got, h, b := c.do(method, path, key, body, hdr...)
	if got != status {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, got, status, b)
	}
	return h, b
}

// TestRealJoist drives a real joist through the checker: every documented
// operation, success and error responses, and requires no mismatch.
func TestRealJoist(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, store.SQLite)
	chk := openapicheck.New(t, apptest.OpenAPI(t))
	c := caller{t: t, hc: &http.Client{Transport: chk.Transport(http.DefaultTransport), Timeout: 30 * time.Second}, base: env.URL}
	root := env.RootKey

	// Operations endpoints.
	c.want(200, "GET", "/healthz", "", "")
	c.want(200, "GET", "/readyz", "", "")
	_, doc := c.want(200, "GET", "/openapi.json", "", "")
	if string(doc) != string(apptest.OpenAPI(t)) {
		t.Errorf("/openapi.json does not serve the merged document (app.OpenAPI)")
	}
	c.want(200, "GET", "/metrics", "", "")

	// Tenants, with an idempotent replay.
	h, b := c.want(201, "POST", "/v1/tenants", root, `{"slug":"acme","name":"Acme"}`, "Idempotency-Key", "create-acme")
	var tenant struct{ ID string }
	if err := json.Unmarshal(b, &tenant); err != nil {
		t.Fatal(err)
	}
	if h.Get("Joist-Correlation-Id") == "" {
		t.Errorf("no Joist-Correlation-Id on create")
	}
	h, _ = c.want(201, "POST", "/v1/tenants", root, `{"slug":"acme","name":"Acme"}`, "Idempotency-Key", "create-acme")
	if h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: Idempotent-Replayed = %q", h.Get("Idempotent-Replayed"))
	}
	c.want(409, "POST", "/v1/tenants", root, `{"slug":"acme","name":"Other"}`, "Idempotency-Key", "create-acme")
	c.want(409, "POST", "/v1/tenants", root, `{"slug":"acme"}`)
	c.want(400, "POST", "/v1/tenants", root, `{"slug":"Not A Slug"}`)
	c.want(200, "GET", "/v1/tenants?limit=10", root, "")
	c.want(200, "GET", "/v1/tenants/acme", root, "")
	c.want(200, "GET", "/v1/tenants/"+tenant.ID, root, "", "Joist-Correlation-Id", "test-corr-1")
	c.want(404, "GET", "/v1/tenants/nope", root, "")

	// Keys.
	_, b = c.want(201, "POST", "/v1/tenants/acme/keys", root, `{"name":"ci"}`)
	var key struct{ ID, Key string }
	if err := json.Unmarshal(b, &key); err != nil {
		t.Fatal(err)
	}
	c.want(201, "POST", "/v1/tenants/acme/keys", root, "") // no body: an unnamed key
	c.want(200, "GET", "/v1/tenants/acme/keys", key.Key, "")
	c.want(403, "POST", "/v1/tenants", key.Key, `{"slug":"other"}`)

	// Contacts with the root key and Joist-Tenant, and with the tenant key.
	c.want(201, "PUT", "/v1/contacts/user_42", root, `{"email":"ann@example.com","name":"Ann","locale":"fr-CA","timezone":"Europe/Paris","metadata":{"plan":"pro"}}`, "Joist-Tenant", "acme")
	c.want(200, "PUT", "/v1/contacts/user_42", key.Key, `{"name":"Ann B","email":null}`)
	c.want(200, "GET", "/v1/contacts/user_42", key.Key, "")
	c.want(200, "GET", "/v1/contacts?q=ann&limit=1", root, "", "Joist-Tenant", "acme")
	c.want(200, "GET", "/v1/contacts/user_42/timeline", root, "", "Joist-Tenant", tenant.ID)
	c.want(200, "GET", "/v1/audit?since=2000-01-01T00:00:00Z", root, "")
	c.want(200, "GET", "/v1/audit", key.Key, "", "Joist-Tenant", "acme")

	// Problems.
	c.want(400, "PUT", "/v1/contacts/user_42", root, `{"emial":"x"}`, "Joist-Tenant", "acme")
	c.want(400, "PUT", "/v1/contacts/user_43", root, `{"email":"not an address"}`, "Joist-Tenant", "acme")
	c.want(400, "GET", "/v1/contacts", root, "")
	c.want(400, "GET", "/v1/contacts?limit=0", key.Key, "")
	c.want(400, "GET", "/v1/contacts?cursor=zzz", key.Key, "")
	c.want(400, "GET", "/v1/audit?since=yesterday", root, "")
	c.want(401, "GET", "/v1/contacts", "", "")
	c.want(401, "GET", "/v1/contacts", "jk_wrong", "")
	c.want(401, "GET", "/v1/tenants", "", "", "Authorization", "Basic Zm9vOmJhcg==")
	c.want(404, "GET", "/v1/contacts/nobody", key.Key, "")
	c.want(404, "GET", "/v1/contacts/nobody/timeline", key.Key, "")
	c.want(404, "GET", "/v1/contacts", root, "", "Joist-Tenant", "nope")
	c.want(415, "PUT", "/v1/contacts/user_42", key.Key, "", "Content-Type", "text/plain")
	c.want(413, "PUT", "/v1/contacts/user_42", key.Key, `{"name":"`+strings.Repeat("x", 2<<20)+`"}`)
	c.want(405, "DELETE", "/v1/contacts/user_42", key.Key, "") // not an operation: refused with Allow, not reported

	// Jobs: a push job to a target that answers 410 (dead), retry, cancel, bulk, dedup.
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) }))
	defer gone.Close()
	_, b = c.want(202, "POST", "/v1/jobs", key.Key, `{"url":"`+gone.URL+`","body":{"n":1},"max_attempts":3,"timeout":"5s"}`, "Idempotency-Key", "job-1")
	var job struct{ ID string }
	if err := json.Unmarshal(b, &job); err != nil {
		t.Fatal(err)
	}
	c.want(202, "POST", "/v1/jobs", key.Key, `{"url":"`+gone.URL+`","body":{"n":1},"max_attempts":3,"timeout":"5s"}`, "Idempotency-Key", "job-1")
	c.want(202, "POST", "/v1/jobs", key.Key, `{"url":"http://127.0.0.1:9/later","delay":"1h","unique_key":"u1","body":"plain text","content_type":"text/plain"}`)
	c.want(200, "POST", "/v1/jobs", key.Key, `{"url":"http://127.0.0.1:9/later","delay":"1h","unique_key":"u1"}`)
	c.want(400, "POST", "/v1/jobs", key.Key, `{"url":"ftp://x","delay":"-1s"}`)
	c.want(400, "POST", "/v1/jobs", key.Key, `{"url":"http://x","queue":"nope"}`)
	testutil.Eventually(t, 20*time.Second, func() error {
		_, b = c.want(200, "GET", "/v1/jobs/"+job.ID, key.Key, "")
		if !strings.Contains(string(b), `"state":"dead"`) {
			return fmt.Errorf("job did not die on 410: %s", b)
		}
		return nil
	})
	c.want(200, "GET", "/v1/jobs?state=dead,scheduled&limit=10", key.Key, "")
	c.want(400, "GET", "/v1/jobs?state=zombie", key.Key, "")
	c.want(200, "POST", "/v1/jobs/"+job.ID+"/retry", key.Key, "")
	c.want(404, "POST", "/v1/jobs/job_nope/cancel", key.Key, "")
	c.want(200, "POST", "/v1/jobs/bulk", key.Key, `{"action":"cancel","state":["scheduled"]}`)
	c.want(400, "POST", "/v1/jobs/bulk", key.Key, `{"action":"explode","state":["dead"]}`)
	c.want(200, "GET", "/v1/signing-secret", key.Key, "")
	c.want(200, "POST", "/v1/signing-secret/rotate", key.Key, `{"expire_old_in":"1h"}`)
	c.want(200, "POST", "/v1/signing-secret/rotate", key.Key, "")

	// Schedules: create, replace, read, list, pause, resume, delete, and refusals.
	sch := `{"cron":"0 9 * * *","timezone":"Europe/Paris","missed":"run_once","job":{"url":"http://127.0.0.1:9/report","body":{"r":1},"timeout":"5s"}}`
	c.want(201, "PUT", "/v1/schedules/report", key.Key, sch)
	c.want(200, "PUT", "/v1/schedules/report", key.Key, `{"cron":"@every 1h","job":{"url":"http://127.0.0.1:9/report"},"paused":true}`)
	c.want(200, "GET", "/v1/schedules/report", key.Key, "")
	c.want(200, "GET", "/v1/schedules?limit=10", root, "", "Joist-Tenant", "acme")
	c.want(200, "POST", "/v1/schedules/report/resume", key.Key, "")
	c.want(200, "POST", "/v1/schedules/report/pause", key.Key, "")
	c.want(400, "PUT", "/v1/schedules/report", key.Key, `{"cron":"TZ=UTC 0 9 * * *","job":{"url":"http://x"}}`)
	c.want(400, "PUT", "/v1/schedules/bad", key.Key, `{"cron":"@daily","timezone":"Mars/Olympus","job":{"url":"http://x"}}`)
	c.want(200, "DELETE", "/v1/schedules/report", key.Key, "")
	c.want(404, "GET", "/v1/schedules/report", key.Key, "")

	// Webhooks: a GitHub source, a signed delivery and its duplicate, a rejection, events, replay.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer app.Close()
	c.want(201, "PUT", "/v1/webhook-sources/gh", key.Key, `{"provider":"github","secrets":[{"secret":"s3cret"}],"forward_url":"`+app.URL+`"}`)
	c.want(200, "PUT", "/v1/webhook-sources/gh", key.Key, `{"provider":"github","secrets":[{"secret":"s3cret","expires_at":null}],"forward_url":"`+app.URL+`","forward_types":["push"]}`)
	c.want(400, "PUT", "/v1/webhook-sources/gh", key.Key, `{"provider":"carrier-pigeon","secrets":[{"secret":"x"}]}`)
	c.want(200, "GET", "/v1/webhook-sources", key.Key, "")
	c.want(200, "GET", "/v1/webhook-sources/gh", key.Key, "")
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(`{"zen":"hi"}`))
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	_, b = c.want(200, "POST", "/in/acme/gh", "", `{"zen":"hi"}`, "X-GitHub-Delivery", "d1", "X-GitHub-Event", "push", "X-Hub-Signature-256", sig)
	var ev struct{ ID string }
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	c.want(200, "POST", "/in/acme/gh", "", `{"zen":"hi"}`, "X-GitHub-Delivery", "d1", "X-GitHub-Event", "push", "X-Hub-Signature-256", sig)
	c.want(401, "POST", "/in/acme/gh", "", `{"zen":"hi"}`, "X-GitHub-Delivery", "d2", "X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
	c.want(404, "POST", "/in/acme/nope", "", `{}`)
	c.want(200, "GET", "/v1/webhook-sources/gh/rejections", key.Key, "")
	c.want(200, "GET", "/v1/webhook-events?source=gh&status=pending,delivered", key.Key, "")
	c.want(400, "GET", "/v1/webhook-events?status=lost", key.Key, "")
	c.want(200, "GET", "/v1/webhook-events/"+ev.ID, key.Key, "")
	c.want(200, "POST", "/v1/webhook-events/"+ev.ID+"/replay", key.Key, "")
	c.want(200, "POST", "/v1/webhook-events/replay", key.Key, `{"provider_event_id":"d1"}`)
	c.want(204, "DELETE", "/v1/webhook-sources/gh", key.Key, "")
	c.want(404, "DELETE", "/v1/webhook-sources/gh", key.Key, "")

	// Billing: a customer link, a Stripe-signed subscription event, the state and its history.
	c.want(201, "PUT", "/v1/billing/customers/cus_1", key.Key, `{"contact":"user_42"}`)
	c.want(200, "PUT", "/v1/billing/customers/cus_1", root, `{"contact":"user_42"}`, "Joist-Tenant", "acme")
	c.want(400, "PUT", "/v1/billing/customers/not-a-customer", key.Key, `{"contact":"user_42"}`)
	c.want(404, "PUT", "/v1/billing/customers/cus_1", key.Key, `{"contact":"nobody"}`)
	// The instance (root key, no Joist-Tenant) routes a customer of its Stripe sources to a tenant.
	c.want(201, "PUT", "/v1/billing/customers/cus_2", root, `{"tenant":"acme","contact":"user_42"}`)
	c.want(200, "PUT", "/v1/billing/customers/cus_2", root, `{"tenant":"acme"}`)
	c.want(400, "PUT", "/v1/billing/customers/cus_2", root, `{}`)
	c.want(200, "GET", "/v1/billing/customers/cus_2", root, "")
	c.want(200, "GET", "/v1/billing/customers/cus_1", key.Key, "")
	c.want(404, "GET", "/v1/billing/customers/cus_9", key.Key, "")
	c.want(400, "GET", "/v1/billing/customers/nope", key.Key, "")
	c.want(400, "PUT", "/v1/billing/customers/cus_2", key.Key, `{"tenant":"other"}`)
	c.want(201, "PUT", "/v1/webhook-sources/stripe", key.Key, `{"provider":"stripe","secrets":[{"secret":"whsec_openapi"}]}`)
	stripeBody := `{"id":"evt_1","object":"event","created":1767225600,"livemode":true,"type":"customer.subscription.updated","data":{"object":{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active","cancel_at_period_end":false,"items":{"data":[{"current_period_end":1769904000,"quantity":1,"price":{"id":"price_1","nickname":"Pro","product":"prod_1"}}]}}}}`
	signed := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: []byte(stripeBody), Secret: "whsec_openapi"})
	c.want(200, "POST", "/in/acme/stripe", "", stripeBody, "Stripe-Signature", signed.Header)
	testutil.Eventually(t, 20*time.Second, func() error {
		if st, _, _ := c.do("GET", "/v1/subscriptions/sub_1", key.Key, ""); st != 200 {
			return fmt.Errorf("the Stripe event was never applied: GET /v1/subscriptions/sub_1 is %d", st)
		}
		return nil
	})
	c.want(200, "GET", "/v1/subscriptions?status=active,trialing&contact=user_42&limit=10", key.Key, "")
	c.want(200, "GET", "/v1/subscriptions?livemode=false", root, "", "Joist-Tenant", "acme")
	c.want(400, "GET", "/v1/subscriptions?status=zombie", key.Key, "")
	c.want(404, "GET", "/v1/subscriptions/sub_1?livemode=false", key.Key, "")

	// Email: a send (captured by the outbox), its replay, a batch, the log, refusals.
	_, b = c.want(202, "POST", "/v1/emails", key.Key, `{"from":"Acme <hello@acme.example>","contact":"user_42","to":"ann@x.example","subject":"Hi","html":"<p>Hi</p>","attachments":[{"filename":"a.txt","content":"aGk="}]}`, "Idempotency-Key", "em-1")
	var em struct{ ID string }
	if err := json.Unmarshal(b, &em); err != nil {
		t.Fatal(err)
	}
	c.want(202, "POST", "/v1/emails", key.Key, `{"from":"Acme <hello@acme.example>","contact":"user_42","to":"ann@x.example","subject":"Hi","html":"<p>Hi</p>","attachments":[{"filename":"a.txt","content":"aGk="}]}`, "Idempotency-Key", "em-1")
	c.want(400, "POST", "/v1/emails", key.Key, `{"from":"hello@acme.example","to":"ann@x.example","subject":"Hi\r\nBcc: x@y.example","text":"t"}`)
	c.want(202, "POST", "/v1/emails/batch", key.Key, `{"emails":[{"from":"hello@acme.example","to":["a@x.example"],"subject":"1","text":"1","send_at":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}]}`)
	c.want(400, "POST", "/v1/emails/batch", key.Key, `{"emails":[]}`)
	c.want(200, "GET", "/v1/emails/"+em.ID, key.Key, "")
	c.want(404, "GET", "/v1/emails/em_nope", key.Key, "")
	c.want(200, "GET", "/v1/emails?to=ann@x.example&status=queued,captured&limit=5", key.Key, "")
	c.want(200, "GET", "/v1/emails?contact=user_42&since=2020-01-01T00:00:00Z", key.Key, "")

	// Email templates and layouts: the instance's (root key, no Joist-Tenant), a tenant's own, preview, refusals.
	tpl := `{"default_locale":"en","layout":"base","variants":{"en":{"subject":"Hi {{.data.n}}","preheader":"p","html":"<p>Hi {{.contact.name}}</p>"},"de":{"subject":"Hallo {{.data.n}}","text":"Hallo"}}}`
	c.want(201, "PUT", "/v1/email/templates/welcome", root, tpl)
	c.want(200, "PUT", "/v1/email/templates/welcome", root, tpl)
	c.want(201, "PUT", "/v1/email/templates/receipt", key.Key, `{"default_locale":"en","variants":{"en":{"subject":"Receipt","text":"Thanks"}}}`)
	c.want(400, "PUT", "/v1/email/templates/bad", key.Key, `{"default_locale":"en","variants":{"en":{"subject":"{{.x","text":"t"}}}`)
	c.want(201, "PUT", "/v1/email/layouts/base", root, `{"html":"<html><body>{{.content}}</body></html>"}`)
	c.want(200, "PUT", "/v1/email/layouts/base", root, `{"html":"<html><body>{{.content}}<p>{{.tenant.name}}</p></body></html>"}`)
	c.want(400, "PUT", "/v1/email/layouts/bad", key.Key, `{"html":"<p>no content</p>"}`)
	c.want(200, "GET", "/v1/email/templates", key.Key, "")
	c.want(200, "GET", "/v1/email/templates?limit=1", root, "")
	c.want(200, "GET", "/v1/email/templates/welcome", key.Key, "")
	c.want(404, "GET", "/v1/email/templates/nope", key.Key, "")
	c.want(200, "GET", "/v1/email/layouts", key.Key, "")
	c.want(200, "GET", "/v1/email/layouts/base", key.Key, "")
	c.want(200, "POST", "/v1/email/templates/welcome/preview", key.Key, `{"locale":"de-AT","data":{"n":1},"contact":"user_42"}`)
	c.want(422, "POST", "/v1/email/templates/welcome/preview", key.Key, `{"locale":"en","data":{},"contact":"user_42"}`)
	c.want(404, "POST", "/v1/email/templates/nope/preview", key.Key, `{}`)
	c.want(202, "POST", "/v1/emails", key.Key, `{"from":"hello@acme.example","contact":"user_42","template":"welcome","locale":"de","data":{"n":2}}`)
	c.want(422, "POST", "/v1/emails", key.Key, `{"from":"hello@acme.example","contact":"user_42","template":"welcome","data":{}}`)
	c.want(200, "GET", "/v1/emails?template=welcome", key.Key, "")
	c.want(204, "DELETE", "/v1/email/templates/receipt", key.Key, "")
	c.want(404, "DELETE", "/v1/email/templates/welcome", key.Key, "")
	c.want(404, "DELETE", "/v1/email/layouts/base", key.Key, "")
	c.want(201, "PUT", "/v1/email/layouts/gone", root, `{"html":"{{.content}}"}`)
	c.want(204, "DELETE", "/v1/email/layouts/gone", root, "")

	// Sending domains: create (records), list, read, a second owner, rotate, check, delete.
	c.want(201, "POST", "/v1/domains", key.Key, `{"name":"mail.acme.example","ed25519":true,"spf_include":"_spf.relay.example"}`)
	c.want(201, "POST", "/v1/domains", root, `{"name":"shared.example","provider":"postmark"}`)
	c.want(409, "POST", "/v1/domains", root, `{"name":"mail.acme.example"}`)
	c.want(400, "POST", "/v1/domains", key.Key, `{"name":"not a domain"}`)
	c.want(200, "GET", "/v1/domains", key.Key, "")
	c.want(200, "GET", "/v1/domains/mail.acme.example", key.Key, "")
	c.want(200, "POST", "/v1/domains/mail.acme.example/rotate-dkim", key.Key, "")
	c.want(409, "POST", "/v1/domains/mail.acme.example/rotate-dkim", key.Key, "")
	c.want(404, "GET", "/v1/domains/nope.example/check", key.Key, "")
	c.want(204, "DELETE", "/v1/domains/mail.acme.example", key.Key, "")
	c.want(404, "GET", "/v1/domains/mail.acme.example", key.Key, "")

	// Suppressions: put, list, release.
	c.want(200, "PUT", "/v1/email/suppressions/ana@acme.example", key.Key, `{"category":"marketing","reason":"asked","expires_at":"2999-01-01T00:00:00Z"}`)
	c.want(400, "PUT", "/v1/email/suppressions/not-an-address", key.Key, `{}`)
	c.want(200, "GET", "/v1/email/suppressions?category=marketing", key.Key, "")
	c.want(204, "DELETE", "/v1/email/suppressions/ana@acme.example", key.Key, "")
	c.want(404, "DELETE", "/v1/email/suppressions/ana@acme.example?category=all", key.Key, "")
	// One-click unsubscribe (public): the page, the POST (twice), a token joist did not sign.
	unsub := "/u/" + env.App.Email.UnsubscribeToken(tenant.ID, "ann@x.example", "marketing")
	c.want(200, "GET", unsub, "", "")
	c.want(200, "POST", unsub, "", "List-Unsubscribe=One-Click", "Content-Type", "application/x-www-form-urlencoded")
	c.want(200, "POST", unsub, "", "")
	c.want(404, "POST", unsub[:len(unsub)-4], "", "")
	c.want(400, "GET", "/u/x", "", "")

	// Push: the VAPID key (API key, contact token), a browser's
	// subscription (contact token; the feed's tokens are stood in for),
	// a phone's device (API key).
	pushCases(t, c, env, tenant.ID, key.Key)
	// The notification feed: settings, the feed secret, a contact token
	// and the end user's routes with it (the stream with a refused token:
	// a live stream never ends for the checker to read).
	c.want(200, "PUT", "/v1/notification-settings", key.Key, `{"allowed_origins":["https://app.acme.example"],"vapid_subject":"mailto:ops@acme.example"}`)
	c.want(400, "PUT", "/v1/notification-settings", key.Key, `{"allowed_origins":["acme"]}`)
	c.want(200, "GET", "/v1/notification-settings", key.Key, "")
	c.want(200, "GET", "/v1/feed-secret", key.Key, "")
	c.want(200, "POST", "/v1/feed-secret/rotate", key.Key, "")
	_, b = c.want(201, "POST", "/v1/contacts/user_42/tokens", key.Key, `{"ttl":"2h"}`)
	c.want(400, "POST", "/v1/contacts/user_42/tokens", key.Key, `{"ttl":"48h"}`)
	var ctok struct{ Token string }
	if err := json.Unmarshal(b, &ctok); err != nil {
		t.Fatal(err)
	}
	c.want(401, "GET", "/v1/feed", key.Key, "")
	c.want(200, "GET", "/v1/feed?status=unread", ctok.Token, "")
	c.want(200, "GET", "/v1/feed/counts", ctok.Token, "")
	c.want(200, "POST", "/v1/feed/read-all", ctok.Token, "")
	c.want(404, "POST", "/v1/feed/ntf_nope/read", ctok.Token, "")
	c.want(401, "GET", "/v1/feed/stream?token=x.y.z", "", "")

	// A tenant's own email provider: set, read (hints), bad input, back
	// to the instance's.
	c.want(200, "PUT", "/v1/email/settings", key.Key, `{"provider":"resend","resend_api_key":"re_test_0123456789abcdef","resend_api_base":"https://api.resend.example"}`)
	c.want(400, "PUT", "/v1/email/settings", key.Key, `{"provider":"carrier-pigeon"}`)
	c.want(200, "GET", "/v1/email/settings", key.Key, "")
	c.want(204, "DELETE", "/v1/email/settings", key.Key, "")

	// Notifications: a type, an event and its fan-out, preferences (the
	// API key's and the end user's own).
	c.want(201, "PUT", "/v1/notification-types/booking.created", key.Key,
		`{"channels":{"in_app":{"title":"New booking","body":"{{.data.guest}} booked"}},"group":"bookings"}`)
	c.want(200, "PUT", "/v1/notification-types/booking.created", key.Key,
		`{"channels":{"in_app":{"title":"New booking","body":"{{.data.guest}} booked"}},"group":"bookings"}`)
	c.want(400, "PUT", "/v1/notification-types/booking.created", key.Key, `{"channels":{"fax":{}}}`)
	c.want(201, "PUT", "/v1/notification-types/password.reset", key.Key, `{"channels":{"in_app":{"title":"Reset"}},"critical":true}`)
	c.want(200, "GET", "/v1/notification-types", key.Key, "")
	c.want(200, "GET", "/v1/notification-types/booking.created", key.Key, "")
	_, b = c.want(202, "POST", "/v1/events", key.Key, `{"type":"booking.created","data":{"guest":"Ada"},"recipients":["user_42"]}`,
		"Idempotency-Key", "evt-check-1")
	c.want(422, "POST", "/v1/events", key.Key, `{"type":"nope","recipients":["user_42"]}`)
	var nev struct{ ID string }
	if err := json.Unmarshal(b, &nev); err != nil {
		t.Fatal(err)
	}
	c.want(200, "GET", "/v1/events?type=booking.created", key.Key, "")
	c.want(200, "GET", "/v1/events/"+nev.ID, key.Key, "")
	c.want(404, "GET", "/v1/events/nev_nope", key.Key, "")
	c.want(200, "GET", "/v1/events/"+nev.ID+"/notifications", key.Key, "")
	c.want(200, "PUT", "/v1/contacts/user_42/preferences", key.Key, `{"groups":{"bookings":{"email":false}}}`)
	c.want(422, "PUT", "/v1/contacts/user_42/preferences", key.Key, `{"types":{"password.reset":{"in_app":false}}}`)
	c.want(200, "GET", "/v1/contacts/user_42/preferences", key.Key, "")
	c.want(200, "PUT", "/v1/feed/preferences", ctok.Token, `{"channels":{"push":false}}`)
	c.want(200, "GET", "/v1/feed/preferences", ctok.Token, "")
	c.want(401, "GET", "/v1/feed/preferences", key.Key, "")
	c.want(204, "DELETE", "/v1/notification-types/password.reset", key.Key, "")
	c.want(404, "GET", "/v1/digests/ndg_nope", key.Key, "")
	// The hosted preferences page (public, signed link): the page, a form
	// without its proof, a link joist did not sign.
	var user42 string
	if err := env.App.DB.Read(context.Background(), func(tx *store.Tx) error {
		ct, err := tx.Tenant(tenant.ID).ContactGet(context.Background(), "user_42")
		user42 = ct.ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	prefs := "/p/" + env.App.Notify.PreferencesToken(tenant.ID, user42)
	c.want(200, "GET", prefs, "", "")
	c.want(400, "POST", prefs, "", "email=on", "Content-Type", "application/x-www-form-urlencoded")
	c.want(404, "GET", prefs[:len(prefs)-4]+"AAAA", "", "")

	// Revoke last: the key stops working.
	c.want(200, "DELETE", "/v1/tenants/acme/keys/"+key.ID, root, "")
	c.want(401, "GET", "/v1/contacts", key.Key, "")
	c.want(404, "DELETE", "/v1/tenants/acme/keys/key_nope", root, "")

	// Paths the document does not describe are ignored.
	c.do("GET", "/admin/login", "", "")

	for _, op := range chk.Uncovered() {
		t.Errorf("documented operation never exercised: %s", op)
	}
	if n := chk.Covered()["PUT /v1/contacts/{contact}"]; n < 2 {
		t.Errorf("Covered()[PUT /v1/contacts/{contact}] = %d, want at least 2", n)
	}
}

// recorder is a testing.TB that records Errorf instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.errs
	r.errs = nil
	return out
}

// TestReportsMismatches proves the checker fails: a fake joist answers
// with shapes, statuses and headers the document does not allow.
func TestReportsMismatches(t *testing.T) {
	type answer struct {
		status int
		ctype  string
		body   string
		noCorr bool
	}
	answers := map[string]answer{
		"GET /v1/tenants":               {200, "application/json", `{"data": 5}`, false},
		"GET /v1/tenants/acme":          {200, "application/json", `{"id":"tn_01hzzzzzzzzzzzzzzzzzzzzzzz","slug":"acme","name":"Acme","created_at":"yesterday","updated_at":"2026-01-02T15:04:05Z"}`, false},
		"GET /v1/contacts":              {418, "application/json", `{}`, false},
		"GET /healthz":                  {200, "application/json", `{"status":"ok"}`, true},
		"GET /v1/audit":                 {400, "application/json", `{"code":"invalid_time"}`, false},
		"PUT /v1/contacts/c1":           {200, "application/json", `{"id":"ct_01hzzzzzzzzzzzzzzzzzzzzzzz","external_id":"c1","email":"","name":"","locale":"","timezone":"","metadata":{},"created_at":"2026-01-02T15:04:05Z","updated_at":"2026-01-02T15:04:05Z","extra":1}`, false},
		"DELETE /v1/tenants":            {200, "application/json", `{}`, false},
		"GET /v1/tenants/acme/keys":     {200, "application/json", `{"data":[],"next_cursor":""}`, false},
		"GET /admin/anything":           {200, "text/html", `<p>not in the document</p>`, false},
		"POST /v1/tenants/acme/keys":    {201, "application/json", `{"id":"key_01hzzzzzzzzzzzzzzzzzzzzzzz","tenant_id":"tn_01hzzzzzzzzzzzzzzzzzzzzzzz","name":"","prefix":"jk_abcdef","key":"jk_short","created_at":"2026-01-02T15:04:05Z","last_used_at":null,"revoked_at":null}`, false},
		"GET /v1/contacts/c1/timeline":  {200, "application/json", `{"data":[],"next_cursor":""}`, false},
		"GET /v1/tenants/acme/keys?bad": {200, "application/json", `{"data":[],"next_cursor":""}`, false},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := r.Method + " " + r.URL.Path
		if r.URL.RawQuery == "bad" {
			k += "?bad"
		}
		a, ok := answers[k]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if !a.noCorr {
			w.Header().Set("Joist-Correlation-Id", "cor_test")
		}
		w.Header().Set("Content-Type", a.ctype)
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	defer srv.Close()

	rec := &recorder{TB: t}
	chk := openapicheck.New(rec, apptest.OpenAPI(t))
	c := caller{t: t, hc: &http.Client{Transport: chk.Transport(nil)}, base: srv.URL}

	cases := []struct {
		method, path, key, body string
		want                    []string // substrings of one reported error; nil: no error
	}{
		{"GET", "/v1/tenants", "k", "", []string{"GET /v1/tenants -> 200", "response does not match", "$.data"}},
		{"GET", "/v1/tenants/acme", "k", "", []string{"GET /v1/tenants/acme -> 200", "$.created_at"}},
		{"GET", "/v1/contacts", "k", "", []string{"GET /v1/contacts -> 418", "418"}},
		{"GET", "/healthz", "", "", []string{"GET /healthz -> 200", "Joist-Correlation-Id"}},
		{"GET", "/v1/audit", "k", "", []string{"GET /v1/audit -> 400", "content type 'application/json'"}},
		{"PUT", "/v1/contacts/c1", "k", `{"name":"x"}`, []string{"PUT /v1/contacts/c1 -> 200", "response does not match", "extra"}},
		{"PUT", "/v1/contacts/c1", "k", `{"nmae":"x"}`, []string{"PUT /v1/contacts/c1 -> 200", "server accepted a request the document does not allow"}},
		{"DELETE", "/v1/tenants", "k", "", []string{"DELETE /v1/tenants -> 200", "no DELETE operation"}},
		{"GET", "/v1/tenants/acme/keys", "", "", []string{"GET /v1/tenants/acme/keys -> 200", "server accepted"}},
		{"POST", "/v1/tenants/acme/keys", "k", "", []string{"POST /v1/tenants/acme/keys -> 201", "$.key"}},
		{"GET", "/v1/contacts/c1/timeline?limit=501", "k", "", []string{"limit=501 -> 200", "server accepted"}},
		// Correct exchanges and paths outside the document: nothing reported.
		{"GET", "/v1/tenants/acme/keys?bad", "k", "", nil},
		{"GET", "/admin/anything", "", "", nil},
		{"GET", "/v1/tenants/acme/nothing", "k", "", nil},
	}
	for _, tc := range cases {
		c.do(tc.method, tc.path, tc.key, tc.body)
		errs := rec.take()
		if tc.want == nil {
			if len(errs) > 0 {
				t.Errorf("%s %s: unexpected reports:\n%s", tc.method, tc.path, strings.Join(errs, "\n"))
			}
			continue
		}
		found := slices.ContainsFunc(errs, func(e string) bool {
			for _, w := range tc.want {
				if !strings.Contains(e, w) {
					return false
				}
			}
			return true
		})
		if !found {
			t.Errorf("%s %s: no report containing %q; got:\n%s", tc.method, tc.path, tc.want, strings.Join(errs, "\n"))
		}
	}
	cov := chk.Covered()
	if cov["GET /v1/tenants"] != 1 || cov["PUT /v1/contacts/{contact}"] != 2 {
		t.Errorf("Covered() = %v", cov)
	}
	if _, ok := cov["DELETE /v1/tenants"]; ok {
		t.Errorf("Covered() counts an undocumented operation: %v", cov)
	}
}

// TestBodiesStillReadable checks the transport hands the caller the same
// bytes the server sent, and the server the bytes the caller sent.
func TestBodiesStillReadable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Joist-Correlation-Id", "cor_x")
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"type":"urn:joist:problem:echo","title":"Bad Request","status":400,"detail":%q,"code":"echo"}`, b)
	}))
	defer srv.Close()
	chk := openapicheck.New(t, apptest.OpenAPI(t))
	c := caller{t: t, hc: &http.Client{Transport: chk.Transport(nil)}, base: srv.URL}
	_, b := c.want(400, "PUT", "/v1/contacts/c1", "k", `{"name":"sent"}`)
	var p struct{ Detail string }
	if err := json.Unmarshal(b, &p); err != nil || p.Detail != `{"name":"sent"}` {
		t.Errorf("body = %s (%v)", b, err)
	}
}

// TestDocumentMatchesRoutes checks the document and the route table agree:
// every registered route is documented with its exact path template, and
// every documented operation is a registered route.
func TestDocumentMatchesRoutes(t *testing.T) {
	t.Parallel()
	// httpapi.New dereferences its *core.Service, so take the routes from a
	// running joist.
	env := apptest.Start(t, store.SQLite)
	routes := map[string]bool{"GET /metrics": true} // registered beside the table by API.Register
	for _, rt := range env.App.API.Routes() {
		routes[rt.Method+" "+rt.Pattern] = true
	}
	chk := openapicheck.New(t, apptest.OpenAPI(t))
	documented := map[string]bool{}
	for _, op := range chk.Operations() {
		documented[op] = true
		if !routes[op] {
			t.Errorf("documented operation %s is not a registered route", op)
		}
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}

	// The document's own conventions, checked on the raw JSON.
	var doc struct {
		OpenAPI  string                                `json:"openapi"`
		Security []map[string][]string                 `json:"security"`
		Paths    map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(apptest.OpenAPI(t), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("global security = %v, want bearerAuth", doc.Security)
	}
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
		var op struct {
			Security *[]any `json:"security"`
		}
		if err := json.Unmarshal(doc.Paths[p]["get"], &op); err != nil || op.Security == nil || len(*op.Security) != 0 {
			t.Errorf("%s: want security: []", p)
		}
	}
}
