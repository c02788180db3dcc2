package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// stripeHeader is a parsed Stripe-Signature header.
type stripeHeader struct {
	timestamp int64
	v1        [][]byte
}

// parseStripeHeader parses "t=<unix>,v1=<hex>,v1=<hex>,v0=...". Schemes
// other than v1 are ignored, as Stripe documents; a v1 value that is not
// 32 bytes of hex is ignored too. No t or no usable v1 is malformed.
func parseStripeHeader(h string) (stripeHeader, *Error) {
	var out stripeHeader
	seenT := false
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if seenT {
				return stripeHeader{}, fail(CodeMalformedSignature, "Stripe-Signature has more than one t=")
			}
			ts, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return stripeHeader{}, fail(CodeMalformedSignature, "Stripe-Signature t= is not a unix timestamp")
			}
			out.timestamp, seenT = ts, true
		case "v1":
			if sig, err := hex.DecodeString(v); err == nil && len(sig) == sha256.Size {
				out.v1 = append(out.v1, sig)
			}
		}
	}
	if !seenT {
		return stripeHeader{}, fail(CodeMalformedSignature, "Stripe-Signature has no t=")
	}
	if len(out.v1) == 0 {
		return stripeHeader{}, fail(CodeMalformedSignature, "Stripe-Signature has no v1= signature")
	}
	return out, nil
}

func verifyStripe(keys []key, req Request, now time.Time, tol time.Duration) (Result, *Error) {
	raw := req.Header.Get("Stripe-Signature")
	if raw == "" {
		return Result{}, fail(CodeMissingSignature, "no Stripe-Signature header")
	}
	sh, err := parseStripeHeader(raw)
	if err != nil {
		return Result{}, err
	}
	prefix := strconv.FormatInt(sh.timestamp, 10) + "."
	idx := -1
	for _, k := range keys {
		// Stripe keys the HMAC with the whole "whsec_..." string as bytes.
		m := hmac.New(sha256.New, []byte(k.value))
		m.Write([]byte(prefix))
		m.Write(req.Body)
		want := m.Sum(nil)
		if anyEqual(want, sh.v1) {
			idx = k.index
			break
		}
	}
	if idx < 0 {
		return Result{}, fail(CodeBadSignature, "no v1 signature in Stripe-Signature matches a configured secret")
	}
	ts := time.Unix(sh.timestamp, 0)
	if !withinTolerance(ts, now, tol) {
		return Result{}, fail(CodeStaleTimestamp, "Stripe-Signature t=%d is more than %s from now", sh.timestamp, tol)
	}
	doc, jerr := decodeJSON(req.Body)
	if jerr != nil {
		return Result{}, jerr
	}
	res := Result{
		EventID:     pointerString(doc, "/id"),
		EventType:   pointerString(doc, "/type"),
		Timestamp:   ts,
		SecretIndex: idx,
	}
	if m, ok := doc.(map[string]any); ok {
		if lm, ok := m["livemode"].(bool); ok {
			res.Livemode = &lm
		}
	}
	return res, nil
}

// anyEqual compares want with each candidate in constant time per candidate.
func anyEqual(want []byte, candidates [][]byte) bool {
	ok := false
	for _, c := range candidates {
		if hmac.Equal(want, c) {
			ok = true
		}
	}
	return ok
}
