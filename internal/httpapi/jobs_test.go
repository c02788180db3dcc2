package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// TestJobBadInputStoresNothing: bad URLs, negative delays, unknown queues and
// states and the like get a clear 4xx, and no job row (joist's or River's) appears.
func TestJobBadInputStoresNothing(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		a := s.keyA.Key
		cases := []struct {
			name, method, path, body string
			status                   int
			code, detail             string
		}{
			{"relative url", "POST", "/v1/jobs", `{"url":"/hook"}`, 400, "invalid_url", "absolute"},
			{"ftp url", "POST", "/v1/jobs", `{"url":"ftp://example.com/x"}`, 400, "invalid_url", "http://"},
			{"url with password", "POST", "/v1/jobs", `{"url":"http://u:p@example.com/"}`, 400, "invalid_url", "user:password"},
			{"no url", "POST", "/v1/jobs", `{"body":{}}`, 400, "invalid_url", ""},
			{"negative delay", "POST", "/v1/jobs", `{"url":"http://example.com","delay":"-5s"}`, 400, "invalid_delay", "negative"},
			{"bad delay", "POST", "/v1/jobs", `{"url":"http://example.com","delay":"soon"}`, 400, "invalid_delay", "duration"},
			{"delay and run_at", "POST", "/v1/jobs", `{"url":"http://example.com","delay":"5s","run_at":"2030-01-01T00:00:00Z"}`, 400, "invalid_schedule", "not both"},
			{"bad run_at", "POST", "/v1/jobs", `{"url":"http://example.com","run_at":"tomorrow"}`, 400, "invalid_json", ""},
			{"unknown queue", "POST", "/v1/jobs", `{"url":"http://example.com","queue":"turbo"}`, 400, "unknown_queue", "default"},
			{"priority 5", "POST", "/v1/jobs", `{"url":"http://example.com","priority":5}`, 400, "invalid_priority", "1 (highest) to 4"},
			{"priority type", "POST", "/v1/jobs", `{"url":"http://example.com","priority":"high"}`, 400, "invalid_field_type", "priority"},
			{"max attempts 0 is default, -1 is not", "POST", "/v1/jobs", `{"url":"http://example.com","max_attempts":-1}`, 400, "invalid_max_attempts", "1 to 100"},
			{"timeout too long", "POST", "/v1/jobs", `{"url":"http://example.com","timeout":"2h"}`, 400, "invalid_timeout", "JOIST_JOB_MAX_TIMEOUT"},
			{"timeout too short", "POST", "/v1/jobs", `{"url":"http://example.com","timeout":"10ms"}`, 400, "invalid_timeout", "at least 1s"},
			{"reserved header", "POST", "/v1/jobs", `{"url":"http://example.com","headers":{"webhook-signature":"x"}}`, 400, "invalid_header", "set by joist"},
			{"header injection", "POST", "/v1/jobs", `{"url":"http://example.com","headers":{"X-A":"a\r\nX-B: b"}}`, 400, "invalid_header", ""},
			{"bad method", "POST", "/v1/jobs", `{"url":"http://example.com","method":"TRACE"}`, 400, "invalid_method", "GET, POST"},
			{"json body with text type", "POST", "/v1/jobs", `{"url":"http://example.com","body":{"a":1},"content_type":"text/csv"}`, 400, "invalid_body", "as a string"},
			{"unknown field", "POST", "/v1/jobs", `{"url":"http://example.com","retries":3}`, 400, "unknown_field", "retries"},
			{"unknown state filter", "GET", "/v1/jobs?state=done", "", 400, "invalid_state", "scheduled, available"},
			{"one bad state of two", "GET", "/v1/jobs?state=dead,zombie", "", 400, "invalid_state", "zombie"},
			{"bad since", "GET", "/v1/jobs?since=monday", "", 400, "invalid_time", "RFC 3339"},
			{"bulk without state", "POST", "/v1/jobs/bulk", `{"action":"retry"}`, 400, "state_required", "dead"},
			{"bulk bad action", "POST", "/v1/jobs/bulk", `{"action":"delete","state":["dead"]}`, 400, "invalid_action", "retry"},
			{"bulk bad state", "POST", "/v1/jobs/bulk", `{"action":"retry","state":["gone"]}`, 400, "invalid_state", ""},
			{"unknown job", "GET", "/v1/jobs/job_00000000000000000000000000", "", 404, "not_found", "job_"},
			{"retry unknown job", "POST", "/v1/jobs/job_nope/retry", "", 404, "not_found", ""},
			{"rotate bad expiry", "POST", "/v1/signing-secret/rotate", `{"expire_old_in":"forever"}`, 400, "invalid_expiry", "24h"},
			{"rotate negative expiry", "POST", "/v1/signing-secret/rotate", `{"expire_old_in":"-1h"}`, 400, "invalid_expiry", ""},
		}
		before := env.Snapshot(t)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.raw(t, c.method, c.path, a, "", c.body)
				if r.status != c.status {
					t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
				}
				var p struct{ Code, Detail string }
				json.Unmarshal([]byte(r.body), &p)
				if p.Code != c.code || !strings.Contains(p.Detail, c.detail) {
					t.Fatalf("problem %+v, want code %s mentioning %q", p, c.code, c.detail)
				}
			})
		}
		storetest.Unchanged(t, before, env.Snapshot(t))
	})
}

// TestSigningSecretRotation: during a rotation both secrets are live and
// listed (current first); expire_old_in 0s leaves only the new one.
func TestSigningSecretRotation(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		s := newSetup(t, env)
		type secrets struct {
			Data []struct {
				Secret    string  `json:"secret"`
				ExpiresAt *string `json:"expires_at"`
			} `json:"data"`
		}
		get := func(r rawResp) secrets {
			var out secrets
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			json.Unmarshal([]byte(r.body), &out)
			return out
		}
		first := get(s.raw(t, "GET", "/v1/signing-secret", s.keyA.Key, "", ""))
		if len(first.Data) != 1 || !strings.HasPrefix(first.Data[0].Secret, "whsec_") || first.Data[0].ExpiresAt != nil {
			t.Fatalf("first secret: %+v", first)
		}
		if again := get(s.raw(t, "GET", "/v1/signing-secret", s.keyA.Key, "", "")); again.Data[0].Secret != first.Data[0].Secret {
			t.Fatal("reading the secret changed it")
		}
		rot := get(s.raw(t, "POST", "/v1/signing-secret/rotate", s.keyA.Key, "", `{"expire_old_in":"1h"}`))
		if len(rot.Data) != 2 || rot.Data[1].Secret != first.Data[0].Secret || rot.Data[1].ExpiresAt == nil || rot.Data[0].ExpiresAt != nil {
			t.Fatalf("after rotation: %+v", rot)
		}
		now := get(s.raw(t, "POST", "/v1/signing-secret/rotate", s.keyA.Key, "", `{"expire_old_in":"0s"}`))
		if len(now.Data) != 1 || now.Data[0].Secret == rot.Data[0].Secret {
			t.Fatalf("after rotation with 0s: %+v", now)
		}
		if r := s.raw(t, "GET", "/v1/audit?action=signing_secret.rotate", env.RootKey, "", ""); strings.Count(r.body, `"action":"signing_secret.rotate"`) != 2 || strings.Contains(r.body, "whsec_") {
			t.Fatalf("rotations must be audited without the secret: %s", r.body)
		}
	})
}
