package notify_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/notify"
	"github.com/joist-dev/joist/wire"
)

// fakePush is a push Channel: queued to a device for contacts that have
// one, skipped no_subscription otherwise; it renders the type's push
// content as a real sender would.
type fakePush struct {
	mu       sync.Mutex
	rendered map[string]string // delivery id -> rendered body
}

func (*fakePush) Name() string { return notify.ChannelPush }

func (f *fakePush) Plan(_ context.Context, in notify.PlanInput) (notify.Outcome, error) {
	if in.Contact.Name != "has-device" {
		return notify.Skipped("no_subscription"), nil
	}
	body, err := in.Render(in.Type.Channels.Push.Body)
	if err != nil {
		return notify.Outcome{Status: notify.StatusFailed, Detail: err.Error()}, nil
	}
	f.mu.Lock()
	f.rendered[in.Delivery] = body
	f.mu.Unlock()
	return notify.Outcome{Status: notify.StatusQueued, Target: "dev_1"}, nil
}

// TestChannelHook: a registered push Channel decides each delivery in the
// fan-out (queued with its target, or skipped with its reason, muted ones
// never asked), renders the type's content with the contact's context,
// and its send job's outcome recorded with DeliveryFinish shows in the
// event's notifications and on the timeline.
func TestChannelHook(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn := newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		push := &fakePush{rendered: map[string]string{}}
		env.App.Notify.SetChannelForTest(push)
		c.do(t, "PUT", "/v1/notification-types/chat.message", `{"channels":{"push":{"title":"New message","body":"{{.data.from}} to {{.contact.external_id}}"}}}`).
			must(t, http.StatusCreated, "type")
		c.do(t, "PUT", "/v1/contacts/phone", `{"name":"has-device"}`).must(t, http.StatusCreated, "contact")
		c.do(t, "PUT", "/v1/contacts/nophone", `{"name":"none"}`).must(t, http.StatusCreated, "contact")
		c.do(t, "PUT", "/v1/contacts/muted", `{"name":"has-device"}`).must(t, http.StatusCreated, "contact")
		c.do(t, "PUT", "/v1/contacts/muted/preferences", `{"channels":{"push":false}}`).must(t, http.StatusOK, "prefs")
		var ev wire.NotifyEvent
		c.do(t, "POST", "/v1/events", `{"type":"chat.message","recipients":["phone","nophone","muted"],"data":{"from":"Ana"}}`).
			must(t, http.StatusAccepted, "post").json(t, &ev)
		eventDone(t, c, ev.ID)
		got := map[string]wire.NotificationDelivery{}
		for _, n := range notificationsOf(t, c, ev.ID) {
			got[n.Contact] = byChannel(n)["push"]
			if n.InFeed {
				t.Fatalf("a type without in_app put %s's notification in the feed", n.Contact)
			}
		}
		if d := got["phone"]; d.Status != "queued" || d.Target != "dev_1" || push.rendered[d.ID] != "Ana to phone" {
			t.Fatalf("phone: %+v rendered %v", d, push.rendered)
		}
		if d := got["nophone"]; d.Status != "skipped" || d.Reason != "no_subscription" {
			t.Fatalf("nophone: %+v", d)
		}
		if d := got["muted"]; d.Status != "skipped" || d.Reason != "muted" || len(push.rendered) != 1 {
			t.Fatalf("muted: %+v (%d planned)", d, len(push.rendered))
		}
		if err := env.App.Notify.DeliveryFinish(ctx, tn.ID, got["phone"].ID, notify.StatusSent, ""); err != nil {
			t.Fatal(err)
		}
		if err := env.App.Notify.DeliveryFinish(ctx, "tn_other", got["phone"].ID, notify.StatusFailed, "x"); err == nil {
			t.Fatal("another tenant finished the delivery")
		}
		for _, n := range notificationsOf(t, c, ev.ID) {
			if d := byChannel(n)["push"]; n.Contact == "phone" && d.Status != "sent" {
				t.Fatalf("after DeliveryFinish: %+v", d)
			}
		}
		var tl wire.List[wire.TimelineEntry]
		c.do(t, "GET", "/v1/contacts/phone/timeline", nil).json(t, &tl)
		kinds := []string{}
		for _, e := range tl.Data {
			if e.CorrelationID == ev.CorrelationID {
				kinds = append(kinds, e.Kind)
			}
		}
		if s := strings.Join(kinds, ","); !strings.Contains(s, "notification.push.sent") || !strings.Contains(s, "notification.created") {
			t.Fatalf("timeline: %v", kinds)
		}
	})
}
