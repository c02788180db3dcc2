package verify

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// bodyMAC verifies sig = HMAC(key, body) with hash h for any live key and
// returns the index of the matching secret, or -1.
func bodyMAC(keys []key, h func() hash.Hash, body, sig []byte) int {
	for _, k := range keys {
		m := hmac.New(h, []byte(k.value))
		m.Write(body)
		if hmac.Equal(m.Sum(nil), sig) {
			return k.index
		}
	}
	return -1
}

func hmacHash(alg string) (func() hash.Hash, error) {
	switch strings.ToLower(alg) {
	case "", "sha256":
		return sha256.New, nil
	case "sha1":
		return sha1.New, nil
	}
	return nil, fmt.Errorf("%q is not supported (want sha256 or sha1)", alg)
}

// decodeBase64 accepts standard base64 with or without padding.
func decodeBase64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func verifyGitHub(keys []key, req Request) (Result, *Error) {
	raw := strings.TrimSpace(req.Header.Get("X-Hub-Signature-256"))
	if raw == "" {
		return Result{}, fail(CodeMissingSignature, "no X-Hub-Signature-256 header")
	}
	hexSig, ok := strings.CutPrefix(raw, "sha256=")
	if !ok {
		return Result{}, fail(CodeMalformedSignature, "X-Hub-Signature-256 does not start with sha256=")
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil || len(sig) != sha256.Size {
		return Result{}, fail(CodeMalformedSignature, "X-Hub-Signature-256 is not 64 hex digits after sha256=")
	}
	idx := bodyMAC(keys, sha256.New, req.Body, sig)
	if idx < 0 {
		return Result{}, fail(CodeBadSignature, "X-Hub-Signature-256 does not match a configured secret")
	}
	return Result{
		EventID:     strings.TrimSpace(req.Header.Get("X-GitHub-Delivery")),
		EventType:   strings.TrimSpace(req.Header.Get("X-GitHub-Event")),
		SecretIndex: idx,
	}, nil
}

func verifyShopify(keys []key, req Request) (Result, *Error) {
	raw := strings.TrimSpace(req.Header.Get("X-Shopify-Hmac-Sha256"))
	if raw == "" {
		return Result{}, fail(CodeMissingSignature, "no X-Shopify-Hmac-Sha256 header")
	}
	sig, err := decodeBase64(raw)
	if err != nil || len(sig) != sha256.Size {
		return Result{}, fail(CodeMalformedSignature, "X-Shopify-Hmac-Sha256 is not a base64 SHA-256 HMAC")
	}
	idx := bodyMAC(keys, sha256.New, req.Body, sig)
	if idx < 0 {
		return Result{}, fail(CodeBadSignature, "X-Shopify-Hmac-Sha256 does not match a configured secret")
	}
	return Result{
		EventID:     strings.TrimSpace(req.Header.Get("X-Shopify-Webhook-Id")),
		EventType:   strings.TrimSpace(req.Header.Get("X-Shopify-Topic")),
		SecretIndex: idx,
	}, nil
}

func verifyHMAC(cfg Config, keys []key, req Request) (Result, *Error) {
	raw := strings.TrimSpace(req.Header.Get(cfg.Header))
	if raw == "" {
		return Result{}, fail(CodeMissingSignature, "no %s header", cfg.Header)
	}
	if cfg.Prefix != "" {
		rest, ok := strings.CutPrefix(raw, cfg.Prefix)
		if !ok {
			return Result{}, fail(CodeMalformedSignature, "%s does not start with %q", cfg.Header, cfg.Prefix)
		}
		raw = rest
	}
	h, _ := hmacHash(cfg.Algorithm) // checked by Validate
	var (
		sig []byte
		err error
	)
	if cfg.Encoding == "base64" {
		sig, err = decodeBase64(raw)
	} else {
		sig, err = hex.DecodeString(raw)
	}
	if err != nil || len(sig) != h().Size() {
		return Result{}, fail(CodeMalformedSignature, "%s is not a %s-encoded %s HMAC", cfg.Header, orDefault(cfg.Encoding, "hex"), orDefault(cfg.Algorithm, "sha256"))
	}
	idx := bodyMAC(keys, h, req.Body, sig)
	if idx < 0 {
		return Result{}, fail(CodeBadSignature, "%s does not match a configured secret", cfg.Header)
	}
	return Result{SecretIndex: idx}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
