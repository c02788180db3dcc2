package push_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/notify/push"
	"github.com/joist-dev/joist/internal/notify/push/pushtest"
)

func newWebPush(t *testing.T, svc *pushtest.WebPushService, subject string) *push.WebPush {
	t.Helper()
	keys, err := push.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	return &push.WebPush{Client: svc.Server.Client(), Keys: keys, Subject: subject}
}

// TestWebPushRoundTrip: a message reaches the service, which verifies the
// VAPID JWT (ES256 by k, aud the endpoint's origin, exp within 24 h, sub
// exactly the configured subject) and decrypts the aes128gcm payload
// with the subscription's private key to the JSON sent; TTL and urgency
// arrive as headers.
func TestWebPushRoundTrip(t *testing.T) {
	t.Parallel()
	svc := pushtest.NewWebPushService(t)
	sub := svc.Subscribe(t)
	for _, subject := range []string{"mailto:ops@example.com", "https://example.com/contact"} {
		w := newWebPush(t, svc, subject)
		m := push.Message{Title: "New booking", Body: "Ada, 3 nights — ünïcode", URL: "/bookings/7", Data: map[string]string{"id": "7"},
			TTL: 90 * time.Minute, Urgency: push.UrgencyHigh}
		o := w.Send(context.Background(), push.Subscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh(), Auth: sub.AuthSecret()}, m)
		if o.Status != push.Delivered || o.Code != http.StatusCreated {
			t.Fatalf("%s: %v (rejected: %v)", subject, o, svc.Rejected())
		}
		msgs := svc.Messages()
		got := msgs[len(msgs)-1]
		var p push.WebPayload
		if err := json.Unmarshal(got.Plaintext, &p); err != nil {
			t.Fatalf("decrypted payload %q: %v", got.Plaintext, err)
		}
		if p.Title != m.Title || p.Body != m.Body || p.URL != m.URL || p.Data["id"] != "7" {
			t.Fatalf("decrypted %+v", p)
		}
		if got.TTL != 5400 || got.Urgency != "high" {
			t.Fatalf("TTL %d urgency %q", got.TTL, got.Urgency)
		}
		if got.Subject != subject {
			t.Fatalf("sub %q, want %q", got.Subject, subject)
		}
		if got.Audience != svc.Server.URL || got.Key != w.Keys.PublicKeyString() {
			t.Fatalf("aud %q k %q", got.Audience, got.Key)
		}
		if d := time.Until(got.Expiry); d <= 0 || d > 24*time.Hour {
			t.Fatalf("exp in %s", d)
		}
	}
}

// TestWebPushDecryptRejectsOtherKeys: the stand-in's decryption is a real
// check: another subscription's keys cannot open the body.
func TestWebPushDecryptRejectsOtherKeys(t *testing.T) {
	t.Parallel()
	svc := pushtest.NewWebPushService(t)
	a, b := svc.Subscribe(t), svc.Subscribe(t)
	w := newWebPush(t, svc, "mailto:ops@example.com")
	// a's endpoint, b's keys: the service decrypts with a's private key.
	o := w.Send(context.Background(), push.Subscription{Endpoint: a.Endpoint, P256dh: b.P256dh(), Auth: b.AuthSecret()}, push.Message{Title: "x"})
	if o.Status != push.Failed || o.Code != 400 || !strings.Contains(o.Reason, "cannot decrypt") {
		t.Fatalf("%v", o)
	}
}

// TestWebPushAnswers: 404/410 say the subscription is gone, 429 and 503
// retry with Retry-After (seconds or a date), 400/403/413 fail for good
// with the body's reason.
func TestWebPushAnswers(t *testing.T) {
	t.Parallel()
	svc := pushtest.NewWebPushService(t)
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	w := newWebPush(t, svc, "mailto:ops@example.com")
	w.Now = func() time.Time { return now }
	for _, c := range []struct {
		code       int
		retryAfter string
		body       string
		status     push.Status
		after      time.Duration
	}{
		{404, "", "", push.Gone, 0},
		{410, "", "", push.Gone, 0},
		{429, "120", "slow down", push.Retry, 2 * time.Minute},
		{503, now.Add(30 * time.Second).Format(http.TimeFormat), "", push.Retry, 30 * time.Second},
		{400, "", "bad header", push.Failed, 0},
		{403, "", "VAPID key mismatch", push.Failed, 0},
		{413, "", "payload too large", push.Failed, 0},
	} {
		sub := svc.Subscribe(t)
		svc.Reply(sub, c.code, c.retryAfter, c.body)
		o := w.Send(context.Background(), push.Subscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh(), Auth: sub.AuthSecret()}, push.Message{Title: "t"})
		if o.Status != c.status || o.Code != c.code || o.RetryAfter != c.after || (c.body != "" && o.Status == push.Failed && o.Reason != c.body) {
			t.Errorf("%d: %+v", c.code, o)
		}
	}
	sub := svc.Subscribe(t)
	svc.Unsubscribe(sub)
	if o := w.Send(context.Background(), push.Subscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh(), Auth: sub.AuthSecret()}, push.Message{}); o.Status != push.Gone {
		t.Fatalf("unsubscribed: %v", o)
	}
	if len(svc.Rejected()) != 0 {
		t.Fatalf("rejected: %v", svc.Rejected())
	}
}

// TestValidateSubject: mailto: with one plain address or https: URLs only.
func TestValidateSubject(t *testing.T) {
	t.Parallel()
	for s, ok := range map[string]bool{
		"mailto:ops@example.com": true, "https://example.com": true, "https://example.com/about": true,
		"ops@example.com": false, "http://example.com": false, "mailto:": false, "mailto:Ops <ops@example.com>": false,
		"https://": false, "": false, "urn:x": false,
	} {
		if err := push.ValidateSubject(s); (err == nil) != ok {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// TestValidateSubscription names the wrong field.
func TestValidateSubscription(t *testing.T) {
	t.Parallel()
	svc := pushtest.NewWebPushService(t)
	sub := svc.Subscribe(t)
	good := push.Subscription{Endpoint: "https://push.example.com/x", P256dh: sub.P256dh(), Auth: sub.AuthSecret()}
	if err := push.ValidateSubscription(good); err != nil {
		t.Fatal(err)
	}
	notOnCurve := "BA" + strings.Repeat("A", 85) // 0x04 then zeros: 65 bytes, not a point
	for field, s := range map[string]push.Subscription{
		"endpoint":    {Endpoint: "http://push.example.com/x", P256dh: good.P256dh, Auth: good.Auth},
		"keys.p256dh": {Endpoint: good.Endpoint, P256dh: good.P256dh[:40], Auth: good.Auth},
		"keys.auth":   {Endpoint: good.Endpoint, P256dh: good.P256dh, Auth: good.Auth + "AA"},
	} {
		err := push.ValidateSubscription(s)
		var se *push.SubscriptionError
		if !errorsAs(err, &se) || se.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	if err := push.ValidateSubscription(push.Subscription{Endpoint: good.Endpoint, P256dh: notOnCurve, Auth: good.Auth}); err == nil {
		t.Error("a point off the curve passed")
	}
}

// TestVAPIDKeysFromPrivate rebuilds the same public key.
func TestVAPIDKeysFromPrivate(t *testing.T) {
	t.Parallel()
	k, _ := push.GenerateVAPIDKeys()
	k2, err := push.VAPIDKeysFromPrivate(k.Private)
	if err != nil || k2.PublicKeyString() != k.PublicKeyString() || len(k.Public) != 65 || len(k.Private) != 32 {
		t.Fatalf("%v %v", k2, err)
	}
}

// flipTransport flips one bit of each request body's last byte (the
// ciphertext's tag) before sending it.
type flipTransport struct{ base http.RoundTripper }

func (f flipTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	b[len(b)-1] ^= 1
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(b))
	r2.ContentLength = int64(len(b))
	return f.base.RoundTrip(r2)
}

// TestWebPushTamperedBodyRefused: the stand-in's decryption is
// authenticated: one flipped bit and it refuses the body.
func TestWebPushTamperedBodyRefused(t *testing.T) {
	t.Parallel()
	svc := pushtest.NewWebPushService(t)
	sub := svc.Subscribe(t)
	w := newWebPush(t, svc, "mailto:ops@example.com")
	w.Client = &http.Client{Transport: flipTransport{svc.Server.Client().Transport}}
	o := w.Send(context.Background(), push.Subscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh(), Auth: sub.AuthSecret()}, push.Message{Title: "x"})
	if o.Status != push.Failed || !strings.Contains(o.Reason, "cannot decrypt") || len(svc.Messages()) != 0 {
		t.Fatalf("%v", o)
	}
}
