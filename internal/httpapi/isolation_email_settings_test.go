package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// emailSettingsIsolationCases: tenant A's key never reads, replaces or
// deletes tenant B's own email provider settings; its own are its own.
func emailSettingsIsolationCases(t *testing.T, s *setup, cases map[string]func(t *testing.T), want404, noLeak func(*testing.T, rawResp)) {
	t.Helper()
	a := s.keyA.Key
	const bToken = "pm-b-secret-token-000111"
	if r := s.raw(t, "PUT", "/v1/email/settings", s.keyB.Key, "", `{"provider":"postmark","postmark_server_token":"`+bToken+`"}`); r.status != http.StatusOK {
		t.Fatalf("B's settings: %d %s", r.status, r.body)
	}
	stillB := func(t *testing.T) {
		t.Helper()
		r := s.raw(t, "GET", "/v1/email/settings", s.keyB.Key, "", "")
		if r.status != http.StatusOK || !strings.Contains(r.body, `"source":"tenant"`) || !strings.Contains(r.body, `"postmark_server_token_hint":"pm-…0111"`) {
			t.Fatalf("B's settings changed: %d %s", r.status, r.body)
		}
	}
	notB := func(t *testing.T, r rawResp) {
		t.Helper()
		noLeak(t, r)
		if strings.Contains(r.body, "0111") || strings.Contains(r.body, bToken) || strings.Contains(r.body, "postmark") {
			t.Fatalf("A sees B's settings: %d %s", r.status, r.body)
		}
	}
	cases["GET /v1/email/settings"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/email/settings", a, "clinic-b", ""))
		r := s.raw(t, "GET", "/v1/email/settings", a, "", "")
		notB(t, r)
		if r.status != http.StatusOK {
			t.Fatalf("A's own: %d %s", r.status, r.body)
		}
	}
	cases["PUT /v1/email/settings"] = func(t *testing.T) {
		want404(t, s.raw(t, "PUT", "/v1/email/settings", a, "clinic-b", `{"provider":"outbox"}`))
		r := s.raw(t, "PUT", "/v1/email/settings", a, "", `{"provider":"outbox"}`)
		notB(t, r)
		if r.status != http.StatusOK || !strings.Contains(r.body, `"source":"tenant"`) {
			t.Fatalf("A's own: %d %s", r.status, r.body)
		}
		stillB(t)
	}
	cases["DELETE /v1/email/settings"] = func(t *testing.T) {
		want404(t, s.raw(t, "DELETE", "/v1/email/settings", a, "clinic-b", ""))
		s.raw(t, "DELETE", "/v1/email/settings", a, "", "") // A's own, if any
		stillB(t)
	}
}
