package verify

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/signing"
)

// Published test vectors, each with where it comes from.

// Standard Webhooks specification, "Signature scheme" example
// (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
func TestVectorStandardWebhooksSpec(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		sig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	at := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	for _, p := range []struct {
		provider Provider
		prefix   string
	}{{StandardWebhooks, "webhook-"}, {Svix, "svix-"}} {
		h := http.Header{}
		h.Set(p.prefix+"id", id)
		h.Set(p.prefix+"timestamp", "1614265330")
		h.Set(p.prefix+"signature", sig)
		cfg := Config{Provider: p.provider, Secrets: []Secret{{Value: secret}}}
		res := mustOK(t, cfg, Request{Header: h, Body: body}, at)
		if res.EventID != id || !res.Timestamp.Equal(at) {
			t.Fatalf("%s: %+v", p.provider, res)
		}
		// Several signatures, space-separated, the valid one last.
		h.Set(p.prefix+"signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,unknown "+sig)
		mustOK(t, cfg, Request{Header: h, Body: body}, at)
	}
}

// Slack, "Verifying requests from Slack"
// (https://api.slack.com/authentication/verifying-requests-from-slack),
// the slash-command walk-through.
func TestVectorSlackDocs(t *testing.T) {
	const body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Slack-Request-Timestamp", "1531420618")
	h.Set("X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
	cfg := Config{Provider: Slack, Secrets: []Secret{{Value: "8f742231b10e8888abcd99yyyzzz85a5"}}}
	res := mustOK(t, cfg, Request{Header: h, Body: []byte(body)}, time.Unix(1531420618+60, 0))
	if res.EventID != "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c" || res.EventType != "slash_command" {
		t.Fatalf("got %+v", res)
	}
	_, err := Verify(cfg, Request{Header: h, Body: []byte(body)}, time.Unix(1531420618+301, 0))
	wantCode(t, err, CodeStaleTimestamp)
}

// GitHub, "Validating webhook deliveries", "Testing the webhook payload
// validation" (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
func TestVectorGitHubDocs(t *testing.T) {
	h := http.Header{}
	h.Set("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	h.Set("X-GitHub-Event", "issues")
	cfg := Config{Provider: GitHub, Secrets: []Secret{{Value: "It's a Secret to Everybody"}}}
	res := mustOK(t, cfg, Request{Header: h, Body: []byte("Hello, World!")}, now)
	if res.EventID != "72d3162e-cc78-11e3-81ab-4c9367dc0958" || res.EventType != "issues" {
		t.Fatalf("got %+v", res)
	}
}

// Twilio: the form example of Twilio's security docs and twilio-php's
// validation guide (auth token "12345", https://mycompany.com/myapp.php?foo=1&bar=2,
// signature RSOYDt4T1cUTdK1PDd93/VVr8B8=), and the port and bodySHA256
// vectors of twilio-go's client/request_validator_test.go.
func TestVectorTwilio(t *testing.T) {
	const (
		testURL  = "https://mycompany.com/myapp.php?foo=1&bar=2"
		bodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
		form     = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
		json     = `{"property": "value", "boolean": true}`
	)
	cfg := Config{Provider: Twilio, Secrets: []Secret{{Value: "12345"}}, IDHeader: "X-Test-Id"}
	req := func(u, sig, body, ct string) Request {
		h := http.Header{}
		h.Set("X-Twilio-Signature", sig)
		h.Set("X-Test-Id", "1")
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		return Request{Method: "POST", URL: u, Header: h, Body: []byte(body)}
	}
	const formCT = "application/x-www-form-urlencoded"
	for _, c := range []struct{ name, url, sig string }{
		{"docs example", testURL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"port in URL, signed without", strings.Replace(testURL, ".com", ".com:1234", 1), "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"no port in URL, signed with :443", testURL, "kvajT1Ptam85bY51eRf/AJRuM3w="},
		{"http, signed without port", strings.Replace(testURL, "https", "http", 1), "0ZXoZLH/DfblKGATFgpif+LLRf4="},
		{"http, signed with its port", strings.Replace(strings.Replace(testURL, ".com", ".com:1234", 1), "https", "http", 1), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="},
	} {
		t.Run(c.name, func(t *testing.T) { mustOK(t, cfg, req(c.url, c.sig, form, formCT), now) })
	}
	t.Run("form params reordered on the wire", func(t *testing.T) {
		reordered := "To=%2B18005551212&From=%2B14158675309&Digits=1234&Caller=%2B14158675309&CallSid=CA1234567890ABCDE"
		mustOK(t, cfg, req(testURL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", reordered, formCT+"; charset=utf-8"), now)
	})
	t.Run("form param changed", func(t *testing.T) {
		_, err := Verify(cfg, req(testURL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", strings.Replace(form, "1234", "9999", 1), formCT), now)
		wantCode(t, err, CodeBadSignature)
	})
	t.Run("other URL", func(t *testing.T) {
		_, err := Verify(cfg, req(testURL+"&baz=3", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form, formCT), now)
		wantCode(t, err, CodeBadSignature)
	})
	t.Run("json bodySHA256", func(t *testing.T) {
		mustOK(t, cfg, req(testURL+"&bodySHA256="+bodyHash, "a9nBmqA0ju/hNViExpshrM61xv4=", json, "application/json"), now)
		mustOK(t, cfg, req("https://mycompany.com/myapp.php?bodySHA256="+bodyHash, "y77kIzt2vzLz71DgmJGsen2scGs=", json, "application/json"), now)
	})
	t.Run("json body tampered", func(t *testing.T) {
		_, err := Verify(cfg, req(testURL+"&bodySHA256="+bodyHash, "a9nBmqA0ju/hNViExpshrM61xv4=", json+" ", "application/json"), now)
		wantCode(t, err, CodeBadSignature)
	})
	t.Run("json without bodySHA256", func(t *testing.T) {
		_, err := Verify(cfg, req(testURL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", json, "application/json"), now)
		wantCode(t, err, CodeBadBody)
	})
	t.Run("no public URL", func(t *testing.T) {
		_, err := Verify(cfg, req("", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form, formCT), now)
		wantCode(t, err, CodeBadSignature)
	})
	t.Run("no idempotency token", func(t *testing.T) {
		noID := Config{Provider: Twilio, Secrets: cfg.Secrets}
		_, err := Verify(noID, req(testURL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form, formCT), now)
		wantCode(t, err, CodeMissingEventID)
	})
	t.Run("type from a form field", func(t *testing.T) {
		typed := cfg
		typed.TypePointer = "/Digits"
		if res := mustOK(t, typed, req(testURL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form, formCT), now); res.EventType != "1234" {
			t.Fatalf("type %q", res.EventType)
		}
	})
}

// What joist itself sends (internal/signing) verifies as Standard Webhooks,
// with one signature per secret during a rotation.
func TestJoistSigningRoundTrip(t *testing.T) {
	h := http.Header{}
	if err := signing.Sign(h, []string{secretB, secretA}, "msg_1", now, []byte(`{"type":"a.b"}`)); err != nil {
		t.Fatal(err)
	}
	res := mustOK(t, Config{Provider: StandardWebhooks, Secrets: []Secret{{Value: secretA}}}, Request{Header: h, Body: []byte(`{"type":"a.b"}`)}, now)
	if res.EventID != "msg_1" || res.EventType != "a.b" {
		t.Fatalf("got %+v", res)
	}
}
