package notify_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/notify/push"
	"github.com/joist-dev/joist/wire"
)

const pushType = `{"channels": {
  "in_app": {"title": "New booking", "body": "{{.data.guest}} booked", "url": "/bookings/{{.data.id}}"},
  "push":   {"title": "New booking for {{.contact.name}}", "body": "{{.data.guest}}, {{.data.nights}} nights"}}}`

// TestPushChannel is the push channel inside the fan-out, on both
// stores: a host with a browser subscription and a phone gets one push
// delivery, queued by the fan-out and sent by its job to both targets
// (the web push payload decrypts to the rendered content and carries
// the notification's ids; FCM gets the same title); a host with neither
// is skipped with no_subscription; the delivery ends sent with the
// targets counted, and the channel's outcome is on the timeline.
func TestPushChannel(t *testing.T) {
	t.Parallel()
	svc := newPushServices(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		p := startPush(t, env)
		acme, ana := p.tenantWithContact(t, "acme", "ana")
		p.tenantWithContact(t, "acme2", "unused")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/contacts/ana", `{"email":"ana@example.com","name":"Ana"}`).must(t, http.StatusOK, "name ana")
		c.do(t, "PUT", "/v1/contacts/bob", `{"email":"bob@example.com","name":"Bob"}`).must(t, http.StatusCreated, "bob")
		browser := svc.web.Subscribe(t)
		if r := p.as(t, acme.ID, ana, "POST", "/v1/push/subscriptions", subscriptionJSON(browser)); r.status != http.StatusCreated {
			t.Fatalf("subscribe: %d %s", r.status, r.body)
		}
		tok := svc.fcm.NewToken()
		c.do(t, "POST", "/v1/contacts/ana/devices", `{"platform":"fcm","token":"`+tok+`"}`).must(t, http.StatusCreated, "device")
		c.do(t, "PUT", "/v1/notification-types/booking.created", pushType).must(t, http.StatusCreated, "type")

		var ev wire.NotifyEvent
		c.do(t, "POST", "/v1/events", `{"type":"booking.created","data":{"guest":"Ada","id":"bk_9","nights":3},"recipients":["ana","bob"]}`,
			"Joist-Correlation-Id", "cor-push-1").must(t, http.StatusAccepted, "event").json(t, &ev)
		eventDone(t, c, ev.ID)

		var ns []wire.Notification
		waitFor(t, 30*time.Second, "the push delivery to be sent", func() bool {
			ns = notificationsOf(t, c, ev.ID)
			for _, n := range ns {
				if n.Contact == "ana" && byChannel(n)["push"].Status == "sent" {
					return true
				}
			}
			return false
		})
		for _, n := range ns {
			d := byChannel(n)["push"]
			switch n.Contact {
			case "ana":
				if d.Detail != "2 delivered, 0 removed, 0 to retry, 0 failed of 2 targets" {
					t.Fatalf("ana's push: %+v", d)
				}
			case "bob":
				if d.Status != "skipped" || d.Reason != "no_subscription" {
					t.Fatalf("bob's push: %+v", d)
				}
			}
		}
		var web []push.WebPayload
		for _, m := range svc.web.Messages() {
			if m.Endpoint == browser.Endpoint {
				var w push.WebPayload
				if err := json.Unmarshal(m.Plaintext, &w); err != nil {
					t.Fatal(err)
				}
				web = append(web, w)
			}
		}
		if len(web) != 1 || web[0].Title != "New booking for Ana" || web[0].Body != "Ada, 3 nights" || web[0].URL != "/bookings/bk_9" ||
			web[0].Data["event_id"] != ev.ID || web[0].Data["type"] != "booking.created" || web[0].Data["id"] != "bk_9" || web[0].Data["nights"] != "3" {
			t.Fatalf("web push payloads: %+v", web)
		}
		sent := 0
		for _, m := range svc.fcm.Messages() {
			if m.Token() == tok {
				sent++
				if n, _ := m.Message["notification"].(map[string]any); n["title"] != "New booking for Ana" {
					t.Fatalf("fcm message: %+v", m.Message)
				}
			}
		}
		if sent != 1 {
			t.Fatalf("fcm got %d messages for the phone", sent)
		}
		var tl wire.List[wire.TimelineEntry]
		c.do(t, "GET", "/v1/contacts/ana/timeline", nil).must(t, http.StatusOK, "timeline").json(t, &tl)
		found := false
		for _, e := range tl.Data {
			if e.Kind == "notification.push.sent" && e.CorrelationID == "cor-push-1" {
				found = true
			}
		}
		if !found {
			t.Fatalf("no push outcome on the timeline: %+v", tl.Data)
		}
	}, svc.configure(t))
}
