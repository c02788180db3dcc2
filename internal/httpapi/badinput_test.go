package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// TestBadInputStoresNothing sends malformed, mistyped, oversized and
// unauthorised requests: each gets a clear 4xx problem, and no table gains
// or loses a row.
func TestBadInputStoresNothing(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		root, a := env.RootKey, s.keyA.Key
		big := `{"metadata":{"x":"` + strings.Repeat("a", 2<<20) + `"}}`
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		if r := s.raw(t, "GET", "/v1/tenants?limit=1", root, "", ""); json.Unmarshal([]byte(r.body), &page) != nil || page.NextCursor == "" {
			t.Fatalf("a tenants page with a next cursor: %s", r.body)
		}
		tenantsCursor := page.NextCursor
		cases := []struct {
			name, method, path, key, tenant, body string
			hdr                                   []string
			status                                int
			code, detail                          string
		}{
			{"malformed json", "POST", "/v1/tenants", root, "", `{"slug":`, nil, 400, "invalid_json", "ends in the middle"},
			{"syntax error position", "POST", "/v1/tenants", root, "", "{\n \"slug\": x}", nil, 400, "invalid_json", "line 2"},
			{"unknown field", "POST", "/v1/tenants", root, "", `{"slug":"x","nme":"y"}`, nil, 400, "unknown_field", `"nme"`},
			{"wrong type", "POST", "/v1/tenants", root, "", `{"slug":5}`, nil, 400, "invalid_field_type", `"slug" must be a string`},
			{"not an object", "POST", "/v1/tenants", root, "", `[1,2]`, nil, 400, "invalid_json", "JSON object"},
			{"trailing data", "POST", "/v1/tenants", root, "", `{"slug":"t1"} {"slug":"t2"}`, nil, 400, "invalid_json", "after the JSON object"},
			{"empty body", "POST", "/v1/tenants", root, "", ``, nil, 400, "empty_body", "empty"},
			{"wrong media type", "POST", "/v1/tenants", root, "", `slug=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", "application/json"},
			{"oversized body", "PUT", "/v1/contacts/u9", a, "", big, nil, 413, "body_too_large", "limit"},
			{"oversized idempotent body", "POST", "/v1/tenants", root, "", big, []string{"Idempotency-Key", "big"}, 413, "body_too_large", "limit"},
			{"no key", "GET", "/v1/contacts", "", "", "", nil, 401, "missing_key", "Bearer"},
			{"bad key", "GET", "/v1/contacts", "jk_notarealkey", "", "", nil, 401, "invalid_key", "copied whole"},
			{"revoked key", "GET", "/v1/contacts", s.revokedKeyOfB.Key, "", "", nil, 401, "revoked_key", "revoked"},
			{"basic auth", "GET", "/v1/contacts", "", "", "", []string{"Authorization", "Basic Zm9vOmJhcg=="}, 401, "invalid_authorization", "Bearer"},
			{"unknown tenant", "GET", "/v1/contacts", root, "no-such", "", nil, 404, "tenant_not_found", "no-such"},
			{"unknown tenant id", "PUT", "/v1/contacts/u1", root, "tn_0000000000000000000000000z", `{"name":"x"}`, nil, 404, "tenant_not_found", ""},
			{"bad slug", "POST", "/v1/tenants", root, "", `{"slug":"Not A Slug"}`, nil, 400, "invalid_slug", "a-z"},
			{"slug looks like id", "POST", "/v1/tenants", root, "", `{"slug":"tn_x"}`, nil, 400, "invalid_slug", ""},
			{"duplicate slug", "POST", "/v1/tenants", root, "", `{"slug":"clinic-a"}`, nil, 409, "slug_taken", "clinic-a"},
			{"bad email", "PUT", "/v1/contacts/u9", a, "", `{"email":"not an email"}`, nil, 400, "invalid_email", "not an email"},
			{"bad timezone", "PUT", "/v1/contacts/u9", a, "", `{"timezone":"Mars/Olympus"}`, nil, 400, "invalid_timezone", "Europe/Paris"},
			{"bad locale", "PUT", "/v1/contacts/u9", a, "", `{"locale":"not a locale!"}`, nil, 400, "invalid_locale", "BCP 47"},
			{"metadata not object", "PUT", "/v1/contacts/u9", a, "", `{"metadata":[1]}`, nil, 400, "invalid_metadata", "JSON object"},
			{"contact id too long", "PUT", "/v1/contacts/" + strings.Repeat("x", 256), a, "", `{}`, nil, 400, "invalid_contact_id", "255"},
			{"contact id with space", "PUT", "/v1/contacts/a%20b", a, "", `{}`, nil, 400, "invalid_contact_id", "spaces"},
			{"limit zero", "GET", "/v1/contacts?limit=0", a, "", "", nil, 400, "invalid_limit", "1 to 500"},
			{"limit too big", "GET", "/v1/contacts?limit=501", a, "", "", nil, 400, "invalid_limit", "1 to 500"},
			{"limit not a number", "GET", "/v1/tenants?limit=ten", root, "", "", nil, 400, "invalid_limit", "ten"},
			{"bad cursor", "GET", "/v1/contacts?cursor=%21%21", a, "", "", nil, 400, "invalid_cursor", "next_cursor"},
			{"bad since", "GET", "/v1/audit?since=yesterday", root, "", "", nil, 400, "invalid_time", "RFC 3339"},
			{"key name too long", "POST", "/v1/tenants/clinic-a/keys", root, "", `{"name":"` + strings.Repeat("n", 101) + `"}`, nil, 400, "invalid_name", "100"},
			{"idempotency key too long", "POST", "/v1/tenants", root, "", `{"slug":"ok-slug"}`, []string{"Idempotency-Key", strings.Repeat("k", 256)}, 400, "invalid_idempotency_key", "255"},
			{"unknown route", "GET", "/v1/nope", root, "", "", nil, 404, "route_not_found", "openapi"},
			{"wrong method", "PATCH", "/v1/contacts/u1", a, "", `{}`, nil, 405, "method_not_allowed", "PATCH is not allowed on /v1/contacts/u1; allowed: GET, HEAD, PUT"},
			{"content type with a line break", "POST", "/v1/jobs", a, "", `{"url":"http://127.0.0.1:9/x","body":"x","content_type":"text/plain\r\nX-Evil: 1"}`, nil, 400, "invalid_content_type", "line break"},
			{"priority given as 0", "POST", "/v1/jobs", a, "", `{"url":"http://127.0.0.1:9/x","priority":0}`, nil, 400, "invalid_priority", "leave it out"},
			{"max_attempts given as 0", "POST", "/v1/jobs", a, "", `{"url":"http://127.0.0.1:9/x","max_attempts":0}`, nil, 400, "invalid_max_attempts", "1 to 100"},
			{"schedule priority given as 0", "PUT", "/v1/schedules/nightly", a, "", `{"cron":"@hourly","job":{"url":"http://127.0.0.1:9/x","priority":0}}`, nil, 400, "invalid_priority", "leave it out"},
			{"cursor of another list", "GET", "/v1/contacts?cursor=" + tenantsCursor, a, "", "", nil, 400, "invalid_cursor", "next_cursor"},
			{"header block over the limit", "GET", "/v1/contacts", a, "", "", []string{"X-Big", strings.Repeat("b", 40<<10)}, 431, "headers_too_large", "limit is 32768"},
			{"unknown key to revoke", "DELETE", "/v1/tenants/clinic-a/keys/key_nope", root, "", "", nil, 404, "not_found", ""},
			{"unknown contact", "GET", "/v1/contacts/nobody", a, "", "", nil, 404, "not_found", "nobody"},
		}
		before := env.Snapshot(t)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.raw(t, c.method, c.path, c.key, c.tenant, c.body, c.hdr...)
				if r.status != c.status {
					t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("Content-Type %q, want application/problem+json", ct)
				}
				var p struct {
					Type, Title, Detail, Code, CorrelationID string
					Status                                   int
				}
				if err := json.Unmarshal([]byte(r.body), &p); err != nil {
					t.Fatalf("body is not a problem: %v: %s", err, r.body)
				}
				if p.Code != c.code || p.Status != c.status || p.Type == "" || p.Title == "" {
					t.Fatalf("problem %+v, want code %s", p, c.code)
				}
				if !strings.Contains(p.Detail, c.detail) {
					t.Fatalf("detail %q does not say %q", p.Detail, c.detail)
				}
				if r.header.Get("Joist-Correlation-Id") == "" {
					t.Fatal("no correlation id on an error response")
				}
			})
		}
		storetest.Unchanged(t, before, env.Snapshot(t))
		if r := s.raw(t, "PATCH", "/v1/contacts/u1", a, "", `{}`); r.header.Get("Allow") != "GET, HEAD, PUT" {
			t.Fatalf("405 Allow = %q, want \"GET, HEAD, PUT\"", r.header.Get("Allow"))
		}
		// The tenants cursor still works on its own list.
		if r := s.raw(t, "GET", "/v1/tenants?limit=1&cursor="+tenantsCursor, root, "", ""); r.status != http.StatusOK {
			t.Fatalf("a cursor on its own list: %d %s", r.status, r.body)
		}
		// A body over the limit is refused before it is read whole.
		if r := s.raw(t, "POST", "/v1/tenants", root, "", big); r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized: %d", r.status)
		}
	})
}

func TestCorrelationIDGeneratedAndValidated(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		r := s.raw(t, "GET", "/healthz", "", "", "")
		if id := r.header.Get("Joist-Correlation-Id"); !strings.HasPrefix(id, "cor_") {
			t.Fatalf("generated correlation id %q", id)
		}
		r = s.raw(t, "GET", "/healthz", "", "", "", "Joist-Correlation-Id", "bad id with spaces")
		if id := r.header.Get("Joist-Correlation-Id"); !strings.HasPrefix(id, "cor_") {
			t.Fatalf("an invalid correlation id must be replaced, got %q", id)
		}
		// The correlation id of a key creation lands on its audit entry.
		s.raw(t, "POST", "/v1/tenants/clinic-a/keys", env.RootKey, "", `{"name":"c"}`, "Joist-Correlation-Id", "evt-42")
		r = s.raw(t, "GET", "/v1/audit?action=key.create", env.RootKey, "", "")
		if !strings.Contains(r.body, `"correlation_id":"evt-42"`) {
			t.Fatalf("audit entry lacks the correlation id: %s", r.body)
		}
	})
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
			if r := s.raw(t, "GET", p, "", "", ""); r.status != 200 {
				t.Fatalf("%s: %d", p, r.status)
			}
		}
		r := s.raw(t, "GET", "/metrics", "", "", "")
		for _, m := range []string{
			`joist_http_request_duration_seconds_bucket{code="201",method="POST",route="POST /v1/tenants"`,
			`joist_http_errors_total{code="404",error="tenant_not_found"`,
			`joist_store_tx_duration_seconds_bucket{kind="write"`,
			`joist_store_commit_batch_size`,
		} {
			if m == `joist_http_errors_total{code="404",error="tenant_not_found"` {
				s.raw(t, "GET", "/v1/contacts", env.RootKey, "nope", "")
				r = s.raw(t, "GET", "/metrics", "", "", "")
			}
			if m == "joist_store_commit_batch_size" && env.Dialect != "sqlite" {
				continue
			}
			if !strings.Contains(r.body, m) {
				t.Errorf("/metrics lacks %s", m)
			}
		}
	})
}

func TestMetricsToken(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, "sqlite", func(c *config.Config) { c.MetricsToken = "s3cret" })
	s := &setup{env: env, ctx: t.Context(), hc: httpClient(t)}
	if r := s.raw(t, "GET", "/metrics", "", "", ""); r.status != 401 {
		t.Fatalf("metrics without token: %d", r.status)
	}
	if r := s.raw(t, "GET", "/metrics", "s3cret", "", ""); r.status != 200 {
		t.Fatalf("metrics with token: %d", r.status)
	}
}
