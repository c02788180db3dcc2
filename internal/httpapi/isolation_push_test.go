package httpapi_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/notify/push"
)

// isolationContactAuth stands in for the feed's contact tokens: the
// bearer "ctok:<tenant id>:<contact id>" speaks for that contact.
type isolationContactAuth struct{}

func (isolationContactAuth) Contact(r *http.Request) (string, string, error) {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ctok:")
	tn, ct, ok2 := strings.Cut(v, ":")
	if !ok || !ok2 {
		return "", "", errors.New("not a contact token")
	}
	return tn, ct, nil
}

// pushIsolationCases adds the push routes to TestTenantIsolation: tenant
// B's contact has a browser subscription and a phone; A's key and A's
// contacts' tokens neither see, replace nor remove them, and A's VAPID
// key is its own.
func pushIsolationCases(t *testing.T, s *setup, cases map[string]func(t *testing.T), want404, noLeak func(*testing.T, rawResp)) {
	t.Helper()
	s.env.App.Push.SetContactAuth(isolationContactAuth{})
	a := s.keyA.Key
	tokA := "ctok:" + s.a.ID + ":" + s.contactA.ID
	tokB := "ctok:" + s.b.ID + ":" + s.contactB.ID
	k, _ := push.GenerateVAPIDKeys()
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	endpoint := "https://push.example.net/send/b-only"
	sub := `{"endpoint":"` + endpoint + `","expirationTime":null,"keys":{"p256dh":"` + k.PublicKeyString() + `","auth":"` + base64.RawURLEncoding.EncodeToString(auth) + `"}}`
	if r := s.raw(t, "POST", "/v1/push/subscriptions", tokB, "", sub); r.status != http.StatusCreated {
		t.Fatalf("B's subscription: %d %s", r.status, r.body)
	}
	apns := strings.Repeat("b0", 32)
	if r := s.raw(t, "POST", "/v1/contacts/only-in-b/devices", s.keyB.Key, "", `{"platform":"apns","token":"`+apns+`"}`); r.status != http.StatusCreated {
		t.Fatalf("B's device: %d %s", r.status, r.body)
	}
	stillB := func(t *testing.T) {
		t.Helper()
		r := s.raw(t, "GET", "/v1/contacts/only-in-b/devices", s.keyB.Key, "", "")
		if r.status != http.StatusOK || !strings.Contains(r.body, apns) || !strings.Contains(r.body, endpoint) {
			t.Fatalf("B's push targets changed: %d %s", r.status, r.body)
		}
	}
	keyB := s.raw(t, "GET", "/v1/push/vapid-public-key", s.keyB.Key, "", "")
	cases["GET /v1/push/vapid-public-key"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/push/vapid-public-key", a, "clinic-b", ""))
		for _, cred := range []string{a, tokA} {
			r := s.raw(t, "GET", "/v1/push/vapid-public-key", cred, "", "")
			noLeak(t, r)
			if r.status != http.StatusOK || r.body == keyB.body {
				t.Fatalf("A's key: %d %s (B's %s)", r.status, r.body, keyB.body)
			}
		}
	}
	cases["POST /v1/push/subscriptions"] = func(t *testing.T) {
		// A token naming B's contact under A's tenant finds no contact.
		want404(t, s.raw(t, "POST", "/v1/push/subscriptions", "ctok:"+s.a.ID+":"+s.contactB.ID, "", sub))
		// A's own contact subscribing B's endpoint gets A's own row.
		r := s.raw(t, "POST", "/v1/push/subscriptions", tokA, "", sub)
		noLeak(t, r)
		if r.status != http.StatusCreated {
			t.Fatalf("A's subscription: %d %s", r.status, r.body)
		}
		stillB(t)
	}
	cases["DELETE /v1/push/subscriptions"] = func(t *testing.T) {
		s.raw(t, "DELETE", "/v1/push/subscriptions", tokA, "", `{"endpoint":"`+endpoint+`"}`) // A's own, if any
		want404(t, s.raw(t, "DELETE", "/v1/push/subscriptions", tokA, "", `{"endpoint":"`+endpoint+`"}`))
		stillB(t)
	}
	cases["POST /v1/contacts/{contact}/devices"] = func(t *testing.T) {
		want404(t, s.raw(t, "POST", "/v1/contacts/only-in-b/devices", a, "clinic-b", `{"platform":"fcm","token":"x"}`))
		// Without the header the write lands in A's own tenant (A may have
		// its own "only-in-b" contact by now), never on B's contact.
		noLeak(t, s.raw(t, "POST", "/v1/contacts/only-in-b/devices", a, "", `{"platform":"fcm","token":"x"}`))
		// A registering B's token registers it in A only.
		r := s.raw(t, "POST", "/v1/contacts/shared-id/devices", a, "", `{"platform":"apns","token":"`+apns+`"}`)
		noLeak(t, r)
		if r.status != http.StatusCreated {
			t.Fatalf("A's device: %d %s", r.status, r.body)
		}
		stillB(t)
	}
	cases["DELETE /v1/contacts/{contact}/devices"] = func(t *testing.T) {
		want404(t, s.raw(t, "DELETE", "/v1/contacts/only-in-b/devices", a, "clinic-b", `{"platform":"apns","token":"`+apns+`"}`))
		want404(t, s.raw(t, "DELETE", "/v1/contacts/only-in-b/devices", a, "", `{"platform":"apns","token":"`+apns+`"}`))
		stillB(t)
	}
	cases["GET /v1/contacts/{contact}/devices"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/contacts/only-in-b/devices", a, "clinic-b", ""))
		// A's own contact of the same external id (if any) shows none of
		// B's contact's targets.
		r := s.raw(t, "GET", "/v1/contacts/only-in-b/devices", a, "", "")
		noLeak(t, r)
		if strings.Contains(r.body, apns) || strings.Contains(r.body, endpoint) {
			t.Fatalf("A sees B's targets: %s", r.body)
		}
	}
}
