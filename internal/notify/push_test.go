package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/notify"
	"github.com/joist-dev/joist/internal/notify/push"
	"github.com/joist-dev/joist/internal/notify/push/pushtest"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/wire"
)

// TestPushDeliver runs a real joist per store against the three
// stand-ins: a browser subscribes with a contact token and the phone's
// tokens are registered with an API key; Deliver reaches all three (the
// web push payload decrypts to what was sent, FCM and APNs verify their
// JWTs); when the services say the targets are gone, they are deleted
// (rows counted, audited, on the timeline) and the next delivery says
// no_subscription; a 429 asks to retry after its Retry-After.
func TestPushDeliver(t *testing.T) {
	t.Parallel()
	svc := newPushServices(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		p := startPush(t, env)
		acme, ana := p.tenantWithContact(t, "acme", "ana")

		// The public key, to a contact token and to the root key alike.
		var k1, k2 wire.VAPIDPublicKey
		r := p.as(t, acme.ID, ana, "GET", "/v1/push/vapid-public-key", "")
		r.json(t, &k1)
		p.root(t, "acme", "GET", "/v1/push/vapid-public-key", "").json(t, &k2)
		if r.status != 200 || len(k1.PublicKey) != 87 || k1 != k2 {
			t.Fatalf("vapid key: %d %s / %+v", r.status, r.body, k2)
		}
		if r := p.do(t, "GET", "/v1/push/vapid-public-key", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("no credential: %d", r.status)
		}
		if r := p.do(t, "GET", "/v1/push/vapid-public-key", "", "Authorization", "Bearer jk_notakey"); r.status != http.StatusUnauthorized {
			t.Fatalf("bad key: %d", r.status)
		} else if code, _ := r.problem(t); code != "invalid_key" {
			t.Fatalf("bad key: %s", r.body)
		}

		browser := svc.web.Subscribe(t)
		if r := p.as(t, acme.ID, ana, "POST", "/v1/push/subscriptions", subscriptionJSON(browser)); r.status != http.StatusCreated {
			t.Fatalf("subscribe: %d %s", r.status, r.body)
		}
		if r := p.as(t, acme.ID, ana, "POST", "/v1/push/subscriptions", subscriptionJSON(browser)); r.status != http.StatusOK || env.Count(t, "push_subscriptions") != 1 {
			t.Fatalf("subscribe again: %d %s, %d rows", r.status, r.body, env.Count(t, "push_subscriptions"))
		}
		fcmTok, apnsTok := svc.fcm.NewToken(), svc.apns.NewDevice()
		for _, d := range []wire.DeviceInput{{Platform: "fcm", Token: fcmTok}, {Platform: "apns", Token: apnsTok}} {
			b, _ := json.Marshal(d)
			if r := p.root(t, "acme", "POST", "/v1/contacts/ana/devices", string(b)); r.status != http.StatusCreated {
				t.Fatalf("device: %d %s", r.status, r.body)
			}
		}
		var list wire.List[wire.Device]
		p.root(t, "acme", "GET", "/v1/contacts/ana/devices", "").json(t, &list)
		if len(list.Data) != 3 || list.Data[2].Platform != "web" || list.Data[2].Endpoint != browser.Endpoint {
			t.Fatalf("devices: %+v", list)
		}
		if n := targets(t, env, acme.ID, ana); n != 3 {
			t.Fatalf("targets %d", n)
		}

		m := notify.PushMessage{Title: "New booking", Body: "Ada, 3 nights", URL: "/bookings/7", Data: map[string]string{"id": "7"}, TTL: time.Hour, Urgency: "high"}
		out, err := env.App.Push.Deliver(ctx, acme.ID, ana, m)
		if err != nil || out.Delivered != 3 {
			t.Fatalf("deliver: %+v %v (web rejected %v, fcm %v, apns %v)", out, err, svc.web.Rejected(), svc.fcm.Rejected(), svc.apns.Rejected())
		}
		var got push.WebPayload
		msgs := svc.web.Messages()
		if err := json.Unmarshal(msgs[len(msgs)-1].Plaintext, &got); err != nil || got.Title != m.Title || got.Body != m.Body || got.URL != m.URL || got.Data["id"] != "7" {
			t.Fatalf("decrypted %s: %v", msgs[len(msgs)-1].Plaintext, err)
		}
		if last := msgs[len(msgs)-1]; last.Subject != "mailto:ops@acme.example" || last.Key != k1.PublicKey || last.TTL != 3600 || last.Urgency != "high" {
			t.Fatalf("web push request: %+v", last)
		}
		if !sentTo(svc.fcm.Messages(), fcmTok) || len(svc.apns.Notifications()) == 0 {
			t.Fatal("FCM or APNs got nothing")
		}

		// Gone everywhere: all three targets deleted.
		svc.web.Unsubscribe(browser)
		svc.fcm.Unregister(fcmTok)
		svc.apns.Unregister(apnsTok)
		out, err = env.App.Push.Deliver(ctx, acme.ID, ana, m)
		var perm *notify.PushPermanentError
		if !errors.As(err, &perm) || perm.Reason != "no_subscription" || out.Removed != 3 {
			t.Fatalf("after unregistering: %+v %v", out, err)
		}
		if env.Count(t, "push_subscriptions") != 0 || env.Count(t, "push_devices") != 0 || targets(t, env, acme.ID, ana) != 0 {
			t.Fatal("gone targets were not deleted")
		}
		if n := countWhere(t, env, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'push.%_pruned'`); n != 3 {
			t.Fatalf("%d pruning audit entries", n)
		}
		if n := countWhere(t, env, `SELECT COUNT(*) FROM timeline WHERE kind = 'push.target_removed'`); n != 3 {
			t.Fatalf("%d timeline entries", n)
		}

		// 429: retry, after the service's Retry-After.
		again := svc.web.Subscribe(t)
		p.as(t, acme.ID, ana, "POST", "/v1/push/subscriptions", subscriptionJSON(again))
		svc.web.Reply(again, http.StatusTooManyRequests, "30", "slow down")
		_, err = env.App.Push.Deliver(ctx, acme.ID, ana, m)
		var retry *notify.PushRetryError
		if !errors.As(err, &retry) || retry.After != 30*time.Second || env.Count(t, "push_subscriptions") != 1 {
			t.Fatalf("429: %v", err)
		}
	}, svc.configure(t))
}

func sentTo(msgs []pushtest.FCMMessage, tok string) bool {
	for _, m := range msgs {
		if m.Token() == tok {
			return true
		}
	}
	return false
}

// targets is Push.Targets in a read transaction.
func targets(t *testing.T, env *apptest.Env, tenantID, contactID string) int {
	t.Helper()
	var n int
	err := env.App.DB.Read(context.Background(), func(tx *store.Tx) (err error) {
		n, err = env.App.Push.Targets(context.Background(), tx, tenantID, contactID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func countWhere(t *testing.T, env *apptest.Env, q string) int {
	t.Helper()
	var n int
	if err := env.App.DB.Read(context.Background(), func(tx *store.Tx) error { return tx.QueryRow(context.Background(), q).Scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPushBadInput: invalid subscriptions and devices are refused with a
// code naming the field, storing nothing; without a contact token the
// subscription routes answer 401.
func TestPushBadInput(t *testing.T) {
	t.Parallel()
	svc := newPushServices(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		p := startPush(t, env)
		acme, ana := p.tenantWithContact(t, "acme", "ana")
		b := svc.web.Subscribe(t)
		good := map[string]any{"endpoint": b.Endpoint, "expirationTime": nil, "keys": map[string]any{"p256dh": b.P256dh(), "auth": b.AuthSecret()}}
		with := func(f func(m map[string]any)) string {
			raw, _ := json.Marshal(good)
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			f(m)
			out, _ := json.Marshal(m)
			return string(out)
		}
		keys := func(m map[string]any) map[string]any { return m["keys"].(map[string]any) }
		before := storetest.Snapshot(t, env.App.DB)
		for _, c := range []struct {
			name, body, code, field string
		}{
			{"http endpoint", with(func(m map[string]any) { m["endpoint"] = strings.Replace(b.Endpoint, "https:", "http:", 1) }), "invalid_subscription", "endpoint"},
			{"relative endpoint", with(func(m map[string]any) { m["endpoint"] = "/push/x" }), "invalid_subscription", "endpoint"},
			{"metadata endpoint", with(func(m map[string]any) { m["endpoint"] = "https://169.254.169.254/push" }), "invalid_subscription", "endpoint"},
			{"short p256dh", with(func(m map[string]any) { keys(m)["p256dh"] = b.P256dh()[:86] }), "invalid_subscription", "keys.p256dh"},
			{"p256dh not base64url", with(func(m map[string]any) { keys(m)["p256dh"] = "!!" + b.P256dh()[2:] }), "invalid_subscription", "keys.p256dh"},
			{"auth of 15 bytes", with(func(m map[string]any) { keys(m)["auth"] = "AAAAAAAAAAAAAAAAAAAA" }), "invalid_subscription", "keys.auth"},
			{"no keys", with(func(m map[string]any) { delete(m, "keys") }), "invalid_subscription", "keys.p256dh"},
			{"expired", with(func(m map[string]any) { m["expirationTime"] = 1000 }), "invalid_subscription", "expirationTime"},
			{"unknown field", with(func(m map[string]any) { m["extra"] = 1 }), "unknown_field", ""},
			{"NUL", with(func(m map[string]any) { m["endpoint"] = b.Endpoint + "\x00" }), "invalid_text", "endpoint"},
		} {
			r := p.as(t, acme.ID, ana, "POST", "/v1/push/subscriptions", c.body)
			code, field := r.problem(t)
			if r.status != http.StatusBadRequest || code != c.code || (c.field != "" && field != c.field) {
				t.Errorf("%s: %d %s", c.name, r.status, r.body)
			}
		}
		for _, c := range []struct{ body, code, field string }{
			{`{"platform":"sms","token":"x"}`, "invalid_platform", "platform"},
			{`{"platform":"apns","token":"not-hex"}`, "invalid_device_token", "token"},
			{`{"platform":"fcm","token":""}`, "invalid_device_token", "token"},
			{`{"platform":"fcm","token":"a b"}`, "invalid_device_token", "token"},
		} {
			r := p.root(t, "acme", "POST", "/v1/contacts/ana/devices", c.body)
			if code, field := r.problem(t); r.status != 400 || code != c.code || field != c.field {
				t.Errorf("device %s: %d %s", c.body, r.status, r.body)
			}
		}
		if r := p.do(t, "POST", "/v1/push/subscriptions", with(func(map[string]any) {})); r.status != http.StatusUnauthorized {
			t.Errorf("no token: %d %s", r.status, r.body)
		}
		if r := p.do(t, "POST", "/v1/push/subscriptions", with(func(map[string]any) {}), "Authorization", "Bearer "+env.RootKey); r.status != http.StatusUnauthorized {
			t.Errorf("an API key on a contact route: %d %s", r.status, r.body)
		}
		if r := p.root(t, "acme", "POST", "/v1/contacts/nobody/devices", `{"platform":"fcm","token":"fcm:x"}`); r.status != http.StatusNotFound {
			t.Errorf("unknown contact: %d", r.status)
		}
		storetest.Unchanged(t, before, storetest.Snapshot(t, env.App.DB))
	}, svc.configure(t))
}

// TestPushIsolation: another tenant's contact, devices and subscriptions
// are invisible: 404 on every device route, its own subscription list
// and deletes never reach the first tenant's rows, and one contact
// cannot delete another's subscription.
func TestPushIsolation(t *testing.T) {
	t.Parallel()
	svc := newPushServices(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		p := startPush(t, env)
		acme, ana := p.tenantWithContact(t, "acme", "ana")
		other, bob := p.tenantWithContact(t, "other", "bob")
		b := svc.web.Subscribe(t)
		if r := p.as(t, acme.ID, ana, "POST", "/v1/push/subscriptions", subscriptionJSON(b)); r.status != 201 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		tok := svc.apns.NewDevice()
		p.root(t, "acme", "POST", "/v1/contacts/ana/devices", `{"platform":"apns","token":"`+tok+`"}`)
		for _, r := range []pushResp{
			p.root(t, "other", "GET", "/v1/contacts/ana/devices", ""),
			p.root(t, "other", "POST", "/v1/contacts/ana/devices", `{"platform":"fcm","token":"fcm:x"}`),
			p.root(t, "other", "DELETE", "/v1/contacts/ana/devices", `{"platform":"apns","token":"`+tok+`"}`),
			p.as(t, other.ID, bob, "DELETE", "/v1/push/subscriptions", `{"endpoint":"`+b.Endpoint+`"}`),
		} {
			if r.status != http.StatusNotFound {
				t.Errorf("other tenant: %d %s", r.status, r.body)
			}
		}
		var list wire.List[wire.Device]
		p.root(t, "other", "GET", "/v1/contacts/bob/devices", "").json(t, &list)
		if len(list.Data) != 0 || targets(t, env, other.ID, bob) != 0 {
			t.Fatalf("bob sees %+v", list)
		}
		if env.Count(t, "push_subscriptions") != 1 || env.Count(t, "push_devices") != 1 {
			t.Fatal("another tenant's request changed rows")
		}
		// The other tenant's VAPID key is its own.
		var ka, ko wire.VAPIDPublicKey
		p.as(t, acme.ID, ana, "GET", "/v1/push/vapid-public-key", "").json(t, &ka)
		p.as(t, other.ID, bob, "GET", "/v1/push/vapid-public-key", "").json(t, &ko)
		if ka.PublicKey == ko.PublicKey || ko.PublicKey == "" {
			t.Fatal("tenants share a VAPID key")
		}
		// The owner deletes: 204, then 404.
		if r := p.as(t, acme.ID, ana, "DELETE", "/v1/push/subscriptions", `{"endpoint":"`+b.Endpoint+`"}`); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if r := p.as(t, acme.ID, ana, "DELETE", "/v1/push/subscriptions", `{"endpoint":"`+b.Endpoint+`"}`); r.status != http.StatusNotFound {
			t.Fatalf("delete again: %d", r.status)
		}
		if r := p.root(t, "acme", "DELETE", "/v1/contacts/ana/devices", `{"platform":"apns","token":"`+tok+`"}`); r.status != http.StatusNoContent || env.Count(t, "push_devices") != 0 {
			t.Fatalf("device delete: %d %s", r.status, r.body)
		}
	}, svc.configure(t))
}

// TestPushMetrics: each send is counted by platform and outcome on
// /metrics.
func TestPushMetrics(t *testing.T) {
	t.Parallel()
	svc := newPushServices(t)
	env := apptest.Start(t, store.SQLite, svc.configure(t))
	p := startPush(t, env)
	acme, ana := p.tenantWithContact(t, "acme", "ana")
	b := svc.web.Subscribe(t)
	p.as(t, acme.ID, ana, "POST", "/v1/push/subscriptions", subscriptionJSON(b))
	if _, err := env.App.Push.Deliver(context.Background(), acme.ID, ana, notify.PushMessage{Title: "x"}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `joist_push_sends_total{outcome="delivered",platform="web"} 1`) {
		t.Fatalf("metrics lack the send:\n%s", body)
	}
}

// TestPushRefusedDestination: a stored endpoint the egress rules now
// refuse (an operator removed 127.0.0.1 from JOIST_EGRESS_ALLOW) fails
// for good with destination_refused, nothing is sent, and the
// subscription is kept (it is not the push service's verdict).
func TestPushRefusedDestination(t *testing.T) {
	t.Parallel()
	svc := newPushServices(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		p := startPush(t, env)
		acme, ana := p.tenantWithContact(t, "acme", "ana")
		b := svc.web.Subscribe(t)
		if r := p.as(t, acme.ID, ana, "POST", "/v1/push/subscriptions", subscriptionJSON(b)); r.status != http.StatusCreated {
			t.Fatalf("%d %s", r.status, r.body)
		}
		env = env.Restart(t, func(c *config.Config) { c.EgressAllow = nil })
		before := len(svc.web.Messages())
		out, err := env.App.Push.Deliver(context.Background(), acme.ID, ana, notify.PushMessage{Title: "x"})
		var perm *notify.PushPermanentError
		if !errors.As(err, &perm) || perm.Reason != "failed" || out.Failed != 1 || !strings.Contains(out.Targets[0].Detail, "destination_refused") {
			t.Fatalf("%+v %v", out, err)
		}
		if len(svc.web.Messages()) != before || env.Count(t, "push_subscriptions") != 1 {
			t.Fatal("sent, or the subscription was deleted")
		}
	}, svc.configure(t))
}
