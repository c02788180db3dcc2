package verify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

type headerNames struct{ id, timestamp, signature string }

var (
	standardHeaders = headerNames{"webhook-id", "webhook-timestamp", "webhook-signature"}
	svixHeaders     = headerNames{"svix-id", "svix-timestamp", "svix-signature"}
)

// standardSecret is a parsed Standard Webhooks secret: an HMAC key
// ("whsec_<base64>", or bare base64 as Svix also accepts) or an ed25519
// public key ("whpk_<base64>").
type standardSecret struct {
	hmacKey []byte
	public  ed25519.PublicKey
}

func parseStandardSecret(s string) (standardSecret, error) {
	switch {
	case strings.HasPrefix(s, "whpk_"):
		k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whpk_"))
		if err != nil || len(k) != ed25519.PublicKeySize {
			return standardSecret{}, errors.New("a whpk_ secret must be whpk_ + base64 of a 32-byte ed25519 public key")
		}
		return standardSecret{public: k}, nil
	case strings.HasPrefix(s, "whsk_"):
		return standardSecret{}, errors.New("whsk_ is the sender's private signing key; configure the whpk_ public key instead")
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if err != nil || len(k) == 0 {
		return standardSecret{}, errors.New("secret must be whsec_ followed by base64 (or whpk_ + base64 for ed25519)")
	}
	return standardSecret{hmacKey: k}, nil
}

// standardSig is one entry of webhook-signature: "v1,<base64 hmac>" or
// "v1a,<base64 ed25519 signature>".
type standardSig struct {
	version string
	sig     []byte
}

// parseStandardSignatures parses the space-separated signature list.
// Entries of unknown versions or with undecodable base64 are skipped, as
// the spec lets senders add future schemes; no usable entry is malformed.
func parseStandardSignatures(h string) ([]standardSig, *Error) {
	var out []standardSig
	for _, part := range strings.Fields(h) {
		v, b64, ok := strings.Cut(part, ",")
		if !ok || (v != "v1" && v != "v1a") {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		if (v == "v1" && len(sig) != sha256.Size) || (v == "v1a" && len(sig) != ed25519.SignatureSize) {
			continue
		}
		out = append(out, standardSig{v, sig})
	}
	if len(out) == 0 {
		return nil, fail(CodeMalformedSignature, "signature header has no v1 or v1a signature")
	}
	return out, nil
}

func verifyStandard(keys []key, req Request, now time.Time, tol time.Duration, names headerNames) (Result, *Error) {
	id := strings.TrimSpace(req.Header.Get(names.id))
	tsRaw := strings.TrimSpace(req.Header.Get(names.timestamp))
	sigRaw := strings.TrimSpace(req.Header.Get(names.signature))
	if sigRaw == "" {
		return Result{}, fail(CodeMissingSignature, "no %s header", names.signature)
	}
	if tsRaw == "" {
		return Result{}, fail(CodeMissingSignature, "no %s header", names.timestamp)
	}
	if id == "" {
		return Result{}, fail(CodeMissingEventID, "no %s header", names.id)
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return Result{}, fail(CodeMalformedSignature, "%s is not a unix timestamp", names.timestamp)
	}
	sigs, perr := parseStandardSignatures(sigRaw)
	if perr != nil {
		return Result{}, perr
	}
	content := make([]byte, 0, len(id)+len(tsRaw)+2+len(req.Body))
	content = append(append(append(append(content, id...), '.'), tsRaw...), '.')
	content = append(content, req.Body...)
	idx := -1
	for _, k := range keys {
		sec, err := parseStandardSecret(k.value)
		if err != nil {
			continue // Validate rejects these; skipped defensively
		}
		if matchStandard(sec, sigs, content) {
			idx = k.index
			break
		}
	}
	if idx < 0 {
		return Result{}, fail(CodeBadSignature, "no signature in %s matches a configured secret", names.signature)
	}
	signed := time.Unix(ts, 0)
	if !withinTolerance(signed, now, tol) {
		return Result{}, fail(CodeStaleTimestamp, "%s %d is more than %s from now", names.timestamp, ts, tol)
	}
	res := Result{EventID: id, Timestamp: signed, SecretIndex: idx}
	if b := bytes.TrimSpace(req.Body); len(b) > 0 && b[0] == '{' {
		if doc, err := decodeJSON(b); err == nil {
			res.EventType = pointerString(doc, "/type")
		}
	}
	return res, nil
}

func matchStandard(sec standardSecret, sigs []standardSig, content []byte) bool {
	var mac []byte
	if sec.hmacKey != nil {
		m := hmac.New(sha256.New, sec.hmacKey)
		m.Write(content)
		mac = m.Sum(nil)
	}
	ok := false
	for _, s := range sigs {
		switch {
		case s.version == "v1" && mac != nil:
			ok = hmac.Equal(mac, s.sig) || ok
		case s.version == "v1a" && sec.public != nil:
			ok = ed25519.Verify(sec.public, content, s.sig) || ok
		}
	}
	return ok
}
