package verify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stripe/stripe-go/v82/webhook"
	svix "github.com/svix/svix-webhooks/go"
)

// Two secrets valid for every provider: Stripe and the MAC providers use
// the string as is, Standard Webhooks and Svix decode the base64 after whsec_.
var (
	secretA = "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("a"), 32))
	secretB = "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("b"), 32))
	now     = time.Unix(1_700_000_000, 0)
)

// wantCode fails unless err is an *Error with the given code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error %s, got %v", code, err)
	}
	if e.Code != code {
		t.Fatalf("want code %s, got %s (%s)", code, e.Code, e.Message)
	}
}

func mustOK(t *testing.T, cfg Config, req Request, at time.Time) Result {
	t.Helper()
	res, err := Verify(cfg, req, at)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func macHex(h func() hash.Hash, key string, parts ...string) string {
	return hex.EncodeToString(mac(h, key, parts...))
}

func macB64(h func() hash.Hash, key string, parts ...string) string {
	return base64.StdEncoding.EncodeToString(mac(h, key, parts...))
}

func mac(h func() hash.Hash, key string, parts ...string) []byte {
	m := hmac.New(h, []byte(key))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// signer produces a request for one provider, signed with secret at ts,
// whose event id is "evt_1". Every body contains "evt_1" so that a test
// can tamper with it.
type signer struct {
	provider  Provider
	sigHeader string // removed by the missing-signature test
	timed     bool   // the scheme signs a timestamp
	extra     func(*Config)
	sign      func(t *testing.T, secret string, ts time.Time, body []byte) Request
}

const jsonBody = `{"id":"evt_1","type":"thing.happened","livemode":false,"event_id":"evt_1","event":{"type":"thing.happened"}}`

func signers() []signer {
	return []signer{
		{provider: Stripe, sigHeader: "Stripe-Signature", timed: true,
			sign: func(t *testing.T, secret string, ts time.Time, body []byte) Request {
				// stripe-go's own test helper signs the payload.
				p := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: ts})
				return Request{Method: "POST", Header: http.Header{"Stripe-Signature": {p.Header}}, Body: body}
			}},
		{provider: GitHub, sigHeader: "X-Hub-Signature-256",
			sign: func(t *testing.T, secret string, ts time.Time, body []byte) Request {
				h := http.Header{}
				h.Set("X-Hub-Signature-256", "sha256="+macHex(sha256.New, secret, string(body)))
				h.Set("X-GitHub-Delivery", "evt_1")
				h.Set("X-GitHub-Event", "push")
				return Request{Method: "POST", Header: h, Body: body}
			}},
		{provider: Shopify, sigHeader: "X-Shopify-Hmac-Sha256",
			sign: func(t *testing.T, secret string, ts time.Time, body []byte) Request {
				h := http.Header{}
				h.Set("X-Shopify-Hmac-Sha256", macB64(sha256.New, secret, string(body)))
				h.Set("X-Shopify-Webhook-Id", "evt_1")
				h.Set("X-Shopify-Topic", "orders/create")
				return Request{Method: "POST", Header: h, Body: body}
			}},
		{provider: Slack, sigHeader: "X-Slack-Signature", timed: true,
			sign: func(t *testing.T, secret string, ts time.Time, body []byte) Request {
				sec := strconv.FormatInt(ts.Unix(), 10)
				h := http.Header{}
				h.Set("X-Slack-Request-Timestamp", sec)
				h.Set("X-Slack-Signature", "v0="+macHex(sha256.New, secret, "v0:"+sec+":", string(body)))
				return Request{Method: "POST", Header: h, Body: body}
			}},
		{provider: Twilio, sigHeader: "X-Twilio-Signature",
			sign: func(t *testing.T, secret string, ts time.Time, body []byte) Request {
				const u = "https://joist.example/in/acme/sms?x=1"
				form := "Body=hi&From=%2B15551234567&MessageSid=evt_1"
				h := http.Header{}
				h.Set("Content-Type", "application/x-www-form-urlencoded")
				h.Set("X-Twilio-Signature", macB64(sha1.New, secret, u, "Bodyhi", "From+15551234567", "MessageSidevt_1"))
				h.Set("I-Twilio-Idempotency-Token", "evt_1")
				return Request{Method: "POST", URL: u, Header: h, Body: []byte(form)}
			}},
		{provider: StandardWebhooks, sigHeader: "webhook-signature", timed: true,
			sign: func(t *testing.T, secret string, ts time.Time, body []byte) Request {
				// The Standard Webhooks reference library signs.
				wh, err := standardwebhooks.NewWebhook(secret)
				if err != nil {
					t.Fatal(err)
				}
				sig, err := wh.Sign("evt_1", ts, body)
				if err != nil {
					t.Fatal(err)
				}
				h := http.Header{}
				h.Set("webhook-id", "evt_1")
				h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
				h.Set("webhook-signature", sig)
				return Request{Method: "POST", Header: h, Body: body}
			}},
		{provider: Svix, sigHeader: "svix-signature", timed: true,
			sign: func(t *testing.T, secret string, ts time.Time, body []byte) Request {
				// Svix's Go library signs, as Resend does.
				wh, err := svix.NewWebhook(secret)
				if err != nil {
					t.Fatal(err)
				}
				sig, err := wh.Sign("evt_1", ts, body)
				if err != nil {
					t.Fatal(err)
				}
				h := http.Header{}
				h.Set("svix-id", "evt_1")
				h.Set("svix-timestamp", strconv.FormatInt(ts.Unix(), 10))
				h.Set("svix-signature", sig)
				return Request{Method: "POST", Header: h, Body: body}
			}},
		{provider: HMAC, sigHeader: "X-Signature",
			extra: func(c *Config) {
				c.Header, c.Prefix, c.IDPointer, c.TypePointer = "X-Signature", "sha256=", "/id", "/type"
			},
			sign: func(t *testing.T, secret string, ts time.Time, body []byte) Request {
				h := http.Header{}
				h.Set("X-Signature", "sha256="+macHex(sha256.New, secret, string(body)))
				return Request{Method: "POST", Header: h, Body: body}
			}},
	}
}

func (s signer) config(secrets ...Secret) Config {
	c := Config{Provider: s.provider, Secrets: secrets}
	if s.extra != nil {
		s.extra(&c)
	}
	return c
}

func TestEveryProvider(t *testing.T) {
	body := []byte(jsonBody)
	for _, s := range signers() {
		t.Run(string(s.provider), func(t *testing.T) {
			cfg := s.config(Secret{Value: secretA})
			t.Run("valid", func(t *testing.T) {
				res := mustOK(t, cfg, s.sign(t, secretA, now, body), now)
				if res.EventID != "evt_1" || res.SecretIndex != 0 {
					t.Fatalf("got %+v", res)
				}
				if s.timed && !res.Timestamp.Equal(now) {
					t.Fatalf("timestamp %v, want %v", res.Timestamp, now)
				}
			})
			t.Run("wrong secret", func(t *testing.T) {
				_, err := Verify(cfg, s.sign(t, secretB, now, body), now)
				wantCode(t, err, CodeBadSignature)
			})
			t.Run("tampered body", func(t *testing.T) {
				req := s.sign(t, secretA, now, body)
				req.Body = bytes.Replace(req.Body, []byte("evt_1"), []byte("evt_2"), 1)
				_, err := Verify(cfg, req, now)
				wantCode(t, err, CodeBadSignature)
			})
			t.Run("missing signature", func(t *testing.T) {
				req := s.sign(t, secretA, now, body)
				req.Header.Del(s.sigHeader)
				_, err := Verify(cfg, req, now)
				wantCode(t, err, CodeMissingSignature)
			})
			t.Run("malformed signature", func(t *testing.T) {
				req := s.sign(t, secretA, now, body)
				req.Header.Set(s.sigHeader, "!!not a signature!!")
				_, err := Verify(cfg, req, now)
				wantCode(t, err, CodeMalformedSignature)
			})
			t.Run("rotation", func(t *testing.T) {
				expires := now.Add(time.Hour)
				rot := s.config(Secret{Value: secretA, ExpiresAt: &expires}, Secret{Value: secretB})
				if res := mustOK(t, rot, s.sign(t, secretA, now, body), now); res.SecretIndex != 0 {
					t.Fatalf("old secret: index %d", res.SecretIndex)
				}
				if res := mustOK(t, rot, s.sign(t, secretB, now, body), now); res.SecretIndex != 1 {
					t.Fatalf("new secret: index %d", res.SecretIndex)
				}
				later := expires // ExpiresAt itself is expired
				_, err := Verify(rot, s.sign(t, secretA, later, body), later)
				wantCode(t, err, CodeBadSignature)
				mustOK(t, rot, s.sign(t, secretB, later, body), later)
				_, err = Verify(s.config(Secret{Value: secretA, ExpiresAt: &expires}), s.sign(t, secretA, later, body), later)
				wantCode(t, err, CodeBadSignature)
			})
			if !s.timed {
				return
			}
			t.Run("timestamps", func(t *testing.T) {
				for _, d := range []time.Duration{-301 * time.Second, 301 * time.Second, time.Hour, -time.Hour} {
					_, err := Verify(cfg, s.sign(t, secretA, now.Add(d), body), now)
					wantCode(t, err, CodeStaleTimestamp)
				}
				for _, d := range []time.Duration{-300 * time.Second, 300 * time.Second} {
					mustOK(t, cfg, s.sign(t, secretA, now.Add(d), body), now)
				}
				narrow := cfg
				narrow.Tolerance = 10 * time.Second
				_, err := Verify(narrow, s.sign(t, secretA, now.Add(-11*time.Second), body), now)
				wantCode(t, err, CodeStaleTimestamp)
			})
		})
	}
}

func TestErrorString(t *testing.T) {
	_, err := Verify(Config{Provider: GitHub, Secrets: []Secret{{Value: "x"}}}, Request{}, now)
	if err == nil || !strings.HasPrefix(err.Error(), "missing_signature: ") {
		t.Fatalf("got %v", err)
	}
}
