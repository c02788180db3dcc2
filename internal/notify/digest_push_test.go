package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/notify/push"
	"github.com/joist-dev/joist/wire"
)

// TestDigestPush: three events of a digest type for a contact with a
// browser subscription make one push when the digest goes out, through
// the push channel as any push: "3 new: <the push title>", the body
// listing the events, the digest named in the data; the digest's push
// delivery ends sent, with the channel's outcome on the timeline under
// the first event's correlation id.
func TestDigestPush(t *testing.T) {
	t.Parallel()
	svc := newPushServices(t)
	typ := strings.Replace(pushType, `"body": "{{.data.guest}}, {{.data.nights}} nights"}}`,
		`"body": "{{.data.guest}}, {{.data.nights}} nights"}}, "digest": {"window": "10m", "key": "all"}`, 1)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		p := startPush(t, env)
		acme, ana := p.tenantWithContact(t, "acme", "ana")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/contacts/ana", `{"name":"Ana"}`).must(t, http.StatusOK, "name ana")
		browser := svc.web.Subscribe(t)
		if r := p.as(t, acme.ID, ana, "POST", "/v1/push/subscriptions", subscriptionJSON(browser)); r.status != http.StatusCreated {
			t.Fatalf("subscribe: %d %s", r.status, r.body)
		}
		c.do(t, "PUT", "/v1/notification-types/booking.created", typ).must(t, http.StatusCreated, "type")
		digest := ""
		for i, g := range []string{"Ada", "Bo", "Cy"} {
			var ev wire.NotifyEvent
			c.do(t, "POST", "/v1/events", `{"type":"booking.created","data":{"guest":"`+g+`","id":"bk_`+g+`","nights":2},"recipients":["ana"]}`,
				"Joist-Correlation-Id", "cor-digest-"+g).must(t, http.StatusAccepted, "event").json(t, &ev)
			eventDone(t, c, ev.ID)
			d := byChannel(notificationsOf(t, c, ev.ID)[0])["push"]
			if d.Reason != "digested" || (i > 0 && d.Target != digest) {
				t.Fatalf("push of event %d: %+v", i, d)
			}
			digest = d.Target
		}
		if err := env.App.Notify.DigestSendForTest(context.Background(), acme.ID, digest); err != nil {
			t.Fatal(err)
		}
		var v wire.NotificationDigestView
		waitFor(t, 30*time.Second, "the digest's push to be sent", func() bool {
			c.do(t, "GET", "/v1/digests/"+digest, nil).must(t, http.StatusOK, "digest").json(t, &v)
			return digestChannels(v)["push"].Status == "sent"
		})
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
		if len(web) != 1 || web[0].Title != "3 new: New booking for Ana" || web[0].Body != "Ada booked\nBo booked\nCy booked" ||
			web[0].Data["digest_id"] != digest || web[0].Data["guest"] != "Cy" || web[0].URL != "/bookings/bk_Cy" {
			t.Fatalf("web push payloads: %+v", web)
		}
		var tl wire.List[wire.TimelineEntry]
		c.do(t, "GET", "/v1/contacts/ana/timeline", nil).must(t, http.StatusOK, "timeline").json(t, &tl)
		kinds := map[string]string{}
		for _, e := range tl.Data {
			kinds[e.Kind] = e.CorrelationID
		}
		if kinds["notification.push.sent"] != "cor-digest-Ada" || kinds["notification.digest"] != "cor-digest-Ada" {
			t.Fatalf("timeline: %+v", tl.Data)
		}
	}, svc.configure(t))
}
