package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// notifyIsolationCases adds the notification system's routes to
// TestTenantIsolation: tenant B owns a type, an event and a contact's
// preferences; A's key neither reads, lists, replaces nor deletes them,
// posts events of B's type, nor reaches the instance's types through
// Joist-Tenant "_".
func notifyIsolationCases(t *testing.T, s *setup, cases map[string]func(t *testing.T), want404, noLeak func(*testing.T, rawResp)) {
	t.Helper()
	a, bk := s.keyA.Key, s.keyB.Key
	if r := s.raw(t, "PUT", "/v1/notification-types/b.secret", bk, "", `{"channels":{"in_app":{"title":"secret-b-title"}},"group":"b-group"}`); r.status != http.StatusCreated {
		t.Fatalf("B's type: %d %s", r.status, r.body)
	}
	if r := s.raw(t, "PUT", "/v1/contacts/b-notify-only", bk, "", `{"email":"bea@b.example"}`); r.status != http.StatusCreated {
		t.Fatalf("B's contact: %d %s", r.status, r.body)
	}
	if r := s.raw(t, "PUT", "/v1/contacts/b-notify-only/preferences", bk, "", `{"groups":{"b-group":{"in_app":false}}}`); r.status != http.StatusOK {
		t.Fatalf("B's preferences: %d %s", r.status, r.body)
	}
	posted := s.raw(t, "POST", "/v1/events", bk, "", `{"type":"b.secret","recipients":["b-notify-only"],"data":{"x":"secret-b-data"}}`)
	if posted.status != http.StatusAccepted {
		t.Fatalf("B's event: %d %s", posted.status, posted.body)
	}
	var ev struct{ ID string }
	json.Unmarshal([]byte(posted.body), &ev)
	noNotifyLeak := func(t *testing.T, r rawResp) {
		t.Helper()
		noLeak(t, r)
		for _, leak := range []string{"b.secret", "secret-b-title", "b-group", ev.ID, "secret-b-data", "b-notify-only"} {
			if strings.Contains(r.body, leak) && !strings.Contains(r.path, leak) {
				t.Fatalf("response leaks tenant B's notifications (%q): %s", leak, r.body)
			}
		}
	}
	stillB := func(t *testing.T) {
		t.Helper()
		r := s.raw(t, "GET", "/v1/notification-types/b.secret", bk, "", "")
		if r.status != http.StatusOK || !strings.Contains(r.body, "secret-b-title") || !strings.Contains(r.body, `"owner":"tenant"`) {
			t.Fatalf("B's type changed: %d %s", r.status, r.body)
		}
		r = s.raw(t, "GET", "/v1/contacts/b-notify-only/preferences", bk, "", "")
		if r.status != http.StatusOK || !strings.Contains(r.body, `"b-group":{"in_app":false}`) {
			t.Fatalf("B's preferences changed: %d %s", r.status, r.body)
		}
	}
	typ := `{"channels":{"in_app":{"title":"from-a"}}}`
	cases["PUT /v1/notification-types/{type}"] = func(t *testing.T) {
		want404(t, s.raw(t, "PUT", "/v1/notification-types/b.secret", a, "clinic-b", typ))
		want404(t, s.raw(t, "PUT", "/v1/notification-types/b.secret", a, "_", typ))
		if r := s.raw(t, "PUT", "/v1/notification-types/b.secret", a, "", typ); r.status != http.StatusCreated {
			t.Fatalf("A's own: %d %s", r.status, r.body)
		}
		stillB(t)
		if r := s.raw(t, "DELETE", "/v1/notification-types/b.secret", a, "", ""); r.status != http.StatusNoContent {
			t.Fatalf("A's own delete: %d %s", r.status, r.body)
		}
	}
	cases["GET /v1/notification-types"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/notification-types", a, "clinic-b", ""))
		want404(t, s.raw(t, "GET", "/v1/notification-types", a, "_", ""))
		noNotifyLeak(t, s.raw(t, "GET", "/v1/notification-types", a, "", ""))
	}
	cases["GET /v1/notification-types/{type}"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/notification-types/b.secret", a, "clinic-b", ""))
		r := s.raw(t, "GET", "/v1/notification-types/b.secret", a, "", "")
		want404(t, r)
		noNotifyLeak(t, r)
	}
	cases["DELETE /v1/notification-types/{type}"] = func(t *testing.T) {
		want404(t, s.raw(t, "DELETE", "/v1/notification-types/b.secret", a, "clinic-b", ""))
		want404(t, s.raw(t, "DELETE", "/v1/notification-types/b.secret", a, "", ""))
		stillB(t)
	}
	cases["POST /v1/events"] = func(t *testing.T) {
		want404(t, s.raw(t, "POST", "/v1/events", a, "clinic-b", `{"type":"b.secret","recipients":["b-notify-only"]}`))
		// B's type is not A's: A's event of it is an unknown type.
		r := s.raw(t, "POST", "/v1/events", a, "", `{"type":"b.secret","recipients":["b-notify-only"]}`)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "unknown_type") {
			t.Fatalf("A posted B's type: %d %s", r.status, r.body)
		}
		noLeak(t, r)
	}
	cases["GET /v1/events"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/events", a, "clinic-b", ""))
		noNotifyLeak(t, s.raw(t, "GET", "/v1/events", a, "", ""))
		noNotifyLeak(t, s.raw(t, "GET", "/v1/events?type=b.secret", a, "", ""))
	}
	cases["GET /v1/events/{event}"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/events/"+ev.ID, a, "clinic-b", ""))
		r := s.raw(t, "GET", "/v1/events/"+ev.ID, a, "", "")
		want404(t, r)
		noNotifyLeak(t, r)
	}
	cases["GET /v1/events/{event}/notifications"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/events/"+ev.ID+"/notifications", a, "clinic-b", ""))
		r := s.raw(t, "GET", "/v1/events/"+ev.ID+"/notifications", a, "", "")
		want404(t, r)
		noNotifyLeak(t, r)
	}
	cases["GET /v1/contacts/{contact}/preferences"] = func(t *testing.T) {
		want404(t, s.raw(t, "GET", "/v1/contacts/b-notify-only/preferences", a, "clinic-b", ""))
		r := s.raw(t, "GET", "/v1/contacts/b-notify-only/preferences", a, "", "")
		want404(t, r)
		noNotifyLeak(t, r)
	}
	cases["PUT /v1/contacts/{contact}/preferences"] = func(t *testing.T) {
		want404(t, s.raw(t, "PUT", "/v1/contacts/b-notify-only/preferences", a, "clinic-b", `{"channels":{"email":false}}`))
		want404(t, s.raw(t, "PUT", "/v1/contacts/b-notify-only/preferences", a, "", `{"channels":{"email":false}}`))
		stillB(t)
	}
}
