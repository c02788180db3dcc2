package verify

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"testing"
)

// The fuzzers feed internet-facing header and body parsers arbitrary input.
// They must never panic, and Verify must answer every request with an
// *Error (a sender fault), never a plain error or a success. Seeds live in
// testdata/fuzz/<FuzzName>.

func mustReject(t *testing.T, cfg Config, req Request) {
	t.Helper()
	_, err := Verify(cfg, req, now)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Verify accepted or failed without *Error: %v", err)
	}
}

func FuzzStripeHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		sh, err := parseStripeHeader(header)
		if err == nil {
			if len(sh.v1) == 0 {
				t.Fatal("parsed without a v1 signature")
			}
			for _, s := range sh.v1 {
				if len(s) != sha256.Size {
					t.Fatalf("v1 of %d bytes", len(s))
				}
			}
		}
		mustReject(t, Config{Provider: Stripe, Secrets: []Secret{{Value: secretA}}},
			Request{Header: http.Header{"Stripe-Signature": {header}}, Body: body})
	})
}

func FuzzStandardHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		if sigs, err := parseStandardSignatures(sig); err == nil && len(sigs) == 0 {
			t.Fatal("parsed without a signature")
		}
		for _, p := range []struct {
			provider Provider
			names    headerNames
		}{{StandardWebhooks, standardHeaders}, {Svix, svixHeaders}} {
			h := http.Header{}
			h.Set(p.names.id, id)
			h.Set(p.names.timestamp, ts)
			h.Set(p.names.signature, sig)
			mustReject(t, Config{Provider: p.provider, Secrets: []Secret{{Value: secretA}}}, Request{Header: h, Body: body})
		}
	})
}

func FuzzSlackHeaders(f *testing.F) {
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		if mac, _, err := parseSlackHeaders(sig, ts); err == nil && len(mac) != sha256.Size {
			t.Fatalf("mac of %d bytes", len(mac))
		}
		h := http.Header{}
		h.Set("X-Slack-Signature", sig)
		h.Set("X-Slack-Request-Timestamp", ts)
		mustReject(t, Config{Provider: Slack, Secrets: []Secret{{Value: "s"}}}, Request{Header: h, Body: body})
		// Past the signature check, the body parsers see the same bytes.
		_, _ = slackEvent(Request{Header: h, Body: body})
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		_, _ = slackEvent(Request{Header: h, Body: body})
	})
}

func FuzzTwilioSignature(f *testing.F) {
	f.Fuzz(func(t *testing.T, rawURL, sig, settings string, body []byte, form bool) {
		_, _, _ = parseTwilioSignature(sig, settings)
		if urls := twilioURLs(rawURL); len(urls) == 0 || urls[0] != rawURL {
			t.Fatalf("twilioURLs(%q) = %q", rawURL, urls)
		}
		_, _ = twilioParams(body)
		h := http.Header{}
		h.Set("X-Twilio-Signature", sig)
		h.Set("X-Twilio-Webhooks-Signature-Settings", settings)
		if form {
			h.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		mustReject(t, Config{Provider: Twilio, Secrets: []Secret{{Value: "12345"}}, TypePointer: "/Type"},
			Request{URL: rawURL, Header: h, Body: body})
	})
}

func FuzzMACHeaders(f *testing.F) {
	f.Fuzz(func(t *testing.T, sig string, body []byte) {
		for _, cfg := range []Config{
			{Provider: GitHub, Secrets: []Secret{{Value: "k"}}},
			{Provider: Shopify, Secrets: []Secret{{Value: "k"}}},
			{Provider: HMAC, Secrets: []Secret{{Value: "k"}}, Header: "X-Hub-Signature-256", Prefix: "sha256=", Encoding: "base64", Algorithm: "sha1"},
		} {
			h := http.Header{}
			h.Set("X-Hub-Signature-256", sig)
			h.Set("X-Shopify-Hmac-Sha256", sig)
			mustReject(t, cfg, Request{Header: h, Body: body})
		}
	})
}

func FuzzPointer(f *testing.F) {
	f.Fuzz(func(t *testing.T, pointer string, body []byte) {
		if checkPointer(pointer) != nil {
			return
		}
		if doc, err := decodeJSON(body); err == nil {
			_ = pointerString(doc, pointer)
		}
		_, _ = lookupPointer(Request{Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: body}, pointer)
	})
}
