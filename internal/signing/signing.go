// Package signing signs outgoing requests the Standard Webhooks way
// (https://www.standardwebhooks.com): headers webhook-id, webhook-timestamp
// and webhook-signature, where each signature is "v1," + base64 of
// HMAC-SHA256(secret, id + "." + timestamp + "." + body). Everything joist
// sends (HTTP-push jobs, forwarded webhooks) is signed this way, with every
// live secret of the tenant during a rotation.
package signing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every secret.
const SecretPrefix = "whsec_"

// NewSecret returns a fresh secret: "whsec_" + base64 of 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ErrBadSecret is returned for a secret that is not whsec_ + base64.
var ErrBadSecret = errors.New("signing secret must be whsec_ followed by base64")

func key(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(k) == 0 {
		return nil, ErrBadSecret
	}
	return k, nil
}

// Signature returns "v1,<base64 hmac>" for one secret.
func Signature(secret, id string, ts time.Time, body []byte) (string, error) {
	k, err := key(secret)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// Sign sets webhook-id, webhook-timestamp and webhook-signature (one
// space-separated signature per secret) on h.
func Sign(h http.Header, secrets []string, id string, ts time.Time, body []byte) error {
	var sigs []string
	for _, s := range secrets {
		sig, err := Signature(s, id, ts, body)
		if err != nil {
			return err
		}
		sigs = append(sigs, sig)
	}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", strings.Join(sigs, " "))
	return nil
}

// Verify checks a signed request the way a receiver does: any signature
// matching the secret, timestamp within tolerance. Used by tests and later
// by inbound Standard Webhooks sources.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is missing or not a number")
	}
	t := time.Unix(ts, 0)
	if now.Sub(t) > tolerance || t.Sub(now) > tolerance {
		return errors.New("webhook-timestamp is outside the tolerance")
	}
	want, err := Signature(secret, h.Get("webhook-id"), t, body)
	if err != nil {
		return err
	}
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("no webhook-signature matches the secret")
}
