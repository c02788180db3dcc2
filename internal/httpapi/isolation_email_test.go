package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// emailIsolationCases adds the email system's routes to TestTenantIsolation:
// tenant B sends an email to its own contact; A's key neither sees it,
// nor lists it, nor sends to B's contact, nor sends as B.
func emailIsolationCases(t *testing.T, s *setup, cases map[string]func(t *testing.T), want404, noLeak func(*testing.T, rawResp)) {
	t.Helper()
	a := s.keyA.Key
	if r := s.raw(t, "PUT", "/v1/contacts/b-mail-only", s.keyB.Key, "", `{"email":"bea@b.example"}`); r.status != http.StatusCreated {
		t.Fatalf("B's contact: %d %s", r.status, r.body)
	}
	sent := s.raw(t, "POST", "/v1/emails", s.keyB.Key, "", `{"from":"b@b-mail.example","contact":"b-mail-only","subject":"B only","text":"secret-b-text","tags":["b-tag"]}`)
	if sent.status != http.StatusAccepted {
		t.Fatalf("B's email: %d %s", sent.status, sent.body)
	}
	var em struct{ ID string }
	json.Unmarshal([]byte(sent.body), &em)
	noEmailLeak := func(t *testing.T, r rawResp) {
		t.Helper()
		noLeak(t, r)
		for _, leak := range []string{em.ID, "secret-b-text", "b-mail.example", "b-tag"} {
			if strings.Contains(r.body, leak) && !strings.Contains(r.path, leak) {
				t.Fatalf("response leaks tenant B's email (%q): %s", leak, r.body)
			}
		}
	}
	emailsOfB := func(t *testing.T) {
		t.Helper()
		r := s.raw(t, "GET", "/v1/emails", s.keyB.Key, "", "")
		if n := strings.Count(r.body, `"id":"em_`); n != 1 {
			t.Fatalf("B has %d emails, want its one: %s", n, r.body)
		}
	}
	cases["POST /v1/emails"] = func(t *testing.T) {
		want404(t, s.raw(t, "POST", "/v1/emails", a, "clinic-b", `{"from":"a@a.example","to":"x@x.example","subject":"s","text":"t"}`))
		// B's contact is not A's: A's send to it finds no such contact.
		r := s.raw(t, "POST", "/v1/emails", a, "", `{"from":"a@a.example","contact":"b-mail-only","subject":"s","text":"t"}`)
		want404(t, r)
		noEmailLeak(t, r)
		emailsOfB(t)
	}
	cases["POST /v1/emails/batch"] = func(t *testing.T) {
		want404(t, s.raw(t, "POST", "/v1/emails/batch", a, "clinic-b", `{"emails":[{"from":"a@a.example","to":"x@x.example","subject":"s","text":"t"}]}`))
		want404(t, s.raw(t, "POST", "/v1/emails/batch", a, "", `{"emails":[{"from":"a@a.example","contact":"b-mail-only","subject":"s","text":"t"}]}`))
		emailsOfB(t)
	}
	cases["GET /v1/emails"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/emails", a, "clinic-b", ""))
		noEmailLeak(t, s.raw(t, "GET", "/v1/emails", a, "", ""))
		noEmailLeak(t, s.raw(t, "GET", "/v1/emails?to=bob@b.example", a, "", ""))
		noEmailLeak(t, s.raw(t, "GET", "/v1/emails?tag=b-tag", a, "", ""))
		noEmailLeak(t, s.raw(t, "GET", "/v1/emails?contact=b-mail-only", a, "", ""))
	}
	cases["GET /v1/emails/{email}"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/emails/"+em.ID, a, "", ""))
		want404(t, s.raw(t, "GET", "/v1/emails/"+em.ID, a, "clinic-b", ""))
	}
}
