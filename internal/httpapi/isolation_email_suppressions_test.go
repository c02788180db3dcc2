package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// emailSuppressionIsolationCases adds the suppression routes to
// TestTenantIsolation: tenant B suppresses an address; A's key neither
// lists, replaces nor releases it, and A's own suppressions stay A's.
func emailSuppressionIsolationCases(t *testing.T, s *setup, cases map[string]func(t *testing.T), want404, noLeak func(*testing.T, rawResp)) {
	t.Helper()
	a := s.keyA.Key
	if r := s.raw(t, "PUT", "/v1/email/suppressions/b-only@example.com", s.keyB.Key, "", `{"reason":"B's own"}`); r.status != http.StatusOK {
		t.Fatalf("B's suppression: %d %s", r.status, r.body)
	}
	stillB := func(t *testing.T) {
		t.Helper()
		r := s.raw(t, "GET", "/v1/email/suppressions?address=b-only@example.com", s.keyB.Key, "", "")
		if r.status != http.StatusOK || strings.Count(r.body, `"source":"api"`) != 2 || !strings.Contains(r.body, "B's own") {
			t.Fatalf("B's suppression changed: %d %s", r.status, r.body)
		}
	}
	cases["GET /v1/email/suppressions"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/email/suppressions", a, "clinic-b", ""))
		r := s.raw(t, "GET", "/v1/email/suppressions", a, "", "")
		noLeak(t, r)
		if r.status != http.StatusOK || strings.Contains(r.body, "b-only@example.com") {
			t.Fatalf("A lists B's suppression: %d %s", r.status, r.body)
		}
	}
	cases["PUT /v1/email/suppressions/{address}"] = func(t *testing.T) {
		want404(t, s.raw(t, "PUT", "/v1/email/suppressions/b-only@example.com", a, "clinic-b", `{"reason":"A's"}`))
		// A suppressing the same address suppresses it for A only.
		r := s.raw(t, "PUT", "/v1/email/suppressions/b-only@example.com", a, "", `{"reason":"A's","category":"marketing"}`)
		noLeak(t, r)
		if r.status != http.StatusOK || strings.Contains(r.body, "B's own") {
			t.Fatalf("A's suppression: %d %s", r.status, r.body)
		}
		stillB(t)
	}
	cases["DELETE /v1/email/suppressions/{address}"] = func(t *testing.T) {
		want404(t, s.raw(t, "DELETE", "/v1/email/suppressions/b-only@example.com", a, "clinic-b", ""))
		s.raw(t, "DELETE", "/v1/email/suppressions/b-only@example.com", a, "", "") // A's own, if any
		stillB(t)
	}
}
