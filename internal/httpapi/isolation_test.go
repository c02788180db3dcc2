package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v82/webhook"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/testutil"
)

type rawResp struct {
	path   string
	status int
	body   string
	header http.Header
}

// raw sends one request with key and optional Joist-Tenant.
func (s *setup) raw(t *testing.T, method, path, key, tenant, body string, hdr ...string) rawResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.ctx, method, s.env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if tenant != "" {
		req.Header.Set("Joist-Tenant", tenant)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResp{path: path, status: resp.StatusCode, body: string(b), header: resp.Header}
}

// TestTenantIsolation walks every API route with tenant A's key against
// tenant B's objects. A route added without a case here fails the test.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		a := s.keyA.Key
		b := s.b
		want404 := func(t *testing.T, r rawResp) {
			t.Helper()
			if r.status != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", r.status, r.body)
			}
			for _, leak := range []string{s.contactB.ID, "bob@b.example", "bea@b.example", s.keyB.ID} {
				// Echoing the id the caller sent is no leak.
				if strings.Contains(r.body, leak) && !strings.Contains(r.path, leak) {
					t.Fatalf("404 body leaks %q: %s", leak, r.body)
				}
			}
		}
		noLeak := func(t *testing.T, r rawResp) {
			t.Helper()
			if r.status >= 500 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			for _, leak := range []string{b.ID, s.contactB.ID, "bob@b.example", "bea@b.example", s.keyB.ID} {
				if strings.Contains(r.body, leak) {
					t.Fatalf("response leaks tenant B's %q: %s", leak, r.body)
				}
			}
		}
		cases := map[string]func(t *testing.T){
			"GET /healthz":      func(t *testing.T) { noLeak(t, s.raw(t, "GET", "/healthz", a, "clinic-b", "")) },
			"GET /readyz":       func(t *testing.T) { noLeak(t, s.raw(t, "GET", "/readyz", a, "clinic-b", "")) },
			"GET /openapi.json": func(t *testing.T) { noLeak(t, s.raw(t, "GET", "/openapi.json", a, "clinic-b", "")) },
			"POST /v1/tenants": func(t *testing.T) {
				r := s.raw(t, "POST", "/v1/tenants", a, "", `{"slug":"sneaky"}`)
				if r.status != http.StatusForbidden {
					t.Fatalf("tenant key created a tenant: %d %s", r.status, r.body)
				}
			},
			"GET /v1/tenants": func(t *testing.T) {
				r := s.raw(t, "GET", "/v1/tenants", a, "", "")
				noLeak(t, r)
				if !strings.Contains(r.body, s.a.ID) {
					t.Fatalf("tenant key does not see its own tenant: %s", r.body)
				}
			},
			"GET /v1/tenants/{tenant}": func(t *testing.T) {
				want404(t, s.raw(t, "GET", "/v1/tenants/clinic-b", a, "", ""))
				want404(t, s.raw(t, "GET", "/v1/tenants/"+b.ID, a, "", ""))
			},
			"POST /v1/tenants/{tenant}/keys": func(t *testing.T) {
				before := env.Count(t, "api_keys")
				want404(t, s.raw(t, "POST", "/v1/tenants/clinic-b/keys", a, "", `{"name":"x"}`))
				if env.Count(t, "api_keys") != before {
					t.Fatal("a key was stored")
				}
			},
			"GET /v1/tenants/{tenant}/keys": func(t *testing.T) {
				want404(t, s.raw(t, "GET", "/v1/tenants/"+b.ID+"/keys", a, "", ""))
			},
			"DELETE /v1/tenants/{tenant}/keys/{key}": func(t *testing.T) {
				want404(t, s.raw(t, "DELETE", "/v1/tenants/clinic-b/keys/"+s.keyB.ID, a, "", ""))
				want404(t, s.raw(t, "DELETE", "/v1/tenants/clinic-a/keys/"+s.keyB.ID, a, "", ""))
				if r := s.raw(t, "GET", "/v1/contacts/only-in-b", s.keyB.Key, "", ""); r.status != 200 {
					t.Fatalf("tenant B's key stopped working: %d", r.status)
				}
			},
			"GET /v1/contacts": func(t *testing.T) {
				want404(t, s.raw(t, "GET", "/v1/contacts", a, "clinic-b", ""))
				want404(t, s.raw(t, "GET", "/v1/contacts?q=bob", a, b.ID, ""))
				noLeak(t, s.raw(t, "GET", "/v1/contacts?q=b.example", a, "", ""))
			},
			"PUT /v1/contacts/{contact}": func(t *testing.T) {
				want404(t, s.raw(t, "PUT", "/v1/contacts/only-in-b", a, "clinic-b", `{"name":"Mallory"}`))
				// Without the header the write lands in A's own tenant, never in B.
				r := s.raw(t, "PUT", "/v1/contacts/only-in-b", a, "", `{"name":"Mallory"}`)
				noLeak(t, r)
				got := s.raw(t, "GET", "/v1/contacts/only-in-b", s.keyB.Key, "", "")
				if strings.Contains(got.body, "Mallory") {
					t.Fatal("tenant A changed tenant B's contact")
				}
			},
			"GET /v1/contacts/{contact}": func(t *testing.T) {
				want404(t, s.raw(t, "GET", "/v1/contacts/only-in-b", a, "clinic-b", ""))
				// "shared-id" exists in both tenants: A sees only its own.
				r := s.raw(t, "GET", "/v1/contacts/shared-id", a, "", "")
				noLeak(t, r)
				if !strings.Contains(r.body, s.contactA.ID) {
					t.Fatalf("own contact not returned: %s", r.body)
				}
			},
			"GET /v1/contacts/{contact}/timeline": func(t *testing.T) {
				want404(t, s.raw(t, "GET", "/v1/contacts/only-in-b/timeline", a, "clinic-b", ""))
				noLeak(t, s.raw(t, "GET", "/v1/contacts/shared-id/timeline", a, "", ""))
			},
			"GET /v1/audit": func(t *testing.T) {
				want404(t, s.raw(t, "GET", "/v1/audit", a, "clinic-b", ""))
				r := s.raw(t, "GET", "/v1/audit", a, "", "")
				noLeak(t, r)
				var l struct {
					Data []struct {
						TenantID string `json:"tenant_id"`
					} `json:"data"`
				}
				if err := json.Unmarshal([]byte(r.body), &l); err != nil || len(l.Data) == 0 {
					t.Fatalf("tenant audit: %v %s", err, r.body)
				}
				for _, e := range l.Data {
					if e.TenantID != s.a.ID {
						t.Fatalf("tenant key sees audit entry of tenant %q", e.TenantID)
					}
				}
			},
		}
		// Tenant B owns a job (scheduled far ahead, so it stays put).
		jobB := s.raw(t, "POST", "/v1/jobs", s.keyB.Key, "", `{"url":"http://127.0.0.1:9/x","delay":"1h","unique_key":"b-only"}`)
		if jobB.status != http.StatusAccepted {
			t.Fatalf("create B's job: %d %s", jobB.status, jobB.body)
		}
		var jb struct{ ID string }
		json.Unmarshal([]byte(jobB.body), &jb)
		secretB := s.raw(t, "GET", "/v1/signing-secret", s.keyB.Key, "", "")
		var sb struct{ Data []struct{ Secret string } }
		json.Unmarshal([]byte(secretB.body), &sb)
		if len(sb.Data) != 1 {
			t.Fatalf("B's secret: %s", secretB.body)
		}
		noJobLeak := func(t *testing.T, r rawResp) {
			t.Helper()
			noLeak(t, r)
			if strings.Contains(r.body, jb.ID) && !strings.Contains(r.path, jb.ID) || strings.Contains(r.body, sb.Data[0].Secret) {
				t.Fatalf("response leaks tenant B's job or secret: %s", r.body)
			}
		}
		cases["POST /v1/jobs"] = func(t *testing.T) {
			want404(t, s.raw(t, "POST", "/v1/jobs", a, "clinic-b", `{"url":"http://127.0.0.1:9/x","delay":"1h"}`))
			// The same unique key in A's own tenant is not B's job.
			r := s.raw(t, "POST", "/v1/jobs", a, "", `{"url":"http://127.0.0.1:9/x","delay":"1h","unique_key":"b-only"}`)
			if r.status != http.StatusAccepted {
				t.Fatalf("unique keys must be per tenant: %d %s", r.status, r.body)
			}
			noJobLeak(t, r)
		}
		cases["GET /v1/jobs"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/jobs", a, "clinic-b", ""))
			noJobLeak(t, s.raw(t, "GET", "/v1/jobs?state=scheduled", a, "", ""))
		}
		cases["GET /v1/jobs/{job}"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/jobs/"+jb.ID, a, "", ""))
			want404(t, s.raw(t, "GET", "/v1/jobs/"+jb.ID, a, "clinic-b", ""))
		}
		cases["POST /v1/jobs/{job}/retry"] = func(t *testing.T) {
			want404(t, s.raw(t, "POST", "/v1/jobs/"+jb.ID+"/retry", a, "", ""))
		}
		cases["POST /v1/jobs/{job}/cancel"] = func(t *testing.T) {
			want404(t, s.raw(t, "POST", "/v1/jobs/"+jb.ID+"/cancel", a, "", ""))
			r := s.raw(t, "GET", "/v1/jobs/"+jb.ID, s.keyB.Key, "", "")
			if !strings.Contains(r.body, `"state":"scheduled"`) {
				t.Fatalf("tenant A changed B's job: %s", r.body)
			}
		}
		cases["POST /v1/jobs/bulk"] = func(t *testing.T) {
			want404(t, s.raw(t, "POST", "/v1/jobs/bulk", a, "clinic-b", `{"action":"cancel","state":["scheduled"]}`))
			r := s.raw(t, "POST", "/v1/jobs/bulk", a, "", `{"action":"cancel","state":["scheduled"]}`)
			noJobLeak(t, r)
			if got := s.raw(t, "GET", "/v1/jobs/"+jb.ID, s.keyB.Key, "", ""); !strings.Contains(got.body, `"state":"scheduled"`) {
				t.Fatalf("A's bulk cancel reached B's job: %s", got.body)
			}
		}
		cases["GET /v1/signing-secret"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/signing-secret", a, "clinic-b", ""))
			noJobLeak(t, s.raw(t, "GET", "/v1/signing-secret", a, "", ""))
		}
		cases["POST /v1/signing-secret/rotate"] = func(t *testing.T) {
			want404(t, s.raw(t, "POST", "/v1/signing-secret/rotate", a, "clinic-b", `{"expire_old_in":"0s"}`))
			noJobLeak(t, s.raw(t, "POST", "/v1/signing-secret/rotate", a, "", `{"expire_old_in":"0s"}`))
			if got := s.raw(t, "GET", "/v1/signing-secret", s.keyB.Key, "", ""); !strings.Contains(got.body, sb.Data[0].Secret) || strings.Count(got.body, "whsec_") != 1 {
				t.Fatalf("A's rotation touched B's secret: %s", got.body)
			}
		}
		// Tenant B owns a schedule (yearly, so it does not fire during the test).
		schedB := s.raw(t, "PUT", "/v1/schedules/b-only-sched", s.keyB.Key, "", `{"cron":"@yearly","job":{"url":"http://127.0.0.1:9/b"}}`)
		if schedB.status != http.StatusCreated {
			t.Fatalf("create B's schedule: %d %s", schedB.status, schedB.body)
		}
		var schB struct{ ID string }
		json.Unmarshal([]byte(schedB.body), &schB)
		noSchedLeak := func(t *testing.T, r rawResp) {
			t.Helper()
			noLeak(t, r)
			if strings.Contains(r.body, schB.ID) || strings.Contains(r.body, "http://127.0.0.1:9/b") {
				t.Fatalf("response leaks tenant B's schedule: %s", r.body)
			}
		}
		schedBUnchanged := func(t *testing.T) {
			t.Helper()
			r := s.raw(t, "GET", "/v1/schedules/b-only-sched", s.keyB.Key, "", "")
			if r.status != http.StatusOK || !strings.Contains(r.body, `"cron":"@yearly"`) || !strings.Contains(r.body, `"paused":false`) {
				t.Fatalf("tenant A changed B's schedule: %d %s", r.status, r.body)
			}
		}
		cases["GET /v1/schedules"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/schedules", a, "clinic-b", ""))
			noSchedLeak(t, s.raw(t, "GET", "/v1/schedules", a, "", ""))
		}
		cases["PUT /v1/schedules/{name}"] = func(t *testing.T) {
			want404(t, s.raw(t, "PUT", "/v1/schedules/b-only-sched", a, "clinic-b", `{"cron":"@daily","job":{"url":"http://127.0.0.1:9/a"}}`))
			// The same name in A's own tenant is A's own schedule, created anew.
			r := s.raw(t, "PUT", "/v1/schedules/b-only-sched", a, "", `{"cron":"@daily","paused":true,"job":{"url":"http://127.0.0.1:9/a"}}`)
			if r.status != http.StatusCreated {
				t.Fatalf("schedule names must be per tenant: %d %s", r.status, r.body)
			}
			noSchedLeak(t, r)
			schedBUnchanged(t)
			if d := s.raw(t, "DELETE", "/v1/schedules/b-only-sched", a, "", ""); d.status != http.StatusOK {
				t.Fatalf("delete A's own: %d %s", d.status, d.body)
			}
		}
		cases["GET /v1/schedules/{name}"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/schedules/b-only-sched", a, "", ""))
			want404(t, s.raw(t, "GET", "/v1/schedules/b-only-sched", a, "clinic-b", ""))
		}
		cases["DELETE /v1/schedules/{name}"] = func(t *testing.T) {
			want404(t, s.raw(t, "DELETE", "/v1/schedules/b-only-sched", a, "", ""))
			want404(t, s.raw(t, "DELETE", "/v1/schedules/b-only-sched", a, "clinic-b", ""))
			schedBUnchanged(t)
		}
		cases["POST /v1/schedules/{name}/pause"] = func(t *testing.T) {
			want404(t, s.raw(t, "POST", "/v1/schedules/b-only-sched/pause", a, "", ""))
			want404(t, s.raw(t, "POST", "/v1/schedules/b-only-sched/pause", a, "clinic-b", ""))
			schedBUnchanged(t)
		}
		cases["POST /v1/schedules/{name}/resume"] = func(t *testing.T) {
			want404(t, s.raw(t, "POST", "/v1/schedules/b-only-sched/resume", a, "", ""))
			want404(t, s.raw(t, "POST", "/v1/schedules/b-only-sched/resume", a, "clinic-b", ""))
			schedBUnchanged(t)
		}
		// Tenant B owns a webhook source with one event (a GitHub delivery).
		if r := s.raw(t, "PUT", "/v1/webhook-sources/gh", s.keyB.Key, "", `{"provider":"github","secrets":[{"secret":"b-secret"}],"forward_url":"http://127.0.0.1:9/b"}`); r.status != http.StatusCreated {
			t.Fatalf("B's source: %d %s", r.status, r.body)
		}
		mac := hmac.New(sha256.New, []byte("b-secret"))
		mac.Write([]byte(`{"b":1}`))
		delivered := s.raw(t, "POST", "/in/clinic-b/gh", "", "", `{"b":1}`, "X-GitHub-Delivery", "b-delivery", "X-GitHub-Event", "push",
			"X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		var evB struct{ ID string }
		json.Unmarshal([]byte(delivered.body), &evB)
		if delivered.status != 200 || evB.ID == "" {
			t.Fatalf("B's delivery: %d %s", delivered.status, delivered.body)
		}
		noEventLeak := func(t *testing.T, r rawResp) {
			t.Helper()
			noLeak(t, r)
			if (strings.Contains(r.body, evB.ID) && !strings.Contains(r.path, evB.ID)) || strings.Contains(r.body, "b-delivery") || strings.Contains(r.body, "127.0.0.1:9/b") {
				t.Fatalf("response leaks tenant B's webhook data: %s", r.body)
			}
		}
		cases["PUT /v1/webhook-sources/{name}"] = func(t *testing.T) {
			want404(t, s.raw(t, "PUT", "/v1/webhook-sources/gh", a, "clinic-b", `{"provider":"github","secrets":[{"secret":"x"}]}`))
			// The same name in A's tenant is A's own source.
			r := s.raw(t, "PUT", "/v1/webhook-sources/gh", a, "", `{"provider":"github","secrets":[{"secret":"a-secret"}]}`)
			if r.status != http.StatusCreated {
				t.Fatalf("A's own source: %d %s", r.status, r.body)
			}
			noEventLeak(t, r)
		}
		cases["GET /v1/webhook-sources"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/webhook-sources", a, "clinic-b", ""))
			noEventLeak(t, s.raw(t, "GET", "/v1/webhook-sources", a, "", ""))
		}
		cases["GET /v1/webhook-sources/{name}"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/webhook-sources/gh", a, "clinic-b", ""))
		}
		cases["DELETE /v1/webhook-sources/{name}"] = func(t *testing.T) {
			want404(t, s.raw(t, "DELETE", "/v1/webhook-sources/gh", a, "clinic-b", ""))
			if r := s.raw(t, "GET", "/v1/webhook-sources/gh", s.keyB.Key, "", ""); r.status != 200 {
				t.Fatalf("B's source is gone: %d", r.status)
			}
		}
		cases["GET /v1/webhook-sources/{name}/rejections"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/webhook-sources/gh/rejections", a, "clinic-b", ""))
		}
		cases["GET /v1/webhook-events"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/webhook-events", a, "clinic-b", ""))
			noEventLeak(t, s.raw(t, "GET", "/v1/webhook-events?provider_event_id=b-delivery", a, "", ""))
		}
		cases["GET /v1/webhook-events/{event}"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/webhook-events/"+evB.ID, a, "", ""))
			want404(t, s.raw(t, "GET", "/v1/webhook-events/"+evB.ID, a, "clinic-b", ""))
		}
		cases["POST /v1/webhook-events/{event}/replay"] = func(t *testing.T) {
			want404(t, s.raw(t, "POST", "/v1/webhook-events/"+evB.ID+"/replay", a, "", ""))
		}
		cases["POST /v1/webhook-events/replay"] = func(t *testing.T) {
			want404(t, s.raw(t, "POST", "/v1/webhook-events/replay", a, "clinic-b", `{"source":"gh"}`))
			noEventLeak(t, s.raw(t, "POST", "/v1/webhook-events/replay", a, "", `{"provider_event_id":"b-delivery"}`))
		}
		cases["POST /in/{tenant}/{source}"] = func(t *testing.T) {
			// A's key means nothing here: the signature decides, and A's secret is not B's.
			mac := hmac.New(sha256.New, []byte("a-secret"))
			mac.Write([]byte(`{"a":1}`))
			r := s.raw(t, "POST", "/in/clinic-b/gh", a, "", `{"a":1}`, "X-GitHub-Delivery", "a-into-b", "X-GitHub-Event", "push",
				"X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
			if r.status != http.StatusUnauthorized {
				t.Fatalf("A's signature into B's source: %d %s", r.status, r.body)
			}
			noEventLeak(t, r)
		}
		// Tenant B holds Stripe billing state: a subscription delivered to its
		// Stripe source, its customer linked to B's contact.
		if r := s.raw(t, "PUT", "/v1/webhook-sources/st", s.keyB.Key, "", `{"provider":"stripe","secrets":[{"secret":"whsec_b_only"}]}`); r.status != http.StatusCreated {
			t.Fatalf("B's stripe source: %d %s", r.status, r.body)
		}
		if r := s.raw(t, "PUT", "/v1/contacts/b-billing", s.keyB.Key, "", `{"name":"Bill"}`); r.status != http.StatusCreated {
			t.Fatalf("B's billing contact: %d %s", r.status, r.body)
		}
		if r := s.raw(t, "PUT", "/v1/billing/customers/cus_bonly", s.keyB.Key, "", `{"contact":"b-billing"}`); r.status != http.StatusCreated {
			t.Fatalf("B's customer link: %d %s", r.status, r.body)
		}
		stripeBody := `{"id":"evt_bonly","object":"event","created":1767225600,"livemode":true,"type":"customer.subscription.created",
			"data":{"object":{"id":"sub_bonly","object":"subscription","customer":"cus_bonly","status":"active","items":{"data":[]}}}}`
		signed := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: []byte(stripeBody), Secret: "whsec_b_only"})
		if r := s.raw(t, "POST", "/in/clinic-b/st", "", "", stripeBody, "Stripe-Signature", signed.Header); r.status != 200 {
			t.Fatalf("B's stripe delivery: %d %s", r.status, r.body)
		}
		testutil.Eventually(t, 20*time.Second, func() error {
			if st := s.raw(t, "GET", "/v1/subscriptions/sub_bonly", s.keyB.Key, "", "").status; st != 200 {
				return fmt.Errorf("B's subscription was never applied: GET is %d", st)
			}
			return nil
		})
		noBillingLeak := func(t *testing.T, r rawResp) {
			t.Helper()
			noLeak(t, r)
			if (strings.Contains(r.body, "sub_bonly") && !strings.Contains(r.path, "sub_bonly")) || strings.Contains(r.body, "b-billing") {
				t.Fatalf("response leaks tenant B's billing state: %s", r.body)
			}
		}
		cases["GET /v1/subscriptions"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/subscriptions", a, "clinic-b", ""))
			noBillingLeak(t, s.raw(t, "GET", "/v1/subscriptions", a, "", ""))
			noBillingLeak(t, s.raw(t, "GET", "/v1/subscriptions?contact=b-billing", a, "", ""))
		}
		cases["GET /v1/subscriptions/{subscription}"] = func(t *testing.T) {
			want404(t, s.raw(t, "GET", "/v1/subscriptions/sub_bonly", a, "", ""))
			want404(t, s.raw(t, "GET", "/v1/subscriptions/sub_bonly", a, "clinic-b", ""))
		}
		cases["GET /v1/billing/customers/{customer}"] = func(t *testing.T) {
			// A's own key reads A's own link of the id (if A made one), never B's.
			noBillingLeak(t, s.raw(t, "GET", "/v1/billing/customers/cus_bonly", a, "", ""))
			want404(t, s.raw(t, "GET", "/v1/billing/customers/cus_bonly", a, "clinic-b", ""))
			want404(t, s.raw(t, "GET", "/v1/billing/customers/cus_bonly", a, "_", ""))
		}
		cases["PUT /v1/billing/customers/{customer}"] = func(t *testing.T) {
			want404(t, s.raw(t, "PUT", "/v1/billing/customers/cus_bonly", a, "clinic-b", `{"contact":"b-billing"}`))
			// B's contact does not exist in A; A's own "shared-id" is A's own link.
			want404(t, s.raw(t, "PUT", "/v1/billing/customers/cus_bonly", a, "", `{"contact":"b-billing"}`))
			if r := s.raw(t, "PUT", "/v1/billing/customers/cus_bonly", a, "", `{"contact":"shared-id"}`); r.status != http.StatusCreated {
				t.Fatalf("A's own link: %d %s", r.status, r.body)
			} else {
				noBillingLeak(t, r)
			}
			if r := s.raw(t, "GET", "/v1/subscriptions/sub_bonly", s.keyB.Key, "", ""); !strings.Contains(r.body, `"contact":"b-billing"`) {
				t.Fatalf("A's link changed B's subscription: %s", r.body)
			}
			// Routing a customer to a tenant is the instance's (root key) alone:
			// A's key can neither name B in the body nor reach the instance.
			if r := s.raw(t, "PUT", "/v1/billing/customers/cus_bonly", a, "", `{"tenant":"clinic-b","contact":"b-billing"}`); r.status != http.StatusBadRequest {
				t.Fatalf("A's key routed a customer to B: %d %s", r.status, r.body)
			}
			want404(t, s.raw(t, "PUT", "/v1/billing/customers/cus_bonly", a, "_", `{"tenant":"clinic-a"}`))
		}
		emailIsolationCases(t, s, cases, want404, noLeak)
		emailTemplateIsolationCases(t, s, cases, want404, noLeak)
		emailDomainIsolationCases(t, s, cases, want404, noLeak)
		emailSuppressionIsolationCases(t, s, cases, want404, noLeak)
		emailSettingsIsolationCases(t, s, cases, want404, noLeak)
		emailUnsubscribeIsolationCases(t, s, cases)
		notifyIsolationCases(t, s, cases, want404, noLeak)
		notifyMoreIsolationCases(t, s, cases, want404)
		pushIsolationCases(t, s, cases, want404, noLeak)
		feedIsolationCases(t, s, cases, want404, noLeak)
		covered := 0
		for _, rt := range env.App.API.Routes() {
			name := rt.Method + " " + rt.Pattern
			f, ok := cases[name]
			if !ok {
				t.Errorf("route %s has no tenant isolation case: add one to TestTenantIsolation", name)
				continue
			}
			covered++
			t.Run(strings.ReplaceAll(name, "/", "_"), f)
		}
		if covered != len(cases) {
			t.Errorf("%d cases for %d routes: remove cases of routes that no longer exist", len(cases), covered)
		}
	})
}
