package client

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far from now a push's webhook-timestamp may be
// before VerifyPush refuses it (a replayed old request).
const DefaultTolerance = 5 * time.Minute

// DefaultMaxBody is the largest body VerifyPush reads.
const DefaultMaxBody = 16 << 20

// Errors of a push that does not verify; the error returned wraps one.
var (
	// ErrNoSignature: webhook-id, webhook-timestamp or webhook-signature is missing.
	ErrNoSignature = errors.New("joist: request is not signed (webhook-id, webhook-timestamp or webhook-signature missing)")
	// ErrTimestamp: webhook-timestamp is not a number or too far from now.
	ErrTimestamp = errors.New("joist: webhook-timestamp is too far from now")
	// ErrSignature: no signature matches any of the secrets.
	ErrSignature = errors.New("joist: no webhook-signature matches the secret")
)

// Verifier checks the signatures joist puts on what it pushes to an app
// (HTTP-push jobs, forwarded webhooks): the Standard Webhooks scheme, one
// "v1,<base64 HMAC-SHA256>" signature per live secret of the tenant, over
// webhook-id + "." + webhook-timestamp + "." + body.
type Verifier struct {
	// Secrets are the whsec_... secrets to accept (GET /v1/signing-secret).
	// During a rotation give both the old and the new one: a request passes
	// when any of its signatures matches any secret.
	Secrets []string
	// Tolerance bounds the age (and future skew) of webhook-timestamp;
	// zero means DefaultTolerance.
	Tolerance time.Duration
	// MaxBody bounds the body VerifyRequest reads; zero means DefaultMaxBody.
	MaxBody int64
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// VerifyPush checks that r was pushed by joist and signed with one of
// secrets (several during a rotation), with the default tolerance. It
// returns the body, which it has read: r.Body is replaced by a copy so the
// handler can read it again.
//
//	body, err := client.VerifyPush(r, os.Getenv("JOIST_SIGNING_SECRET"))
//	if err != nil {
//		http.Error(w, err.Error(), http.StatusUnauthorized)
//		return
//	}
func VerifyPush(r *http.Request, secrets ...string) ([]byte, error) {
	return Verifier{Secrets: secrets}.VerifyRequest(r)
}

// VerifyRequest reads r's body (at most MaxBody), checks it with Verify and
// returns it; r.Body is replaced by a copy.
func (v Verifier) VerifyRequest(r *http.Request) ([]byte, error) {
	limit := v.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		_ = r.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("joist: read the pushed body: %w", err)
		}
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("joist: pushed body is larger than %d bytes", limit)
		}
		body = b
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := v.Verify(r.Header, body); err != nil {
		return nil, err
	}
	return body, nil
}

// Verify checks the webhook-* headers h against body.
func (v Verifier) Verify(h http.Header, body []byte) error {
	id, tsText, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || tsText == "" || sigs == "" {
		return ErrNoSignature
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not a Unix time", ErrTimestamp, tsText)
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	tol := v.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tol || d < -tol {
		return fmt.Errorf("%w: %s off, more than %s", ErrTimestamp, d.Round(time.Second), tol)
	}
	if len(v.Secrets) == 0 {
		return errors.New("joist: no secret to verify with")
	}
	for _, secret := range v.Secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil || len(key) == 0 {
			return errors.New("joist: a signing secret is not whsec_ followed by base64")
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + tsText + "."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, sig := range strings.Fields(sigs) {
			version, b64, ok := strings.Cut(sig, ",")
			if !ok || version != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(b64)
			if err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrSignature
}
