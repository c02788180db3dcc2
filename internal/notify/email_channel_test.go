package notify_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// TestEmailOneClickUnsubscribe: a notification email of a type in a group
// carries List-Unsubscribe for the group; a POST to its link (as a
// mailbox provider sends) mutes the group's email in the contact's
// preferences, so the next event's email is skipped muted. A critical
// type's email has no unsubscribe link.
func TestEmailOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/email/templates/booking-created", bookingTemplate).must(t, http.StatusCreated, "template")
		c.do(t, "PUT", "/v1/notification-types/booking.created", bookingType).must(t, http.StatusCreated, "type")
		c.do(t, "PUT", "/v1/notification-types/password.reset", `{"channels":{"email":{"template":"booking-created","from":"hello@acme.example"}},
			"critical":true,"group":"bookings"}`).must(t, http.StatusCreated, "critical type")
		c.do(t, "PUT", "/v1/contacts/host", `{"email":"Host@Host.example","name":"Hans"}`).must(t, http.StatusCreated, "contact")
		data := `"data":{"guest":"Ana","room":"4","id":"1","nights":2,"property_id":"p"}`
		emailOf := func(typ string) (wire.Email, wire.NotificationDelivery) {
			t.Helper()
			var ev wire.NotifyEvent
			c.do(t, "POST", "/v1/events", `{"type":"`+typ+`","recipients":["host"],`+data+`}`).must(t, http.StatusAccepted, "post").json(t, &ev)
			eventDone(t, c, ev.ID)
			d := byChannel(notificationsOf(t, c, ev.ID)[0])["email"]
			var em wire.Email
			if d.Target != "" {
				c.do(t, "GET", "/v1/emails/"+d.Target, nil).must(t, http.StatusOK, "email").json(t, &em)
			}
			return em, d
		}
		em, d := emailOf("booking.created")
		link := strings.Trim(em.Headers["List-Unsubscribe"], "<>")
		if d.Status != "queued" || !strings.HasPrefix(link, env.URL+"/u/") || em.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
			t.Fatalf("email: %+v (delivery %+v)", em, d)
		}
		crit, _ := emailOf("password.reset")
		if _, ok := crit.Headers["List-Unsubscribe"]; ok || crit.ID == "" {
			t.Fatalf("a critical type's email has an unsubscribe link: %+v", crit)
		}
		res, err := http.PostForm(link, url.Values{"List-Unsubscribe": {"One-Click"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("one-click: %d", res.StatusCode)
		}
		var p wire.NotificationPreferences
		c.do(t, "GET", "/v1/contacts/host/preferences", nil).must(t, http.StatusOK, "prefs").json(t, &p)
		if v, ok := p.Overrides.Groups["bookings"]["email"]; !ok || v {
			t.Fatalf("preferences after unsubscribe: %+v", p.Overrides)
		}
		if _, d := emailOf("booking.created"); d.Status != "skipped" || d.Reason != "muted" {
			t.Fatalf("after unsubscribe: %+v", d)
		}
		if _, d := emailOf("password.reset"); d.Status != "queued" {
			t.Fatalf("critical after unsubscribe: %+v", d)
		}
		// The outbox captured the first email with its header.
		waitFor(t, 20*time.Second, "the outbox", func() bool {
			c.do(t, "GET", "/v1/emails/"+em.ID, nil).json(t, &em)
			return em.Status == "captured"
		})
	})
}

// TestEmailDefaultSender: a type whose email channel names no sender sends
// from JOIST_NOTIFY_EMAIL_FROM; without it, the delivery fails saying so
// (the notification and its other channels stand).
func TestEmailDefaultSender(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, env *apptest.Env) wire.NotificationDelivery {
		t.Helper()
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/email/templates/booking-created", bookingTemplate).must(t, http.StatusCreated, "template")
		c.do(t, "PUT", "/v1/notification-types/booking.created", `{"channels":{"in_app":{"title":"x"},"email":{"template":"booking-created"}}}`).
			must(t, http.StatusCreated, "type")
		c.do(t, "PUT", "/v1/contacts/host", `{"email":"host@host.example","name":"Hans"}`).must(t, http.StatusCreated, "contact")
		var ev wire.NotifyEvent
		c.do(t, "POST", "/v1/events", `{"type":"booking.created","recipients":["host"],"data":{"guest":"Ana","room":"4"}}`).
			must(t, http.StatusAccepted, "post").json(t, &ev)
		eventDone(t, c, ev.ID)
		n := notificationsOf(t, c, ev.ID)[0]
		if d := byChannel(n)["in_app"]; d.Status != "delivered" {
			t.Fatalf("in_app: %+v", d)
		}
		d := byChannel(n)["email"]
		if d.Target != "" {
			var em wire.Email
			c.do(t, "GET", "/v1/emails/"+d.Target, nil).must(t, http.StatusOK, "email").json(t, &em)
			if em.From != `"Acme Notices" <notices@acme.example>` {
				t.Fatalf("from: %q", em.From)
			}
		}
		return d
	}
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		if d := run(t, env); d.Status != "queued" {
			t.Fatalf("with a default sender: %+v", d)
		}
	}, func(c *config.Config) { c.NotifyEmailFrom = "Acme Notices <notices@acme.example>" })
	t.Run("no default sender", func(t *testing.T) {
		if d := run(t, apptest.Start(t, store.SQLite)); d.Status != "failed" || !strings.Contains(d.Detail, "JOIST_NOTIFY_EMAIL_FROM") {
			t.Fatalf("without a default sender: %+v", d)
		}
	})
}
