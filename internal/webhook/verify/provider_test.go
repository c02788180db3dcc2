package verify

import (
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

func stripeSig(secret string, ts time.Time, body string) string {
	return hex.EncodeToString(webhook.ComputeSignature(ts, []byte(body), secret))
}

func TestStripe(t *testing.T) {
	cfg := Config{Provider: Stripe, Secrets: []Secret{{Value: secretA}}}
	body := `{"id":"evt_9","type":"invoice.paid","livemode":true}`
	ts := strconv.FormatInt(now.Unix(), 10)
	req := func(header, body string) Request {
		return Request{Header: http.Header{"Stripe-Signature": {header}}, Body: []byte(body)}
	}
	t.Run("several v1, v0 and unknown schemes ignored", func(t *testing.T) {
		h := "t=" + ts + ",v0=" + stripeSig(secretA, now, body) + ",v1=" + stripeSig(secretB, now, body) + ",v9=zz,v1=" + stripeSig(secretA, now, body)
		res := mustOK(t, cfg, req(h, body), now)
		if res.EventID != "evt_9" || res.EventType != "invoice.paid" || res.Livemode == nil || !*res.Livemode {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("v0 alone is not accepted", func(t *testing.T) {
		_, err := Verify(cfg, req("t="+ts+",v0="+stripeSig(secretA, now, body), body), now)
		wantCode(t, err, CodeMalformedSignature)
	})
	t.Run("livemode false", func(t *testing.T) {
		b := strings.Replace(body, "true", "false", 1)
		if res := mustOK(t, cfg, req("t="+ts+",v1="+stripeSig(secretA, now, b), b), now); res.Livemode == nil || *res.Livemode {
			t.Fatalf("got %+v", res.Livemode)
		}
	})
	t.Run("the timestamp is signed", func(t *testing.T) {
		other := strconv.FormatInt(now.Unix()+1, 10)
		_, err := Verify(cfg, req("t="+other+",v1="+stripeSig(secretA, now, body), body), now)
		wantCode(t, err, CodeBadSignature)
	})
	for name, h := range map[string]string{
		"no t":         "v1=" + stripeSig(secretA, now, body),
		"t not a time": "t=abc,v1=" + stripeSig(secretA, now, body),
		"two t":        "t=" + ts + ",t=" + ts + ",v1=" + stripeSig(secretA, now, body),
		"v1 not hex":   "t=" + ts + ",v1=xyz",
		"v1 short":     "t=" + ts + ",v1=abcd",
		"empty parts":  ",,,",
	} {
		t.Run("malformed: "+name, func(t *testing.T) {
			_, err := Verify(cfg, req(h, body), now)
			wantCode(t, err, CodeMalformedSignature)
		})
	}
	t.Run("signed body that is not JSON", func(t *testing.T) {
		_, err := Verify(cfg, req("t="+ts+",v1="+stripeSig(secretA, now, "nope"), "nope"), now)
		wantCode(t, err, CodeBadBody)
	})
	t.Run("no id", func(t *testing.T) {
		b := `{"type":"x"}`
		_, err := Verify(cfg, req("t="+ts+",v1="+stripeSig(secretA, now, b), b), now)
		wantCode(t, err, CodeMissingEventID)
	})
	t.Run("stripe-go agrees", func(t *testing.T) {
		p := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secretA})
		if err := webhook.ValidatePayload([]byte(body), p.Header, secretA); err != nil {
			t.Fatal(err)
		}
		mustOK(t, cfg, req(p.Header, body), p.Timestamp)
	})
}

func TestStandardWebhooksEd25519(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pk := "whpk_" + base64.StdEncoding.EncodeToString(pub)
	body := []byte(`{"type":"user.created"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := ed25519.Sign(priv, []byte("msg_1."+ts+"."+string(body)))
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1a,"+base64.StdEncoding.EncodeToString(sig))
	cfg := Config{Provider: StandardWebhooks, Secrets: []Secret{{Value: secretA}, {Value: pk}}}
	res := mustOK(t, cfg, Request{Header: h, Body: body}, now)
	if res.SecretIndex != 1 || res.EventType != "user.created" {
		t.Fatalf("got %+v", res)
	}
	_, err = Verify(cfg, Request{Header: h, Body: append(body, ' ')}, now)
	wantCode(t, err, CodeBadSignature)
	// A v1a signature is never checked against an HMAC secret, nor v1 against a public key.
	_, err = Verify(Config{Provider: StandardWebhooks, Secrets: []Secret{{Value: secretA}}}, Request{Header: h, Body: body}, now)
	wantCode(t, err, CodeBadSignature)
	h.Set("webhook-id", "")
	_, err = Verify(cfg, Request{Header: h, Body: body}, now)
	wantCode(t, err, CodeMissingEventID)
}

func TestSlackBodies(t *testing.T) {
	cfg := Config{Provider: Slack, Secrets: []Secret{{Value: "s"}}}
	send := func(body, ct string) (Result, error) {
		ts := strconv.FormatInt(now.Unix(), 10)
		h := http.Header{}
		h.Set("Content-Type", ct)
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", "v0="+macHex(sha256.New, "s", "v0:"+ts+":"+body))
		return Verify(cfg, Request{Header: h, Body: []byte(body)}, now)
	}
	res, err := send(`{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`, "application/json")
	if err != nil || string(res.Challenge) != `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}` || res.ChallengeContentType != "application/json" || res.EventID != "" {
		t.Fatalf("challenge: %+v %v", res, err)
	}
	res, err = send(`{"type":"event_callback","event_id":"Ev01","event":{"type":"app_mention"}}`, "application/json")
	if err != nil || res.EventID != "Ev01" || res.EventType != "app_mention" || res.Challenge != nil {
		t.Fatalf("event: %+v %v", res, err)
	}
	res, err = send("payload="+url.QueryEscape(`{"type":"block_actions","trigger_id":"13345224609.738474920.8088930838d88f008e0"}`), "application/x-www-form-urlencoded")
	if err != nil || res.EventID != "13345224609.738474920.8088930838d88f008e0" || res.EventType != "block_actions" {
		t.Fatalf("interactivity: %+v %v", res, err)
	}
	_, err = send(`{"type":"event_callback"}`, "application/json")
	wantCode(t, err, CodeMissingEventID)
	_, err = send(`not json`, "application/json")
	wantCode(t, err, CodeBadBody)
	h := http.Header{}
	h.Set("X-Slack-Signature", "v0="+strings.Repeat("0", 64))
	_, err = Verify(cfg, Request{Header: h}, now)
	wantCode(t, err, CodeMissingSignature)
	h.Set("X-Slack-Request-Timestamp", "soon")
	_, err = Verify(cfg, Request{Header: h}, now)
	wantCode(t, err, CodeMalformedSignature)
}

func TestGenericHMAC(t *testing.T) {
	body := []byte(`{"data":{"id":42,"kind":"order"}}`)
	base := Config{Provider: HMAC, Secrets: []Secret{{Value: "k"}}, Header: "X-Sig"}
	t.Run("sha1 base64 with id header", func(t *testing.T) {
		cfg := base
		cfg.Algorithm, cfg.Encoding, cfg.IDHeader, cfg.TypePointer = "sha1", "base64", "X-Id", "/data/kind"
		h := http.Header{"X-Sig": {macB64(sha1.New, "k", string(body))}, "X-Id": {"d-1"}}
		res := mustOK(t, cfg, Request{Header: h, Body: body}, now)
		if res.EventID != "d-1" || res.EventType != "order" {
			t.Fatalf("got %+v", res)
		}
		h.Set("X-Sig", macB64(sha256.New, "k", string(body)))
		_, err := Verify(cfg, Request{Header: h, Body: body}, now)
		wantCode(t, err, CodeMalformedSignature)
		h.Set("X-Sig", macB64(sha1.New, "k", string(body)))
		h.Del("X-Id")
		_, err = Verify(cfg, Request{Header: h, Body: body}, now)
		wantCode(t, err, CodeMissingEventID)
	})
	t.Run("pointer id, number", func(t *testing.T) {
		cfg := base
		cfg.IDPointer = "/data/id"
		h := http.Header{"X-Sig": {macHex(sha256.New, "k", string(body))}}
		if res := mustOK(t, cfg, Request{Header: h, Body: body}, now); res.EventID != "42" {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("body hash fallback", func(t *testing.T) {
		h := http.Header{"X-Sig": {strings.ToUpper(macHex(sha256.New, "k", string(body)))}}
		res := mustOK(t, base, Request{Header: h, Body: body}, now)
		sum := sha256.Sum256(body)
		if res.EventID != "sha256:"+hex.EncodeToString(sum[:]) {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("pointer into a body that is not JSON", func(t *testing.T) {
		cfg := base
		cfg.IDPointer = "/id"
		h := http.Header{"X-Sig": {macHex(sha256.New, "k", "<xml/>")}}
		_, err := Verify(cfg, Request{Header: h, Body: []byte("<xml/>")}, now)
		wantCode(t, err, CodeBadBody)
	})
}

func TestValidate(t *testing.T) {
	ok := []Secret{{Value: secretA}}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Provider: "paypal", Secrets: ok}, "provider"},
		{Config{Provider: Stripe}, "secrets"},
		{Config{Provider: Stripe, Secrets: []Secret{{Value: ""}}}, "secrets[0]"},
		{Config{Provider: Svix, Secrets: []Secret{{Value: "whsec_!!"}}}, "secrets[0]"},
		{Config{Provider: StandardWebhooks, Secrets: []Secret{{Value: "whsk_abc"}}}, "whpk_"},
		{Config{Provider: StandardWebhooks, Secrets: []Secret{{Value: "whpk_YWJj"}}}, "32-byte"},
		{Config{Provider: Stripe, Secrets: ok, Tolerance: -1}, "tolerance"},
		{Config{Provider: HMAC, Secrets: ok}, "header"},
		{Config{Provider: HMAC, Secrets: ok, Header: "X", Algorithm: "md5"}, "algorithm"},
		{Config{Provider: HMAC, Secrets: ok, Header: "X", Encoding: "base32"}, "encoding"},
		{Config{Provider: HMAC, Secrets: ok, Header: "X", IDPointer: "id"}, "id_pointer"},
		{Config{Provider: GitHub, Secrets: ok, TypePointer: "/a~2"}, "type_pointer"},
	} {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want mention of %q", c.cfg, err, c.want)
		}
		if _, verr := Verify(c.cfg, Request{}, now); verr == nil || verr.Error() == err.Error() {
			t.Errorf("Verify should wrap the config error, got %v", verr)
		}
	}
	for _, p := range Providers {
		c := Config{Provider: p, Secrets: ok, Header: "X-Sig", IDPointer: "/a~0b~1c/0"}
		if p == Postmark {
			c.Secrets = []Secret{{Value: "user:password"}}
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestPointer(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"a/b":{"m~n":[10,{"x":true}]},"":"empty","n":null,"o":{"k":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"/a~1b/m~0n/0":   "10",
		"/a~1b/m~0n/1/x": "true",
		"/a~1b/m~0n/2":   "",
		"/a~1b/m~0n/01":  "",
		"/":              "empty",
		"/n":             "",
		"/o":             `{"k":1}`,
		"/missing/deep":  "",
	} {
		if got := pointerString(doc, p); got != want {
			t.Errorf("%s: got %q, want %q", p, got, want)
		}
	}
	if _, err := decodeJSON([]byte(`{} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
}
