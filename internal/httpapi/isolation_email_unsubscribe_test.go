package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/joist-dev/joist/internal/email"
)

// emailUnsubscribeIsolationCases adds the public unsubscribe routes to
// TestTenantIsolation. They take no key: the token's signature decides,
// and the token names its tenant. A token of A's, rewritten to name B, is
// refused and writes nothing; A's own token unsubscribes the address in A
// only, whatever key comes with it.
func emailUnsubscribeIsolationCases(t *testing.T, s *setup, cases map[string]func(t *testing.T)) {
	t.Helper()
	svc := s.env.App.Email
	const addr = "shared@x.example"
	tokA := svc.UnsubscribeToken(s.a.ID, addr, email.ScopeMarketing)
	raw, _ := base64.RawURLEncoding.DecodeString(tokA)
	if len(s.a.ID) != len(s.b.ID) || !bytes.Contains(raw, []byte(s.a.ID)) {
		t.Fatalf("cannot rewrite %s into %s in the token", s.a.ID, s.b.ID)
	}
	tokIntoB := base64.RawURLEncoding.EncodeToString(bytes.Replace(raw, []byte(s.a.ID), []byte(s.b.ID), 1))
	unsubscribed := func(t *testing.T, tenantID string) bool {
		t.Helper()
		ok, err := svc.Unsubscribed(s.ctx, tenantID, addr, email.ScopeMarketing)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	cases["GET /u/{token}"] = func(t *testing.T) {
		if r := s.raw(t, "GET", "/u/"+tokIntoB, s.keyA.Key, "", ""); r.status != http.StatusNotFound {
			t.Fatalf("A's token rewritten to B: %d %s", r.status, r.body)
		}
		if unsubscribed(t, s.b.ID) {
			t.Fatal("GET unsubscribed in B")
		}
	}
	cases["POST /u/{token}"] = func(t *testing.T) {
		if r := s.raw(t, "POST", "/u/"+tokIntoB, s.keyA.Key, "", ""); r.status != http.StatusNotFound {
			t.Fatalf("A's token rewritten to B: %d %s", r.status, r.body)
		}
		if unsubscribed(t, s.b.ID) {
			t.Fatal("a rewritten token unsubscribed in B")
		}
		if r := s.raw(t, "POST", "/u/"+tokA, s.keyB.Key, "", ""); r.status != http.StatusOK {
			t.Fatalf("A's token: %d %s", r.status, r.body)
		}
		if !unsubscribed(t, s.a.ID) || unsubscribed(t, s.b.ID) {
			t.Fatal("A's token did not unsubscribe in A alone")
		}
	}
}
