package notify_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/wire"
)

// TestEventFanoutEndToEnd runs a real joist per store: a type with the
// three channels, an event to a known contact (German), an inline one
// (created), an inline update of a known one, an unknown id and a
// duplicate. The event answers 202, the fan-out creates one notification
// per known recipient with in_app delivered, email queued (an email in
// the outbox rendered in the contact's locale, under the event's
// correlation id), push skipped no_subscription (no browser or device registered); the unknown id and the
// duplicate are skipped with reasons; the timeline has one entry per
// notification. The same Idempotency-Key creates nothing twice.
func TestEventFanoutEndToEnd(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/email/templates/booking-created", bookingTemplate).must(t, http.StatusCreated, "template")
		r := c.do(t, "PUT", "/v1/notification-types/booking.created", bookingType).must(t, http.StatusCreated, "type")
		var typ wire.NotificationType
		r.json(t, &typ)
		if typ.Owner != "tenant" || typ.Group != "bookings" || typ.Digest != nil || typ.Channels.Email.Template != "booking-created" {
			t.Fatalf("type: %s", r.body)
		}
		c.do(t, "PUT", "/v1/notification-types/booking.created", bookingType).must(t, http.StatusOK, "type replaced")
		c.do(t, "PUT", "/v1/contacts/host-de", `{"email":"hans@host.example","name":"Hans","locale":"de-AT"}`).must(t, http.StatusCreated, "contact")
		c.do(t, "PUT", "/v1/contacts/host-old", `{"email":"old@host.example","name":"Old"}`).must(t, http.StatusCreated, "contact")

		body := `{"type":"booking.created","actor":"guest:ana","data":{"guest":"Ana","room":"Suite 4","id":"bk_1","nights":3,"property_id":"p1"},
			"recipients":["host-de",{"id":"host-new","email":"new@host.example","name":"Nina","locale":"en"},{"id":"host-old","name":"Olga"},"ghost","host-de"]}`
		r = c.do(t, "POST", "/v1/events", body, "Idempotency-Key", "booking-bk_1", "Joist-Correlation-Id", "cor-bk-1").must(t, http.StatusAccepted, "post")
		var ev wire.NotifyEvent
		r.json(t, &ev)
		if !strings.HasPrefix(ev.ID, "nev_") || ev.Recipients != 5 || ev.CorrelationID != "cor-bk-1" || r.header.Get("Location") != "/v1/events/"+ev.ID {
			t.Fatalf("posted: %s", r.body)
		}
		done := eventDone(t, c, ev.ID)
		if done.Notified != 3 || done.Skipped != 2 || len(done.Skips) != 2 || done.CompletedAt == nil {
			t.Fatalf("event: %+v", done)
		}
		skips := map[string]string{}
		for _, s := range done.Skips {
			skips[s.Recipient] = s.Reason
		}
		if skips["ghost"] != "unknown_contact" || skips["host-de"] != "duplicate_recipient" {
			t.Fatalf("skips: %+v", done.Skips)
		}
		// Replaying the key answers the same event and stores nothing more.
		again := c.do(t, "POST", "/v1/events", body, "Idempotency-Key", "booking-bk_1").must(t, http.StatusAccepted, "replay")
		var dup wire.NotifyEvent
		again.json(t, &dup)
		if dup.ID != ev.ID || env.Count(t, "notify_events") != 1 || env.Count(t, "notifications") != 3 {
			t.Fatalf("replay: %s (%d events, %d notifications)", again.body, env.Count(t, "notify_events"), env.Count(t, "notifications"))
		}

		ns := notificationsOf(t, c, ev.ID)
		if len(ns) != 3 {
			t.Fatalf("%d notifications", len(ns))
		}
		emails := map[string]string{}
		for _, n := range ns {
			d := byChannel(n)
			if n.Title != "New booking" || n.Body != "Ana booked Suite 4" || n.URL != "/bookings/bk_1" || !n.InFeed ||
				d["in_app"].Status != "delivered" || d["email"].Status != "queued" || !strings.HasPrefix(d["email"].Target, "em_") ||
				d["push"].Status != "skipped" || d["push"].Reason != "no_subscription" {
				t.Fatalf("notification of %s: %+v", n.Contact, n)
			}
			emails[n.Contact] = d["email"].Target
		}
		// The inline recipient was created, the known one updated.
		var nina, olga wire.Contact
		c.do(t, "GET", "/v1/contacts/host-new", nil).must(t, http.StatusOK, "inline contact").json(t, &nina)
		c.do(t, "GET", "/v1/contacts/host-old", nil).must(t, http.StatusOK, "updated contact").json(t, &olga)
		if nina.Email != "new@host.example" || nina.Name != "Nina" || olga.Name != "Olga" || olga.Email != "old@host.example" {
			t.Fatalf("contacts: %+v %+v", nina, olga)
		}
		// The email exists, rendered in the contact's locale, under the
		// event's correlation id; the outbox captures it.
		var em wire.Email
		waitFor(t, 30e9, "the outbox to capture the notification email", func() bool {
			c.do(t, "GET", "/v1/emails/"+emails["host-de"], nil).must(t, http.StatusOK, "email").json(t, &em)
			return em.Status == "captured"
		})
		if em.Subject != "Neue Buchung von Ana" || !strings.Contains(em.Text, "Hallo Hans") || em.Locale != "de" || em.CorrelationID != "cor-bk-1" ||
			em.To[0] != "hans@host.example" || em.Category != "transactional" {
			t.Fatalf("email: %+v", em)
		}
		// One timeline entry per notification, under the correlation id.
		var tl wire.List[wire.TimelineEntry]
		c.do(t, "GET", "/v1/contacts/host-de/timeline", nil).json(t, &tl)
		found := 0
		for _, e := range tl.Data {
			if e.Kind == "notification.created" && e.CorrelationID == "cor-bk-1" && strings.Contains(e.Summary, "push skipped (no_subscription)") {
				found++
			}
		}
		if found != 1 {
			t.Fatalf("timeline: %+v", tl.Data)
		}
		// Events list, filtered by type.
		var l wire.List[wire.NotifyEvent]
		c.do(t, "GET", "/v1/events?type=booking.created", nil).must(t, http.StatusOK, "list").json(t, &l)
		if len(l.Data) != 1 || l.Data[0].ID != ev.ID {
			t.Fatalf("list: %+v", l)
		}
		c.do(t, "GET", "/v1/events?type=other", nil).must(t, http.StatusOK, "list").json(t, &l)
		if len(l.Data) != 0 {
			t.Fatalf("filtered list: %+v", l)
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %s", fmt.Sprint(lines))
		}
	})
}

// TestInAppContentFailures: in-app content that does not render (a
// missing data key) or renders a URL a browser would run
// (javascript:...) fails the in_app delivery with the reason in detail,
// keeping the notification out of the feed; a path or an https URL is
// delivered.
func TestInAppContentFailures(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/notification-types/link", `{"channels":{"in_app":{"title":"Open {{.data.name}}","url":"{{.data.link}}"}}}`).must(t, http.StatusCreated, "type")
		c.do(t, "PUT", "/v1/contacts/ann", `{"name":"Ann"}`).must(t, http.StatusCreated, "contact")
		cases := []struct{ data, status, detail string }{
			{`{"name":"a","link":"javascript:alert(1)"}`, "failed", "neither a path"},
			{`{"name":"a","link":"//evil.example/x"}`, "failed", "neither a path"},
			{`{"link":"/x"}`, "failed", "name"},
			{`{"name":"a","link":"/bookings/1"}`, "delivered", ""},
			{`{"name":"a","link":"https://app.example/b?x=1"}`, "delivered", ""},
		}
		for _, tc := range cases {
			var ev wire.NotifyEvent
			c.do(t, "POST", "/v1/events", `{"type":"link","recipients":["ann"],"data":`+tc.data+`}`).must(t, http.StatusAccepted, "post").json(t, &ev)
			eventDone(t, c, ev.ID)
			n := notificationsOf(t, c, ev.ID)[0]
			d := byChannel(n)["in_app"]
			if d.Status != tc.status || !strings.Contains(d.Detail, tc.detail) || n.InFeed != (tc.status == "delivered") {
				t.Fatalf("%s: %+v (in_feed %v)", tc.data, d, n.InFeed)
			}
		}
	})
}
