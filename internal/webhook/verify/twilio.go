package verify

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"net"
	"net/url"
	"sort"
	"strings"
)

// parseTwilioSignature decodes X-Twilio-Signature. By default Twilio signs
// with HMAC-SHA1; a Webhooks Rule can switch a URL to HMAC-SHA256, announced
// in X-Twilio-Webhooks-Signature-Settings ("key=...,algorithm=HMAC_SHA256").
func parseTwilioSignature(sig, settings string) ([]byte, func() hash.Hash, *Error) {
	sig = strings.TrimSpace(sig)
	if sig == "" {
		return nil, nil, fail(CodeMissingSignature, "no X-Twilio-Signature header")
	}
	h, size := sha1.New, sha1.Size
	for _, part := range strings.Split(settings, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.EqualFold(k, "algorithm") {
			switch strings.ToUpper(v) {
			case "HMAC_SHA1":
			case "HMAC_SHA256":
				h, size = sha256.New, sha256.Size
			default:
				return nil, nil, fail(CodeMalformedSignature, "X-Twilio-Webhooks-Signature-Settings names an unsupported algorithm")
			}
		}
	}
	mac, err := decodeBase64(sig)
	if err != nil || len(mac) != size {
		return nil, nil, fail(CodeMalformedSignature, "X-Twilio-Signature is not a base64 HMAC")
	}
	return mac, h, nil
}

// twilioURLs returns the URL as given plus the variants Twilio's own SDKs
// also accept, since Twilio signs some requests with the default port
// spelled out and some without: the URL with its port removed, and with the
// scheme's default port added.
func twilioURLs(raw string) []string {
	out := []string{raw}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return out
	}
	// The host follows "//" (and any userinfo "@"); find it there, not in
	// the scheme.
	start := strings.Index(raw, "//")
	if start < 0 {
		return out
	}
	if u.User != nil {
		if i := strings.Index(raw[start:], "@"); i >= 0 {
			start += i
		}
	}
	at := strings.Index(raw[start:], u.Host)
	if at < 0 {
		return out
	}
	at += start
	swap := func(host string) string { return raw[:at] + host + raw[at+len(u.Host):] }
	if u.Port() != "" {
		out = append(out, swap(strings.TrimSuffix(u.Host, ":"+u.Port())))
	} else if port := map[string]string{"https": "443", "http": "80"}[strings.ToLower(u.Scheme)]; port != "" {
		out = append(out, swap(net.JoinHostPort(u.Hostname(), port)))
	}
	return out
}

// twilioParams is what follows the URL in the signed string for a form
// body: every parameter sorted by name (Unicode code point order), each name
// followed by its value, repeated names' values in sorted order.
func twilioParams(body []byte) (string, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		vs := append([]string(nil), vals[n]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(n)
			b.WriteString(v)
		}
	}
	return b.String(), nil
}

func verifyTwilio(keys []key, req Request) (Result, *Error) {
	mac, h, err := parseTwilioSignature(req.Header.Get("X-Twilio-Signature"), req.Header.Get("X-Twilio-Webhooks-Signature-Settings"))
	if err != nil {
		return Result{}, err
	}
	if req.URL == "" {
		return Result{}, fail(CodeBadSignature, "no public URL to verify the Twilio signature against (JOIST_PUBLIC_URL)")
	}
	u, perr := url.Parse(req.URL)
	if perr != nil {
		return Result{}, fail(CodeBadSignature, "the public URL does not parse: %v", perr)
	}
	var suffix string
	bodyHash := u.Query().Get("bodySHA256")
	switch {
	case bodyHash != "":
		// JSON (or any non-form) body: the URL alone is signed, and it
		// carries the body's hash, which must match the body.
		sum := sha256.Sum256(req.Body)
		got := hex.EncodeToString(sum[:])
		if subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(bodyHash))) != 1 {
			return Result{}, fail(CodeBadSignature, "bodySHA256 in the URL does not match the body")
		}
	case isForm(req.Header):
		p, err := twilioParams(req.Body)
		if err != nil {
			return Result{}, fail(CodeBadBody, "form body does not parse: %v", err)
		}
		suffix = p
	case len(req.Body) > 0:
		return Result{}, fail(CodeBadBody, "a non-form Twilio body needs bodySHA256 in the URL, else it is not covered by the signature")
	}
	idx := -1
	for _, k := range keys {
		for _, candidate := range twilioURLs(req.URL) {
			m := hmac.New(h, []byte(k.value))
			m.Write([]byte(candidate))
			m.Write([]byte(suffix))
			if hmac.Equal(m.Sum(nil), mac) && idx < 0 {
				idx = k.index
			}
		}
		if idx >= 0 {
			break
		}
	}
	if idx < 0 {
		return Result{}, fail(CodeBadSignature, "X-Twilio-Signature does not match a configured secret for this URL")
	}
	return Result{
		EventID:     strings.TrimSpace(req.Header.Get("I-Twilio-Idempotency-Token")),
		SecretIndex: idx,
	}, nil
}
