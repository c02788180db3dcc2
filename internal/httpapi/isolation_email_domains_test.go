package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// emailDomainIsolationCases adds the sending domains' routes to
// TestTenantIsolation: tenant B owns a domain; A's key neither reads, lists,
// checks, rotates nor deletes it, and cannot claim its name (409, without
// learning whose it is).
func emailDomainIsolationCases(t *testing.T, s *setup, cases map[string]func(t *testing.T), want404, noLeak func(*testing.T, rawResp)) {
	t.Helper()
	a := s.keyA.Key
	if r := s.raw(t, "POST", "/v1/domains", s.keyB.Key, "", `{"name":"b-owned.example","ed25519":true}`); r.status != http.StatusCreated {
		t.Fatalf("B's domain: %d %s", r.status, r.body)
	}
	stillB := func(t *testing.T) {
		t.Helper()
		r := s.raw(t, "GET", "/v1/domains/b-owned.example", s.keyB.Key, "", "")
		if r.status != http.StatusOK || strings.Count(r.body, `"status":"active"`) != 2 {
			t.Fatalf("B's domain changed: %d %s", r.status, r.body)
		}
	}
	cases["POST /v1/domains"] = func(t *testing.T) {
		want404(t, s.raw(t, "POST", "/v1/domains", a, "clinic-b", `{"name":"a-sneaky.example"}`))
		r := s.raw(t, "POST", "/v1/domains", a, "", `{"name":"b-owned.example"}`)
		if r.status != http.StatusConflict || strings.Contains(r.body, "clinic-b") || strings.Contains(r.body, s.b.ID) {
			t.Fatalf("A claiming B's domain: %d %s", r.status, r.body)
		}
		noLeak(t, r)
		stillB(t)
	}
	cases["GET /v1/domains"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/domains", a, "clinic-b", ""))
		r := s.raw(t, "GET", "/v1/domains", a, "", "")
		noLeak(t, r)
		if strings.Contains(r.body, "b-owned.example") {
			t.Fatalf("A lists B's domain: %s", r.body)
		}
	}
	cases["GET /v1/domains/{domain}"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/domains/b-owned.example", a, "", ""))
		want404(t, s.raw(t, "GET", "/v1/domains/b-owned.example", a, "clinic-b", ""))
	}
	cases["DELETE /v1/domains/{domain}"] = func(t *testing.T) {
		want404(t, s.raw(t, "DELETE", "/v1/domains/b-owned.example", a, "", ""))
		want404(t, s.raw(t, "DELETE", "/v1/domains/b-owned.example", a, "clinic-b", ""))
		stillB(t)
	}
	cases["GET /v1/domains/{domain}/check"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/domains/b-owned.example/check", a, "", ""))
		want404(t, s.raw(t, "GET", "/v1/domains/b-owned.example/check", a, "clinic-b", ""))
	}
	cases["POST /v1/domains/{domain}/rotate-dkim"] = func(t *testing.T) {
		want404(t, s.raw(t, "POST", "/v1/domains/b-owned.example/rotate-dkim", a, "", ""))
		want404(t, s.raw(t, "POST", "/v1/domains/b-owned.example/rotate-dkim", a, "clinic-b", ""))
		stillB(t)
	}
}
