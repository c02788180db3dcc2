package push_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/notify/push"
	"github.com/joist-dev/joist/internal/notify/push/pushtest"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newFCM(t *testing.T, svc *pushtest.FCMService, clk *testClock) *push.FCM {
	t.Helper()
	f, err := push.NewFCM(push.FCMConfig{Credentials: svc.Credentials(), APIBase: svc.Server.URL, Client: svc.Server.Client(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFCMTokenCaching: many sends, some concurrent, share one exchange
// of the service-account assertion; once the injected clock passes the
// token's expiry, the next send exchanges again.
func TestFCMTokenCaching(t *testing.T) {
	t.Parallel()
	svc := pushtest.NewFCMService(t)
	clk := &testClock{t: time.Now()}
	f := newFCM(t, svc, clk)
	dev := svc.NewToken()
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o := f.Send(context.Background(), dev, push.Message{Title: "Hi", Body: "there"}); o.Status != push.Delivered {
				t.Errorf("%v", o)
			}
		}()
	}
	wg.Wait()
	if n := svc.Exchanges(); n != 1 {
		t.Fatalf("%d exchanges for 10 sends, want 1 (rejected %v)", n, svc.Rejected())
	}
	clk.Add(30 * time.Minute)
	f.Send(context.Background(), dev, push.Message{Title: "Hi"})
	if n := svc.Exchanges(); n != 1 {
		t.Fatalf("%d exchanges half way through the token's life", n)
	}
	clk.Add(31 * time.Minute) // past expires_in (3600 s) less the margin
	if o := f.Send(context.Background(), dev, push.Message{Title: "Hi"}); o.Status != push.Delivered {
		t.Fatal(o)
	}
	if n := svc.Exchanges(); n != 2 {
		t.Fatalf("%d exchanges after expiry, want 2", n)
	}
	msgs := svc.Messages()
	if len(msgs) != 12 || msgs[0].Token() != dev {
		t.Fatalf("%d messages", len(msgs))
	}
	if ti, b := msgs[0].Notification(); ti != "Hi" || b != "there" {
		t.Fatalf("notification %q %q", ti, b)
	}
}

// TestFCMMessage: the message carries the URL and data as strings, the
// TTL and priority per platform.
func TestFCMMessage(t *testing.T) {
	t.Parallel()
	svc := pushtest.NewFCMService(t)
	clk := &testClock{t: time.Now()}
	f := newFCM(t, svc, clk)
	dev := svc.NewToken()
	o := f.Send(context.Background(), dev, push.Message{Title: "T", Body: "B", URL: "https://app.example.com/b/1", Data: map[string]string{"k": "v"}, TTL: time.Hour, Urgency: push.UrgencyHigh})
	if o.Status != push.Delivered {
		t.Fatal(o, svc.Rejected())
	}
	m := svc.Messages()[0].Message
	data := m["data"].(map[string]any)
	android := m["android"].(map[string]any)
	if data["url"] != "https://app.example.com/b/1" || data["k"] != "v" || android["ttl"] != "3600s" || android["priority"] != "high" {
		t.Fatalf("%v", m)
	}
}

// TestFCMErrors: an unregistered token and a malformed one are gone
// (prune), 429 retries after Retry-After, a revoked access token is
// refreshed once and the send succeeds.
func TestFCMErrors(t *testing.T) {
	t.Parallel()
	svc := pushtest.NewFCMService(t)
	clk := &testClock{t: time.Now()}
	f := newFCM(t, svc, clk)
	ctx := context.Background()
	dev := svc.NewToken()
	svc.Unregister(dev)
	if o := f.Send(ctx, dev, push.Message{Title: "x"}); o.Status != push.Gone || o.Code != 404 || !strings.HasPrefix(o.Reason, "UNREGISTERED") {
		t.Fatalf("unregistered: %v", o)
	}
	if o := f.Send(ctx, "garbage", push.Message{Title: "x"}); o.Status != push.Gone || o.Code != 400 {
		t.Fatalf("invalid token: %v", o)
	}
	dev = svc.NewToken()
	svc.Reply(dev, 429, "17")
	if o := f.Send(ctx, dev, push.Message{Title: "x"}); o.Status != push.Retry || o.RetryAfter != 17*time.Second {
		t.Fatalf("429: %v", o)
	}
	svc.Reply(dev, 503, "")
	if o := f.Send(ctx, dev, push.Message{Title: "x"}); o.Status != push.Retry || o.Code != 503 {
		t.Fatalf("503: %v", o)
	}
	before := svc.Exchanges()
	svc.RevokeAccessTokens()
	if o := f.Send(ctx, dev, push.Message{Title: "x"}); o.Status != push.Delivered {
		t.Fatalf("after revocation: %v", o)
	}
	if svc.Exchanges() != before+1 {
		t.Fatalf("exchanges %d -> %d", before, svc.Exchanges())
	}
}

// TestFCMBadCredentials: a service account signed by another key is
// refused at the token endpoint, a permanent failure.
func TestFCMBadCredentials(t *testing.T) {
	t.Parallel()
	svc, other := pushtest.NewFCMService(t), pushtest.NewFCMService(t)
	creds := strings.Replace(string(other.Credentials()), other.TokenURL(), svc.TokenURL(), 1)
	creds = strings.Replace(creds, other.ClientEmail, svc.ClientEmail, 1)
	f, err := push.NewFCM(push.FCMConfig{Credentials: []byte(creds), APIBase: svc.Server.URL, Client: svc.Server.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if o := f.Send(context.Background(), svc.NewToken(), push.Message{Title: "x"}); o.Status != push.Failed || o.Code != 400 {
		t.Fatalf("%v", o)
	}
	if _, err := push.NewFCM(push.FCMConfig{Credentials: []byte(`{"project_id":"p"}`)}); err == nil || !strings.Contains(err.Error(), "client_email") {
		t.Fatalf("%v", err)
	}
}

func newAPNs(t *testing.T, svc *pushtest.APNsService, clk *testClock) *push.APNs {
	t.Helper()
	a, err := push.NewAPNs(push.APNsConfig{Key: svc.P8(), KeyID: svc.KeyID, TeamID: svc.TeamID, Topic: svc.Topic,
		APIBase: svc.Server.URL, RootCAs: svc.CertPool(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// TestAPNsSend: over HTTP/2 with a verified provider token, reused for
// many sends and made anew after 50 minutes; headers and payload as
// Apple documents them.
func TestAPNsSend(t *testing.T) {
	t.Parallel()
	svc := pushtest.NewAPNsService(t)
	clk := &testClock{t: time.Now()}
	svc.Now = clk.Now
	a := newAPNs(t, svc, clk)
	dev := svc.NewDevice()
	for range 5 {
		if o := a.Send(context.Background(), dev, push.Message{Title: "New booking", Body: "Ada", URL: "/b/1", TTL: time.Hour}); o.Status != push.Delivered {
			t.Fatalf("%v %v", o, svc.Rejected())
		}
	}
	if n := svc.ProviderTokens(); n != 1 {
		t.Fatalf("%d provider tokens for 5 sends", n)
	}
	clk.Add(51 * time.Minute)
	if o := a.Send(context.Background(), dev, push.Message{Title: "x"}); o.Status != push.Delivered {
		t.Fatal(o)
	}
	if n := svc.ProviderTokens(); n != 2 {
		t.Fatalf("%d provider tokens after 51 minutes", n)
	}
	n := svc.Notifications()[0]
	title, body := n.Alert()
	if title != "New booking" || body != "Ada" || n.Payload["url"] != "/b/1" || n.Topic != svc.Topic || n.PushType != "alert" || n.Priority != "10" || n.Expiration == "0" {
		t.Fatalf("%+v", n)
	}
}

// TestAPNsErrors: 410 Unregistered and 400 BadDeviceToken are gone, 429
// retries after Retry-After, ExpiredProviderToken makes a new token and
// tries once more.
func TestAPNsErrors(t *testing.T) {
	t.Parallel()
	svc := pushtest.NewAPNsService(t)
	clk := &testClock{t: time.Now()}
	a := newAPNs(t, svc, clk)
	ctx := context.Background()
	unknown := strings.Repeat("ab", 32)
	if o := a.Send(ctx, unknown, push.Message{Title: "x"}); o.Status != push.Gone || o.Code != 410 || o.Reason != "Unregistered" {
		t.Fatalf("unknown: %v", o)
	}
	if o := a.Send(ctx, strings.Repeat("ab", 30), push.Message{Title: "x"}); o.Status != push.Gone || o.Code != 400 || o.Reason != "BadDeviceToken" {
		t.Fatalf("short: %v", o)
	}
	dev := svc.NewDevice()
	svc.Reply(dev, 429, "TooManyRequests", "9")
	if o := a.Send(ctx, dev, push.Message{Title: "x"}); o.Status != push.Retry || o.RetryAfter != 9*time.Second || o.Reason != "TooManyRequests" {
		t.Fatalf("429: %v", o)
	}
	svc.ExpireProviderTokens()
	if o := a.Send(ctx, dev, push.Message{Title: "x"}); o.Status != push.Delivered {
		t.Fatalf("after expiry: %v", o)
	}
	if svc.ProviderTokens() != 2 {
		t.Fatalf("%d provider tokens", svc.ProviderTokens())
	}
}

// TestAPNsRefusesHTTP1: the stand-in, like APNs, refuses a client that
// speaks HTTP/1.1 (with ALPN http/1.1 or none at all) with 505 and
// accepts nothing from it.
func TestAPNsRefusesHTTP1(t *testing.T) {
	t.Parallel()
	svc := pushtest.NewAPNsService(t)
	dev := svc.NewDevice()
	for _, alpn := range [][]string{{"http/1.1"}, nil} {
		c := svc.HTTP1Client()
		c.Transport.(*http.Transport).TLSClientConfig.NextProtos = alpn
		resp, err := c.Post(svc.Server.URL+"/3/device/"+dev, "application/json", strings.NewReader(`{"aps":{"alert":"x"}}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusHTTPVersionNotSupported || resp.ProtoMajor != 1 {
			t.Fatalf("ALPN %v: %d %s", alpn, resp.StatusCode, resp.Proto)
		}
	}
	if len(svc.Notifications()) != 0 {
		t.Fatal("an HTTP/1.1 request was accepted")
	}
}

// TestAPNsRefusesOtherProviders: a provider token with another key id,
// or signed by another .p8, is refused (403 InvalidProviderToken, a
// permanent failure) and nothing is delivered.
func TestAPNsRefusesOtherProviders(t *testing.T) {
	t.Parallel()
	svc, other := pushtest.NewAPNsService(t), pushtest.NewAPNsService(t)
	dev := svc.NewDevice()
	for name, cfg := range map[string]push.APNsConfig{
		"other key id": {Key: svc.P8(), KeyID: "ZZZZZZZZZZ", TeamID: svc.TeamID},
		"other key":    {Key: other.P8(), KeyID: svc.KeyID, TeamID: svc.TeamID},
		"other team":   {Key: svc.P8(), KeyID: svc.KeyID, TeamID: "OTHER12345"},
	} {
		cfg.Topic, cfg.APIBase, cfg.RootCAs = svc.Topic, svc.Server.URL, svc.CertPool()
		a, err := push.NewAPNs(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if o := a.Send(context.Background(), dev, push.Message{Title: "x"}); o.Status != push.Failed || o.Code != 403 || o.Reason != "InvalidProviderToken" {
			t.Errorf("%s: %v", name, o)
		}
		a.Close()
	}
	if len(svc.Notifications()) != 0 {
		t.Fatal("delivered")
	}
}
