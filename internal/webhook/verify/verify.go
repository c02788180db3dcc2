package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Provider names a verification scheme.
type Provider string

// The supported providers.
const (
	Stripe           Provider = "stripe"
	GitHub           Provider = "github"
	Shopify          Provider = "shopify"
	Slack            Provider = "slack"
	Twilio           Provider = "twilio"
	StandardWebhooks Provider = "standard_webhooks"
	Svix             Provider = "svix"
	HMAC             Provider = "hmac"
	// Resend signs its webhooks with Svix: verified as Svix; its own name
	// so that the email system's built-in handler is on for it.
	Resend Provider = "resend"
	// Postmark does not sign: the webhook URL carries HTTP Basic
	// credentials, compared with the source's secrets ("user:password").
	Postmark Provider = "postmark"
)

// Providers lists every supported provider, in documentation order.
var Providers = []Provider{Stripe, GitHub, Shopify, Slack, Twilio, StandardWebhooks, Svix, Resend, Postmark, HMAC}

// DefaultTolerance is how far a signed timestamp may be from now, in either
// direction, when Config.Tolerance is zero.
const DefaultTolerance = 300 * time.Second

// Secret is one signing secret of a source. During a rotation a source has
// several; a secret whose ExpiresAt has passed is skipped.
type Secret struct {
	Value     string
	ExpiresAt *time.Time
}

// Config describes how one source's requests are verified.
type Config struct {
	Provider  Provider
	Secrets   []Secret
	Tolerance time.Duration // 0 means DefaultTolerance; checked in both directions (past and future)

	// Generic HMAC only.
	Header    string // header carrying the signature, e.g. "X-Signature"
	Algorithm string // "sha256" (default) or "sha1"
	Encoding  string // "hex" (default) or "base64"
	Prefix    string // stripped from the header value before decoding, e.g. "sha256="

	// Where the event id and type are, for providers without a fixed place
	// (generic HMAC); for other providers, when set, they override the default.
	IDHeader    string // header holding the event id
	IDPointer   string // RFC 6901 JSON pointer into the body, e.g. "/id"
	TypePointer string // JSON pointer for the event type, e.g. "/type"
}

// Request is an inbound request as received.
type Request struct {
	Method string
	URL    string // the full public URL the provider called (JOIST_PUBLIC_URL + path + query); Twilio signs it
	Header http.Header
	Body   []byte // raw bytes as received; verified before any parsing
}

// Result is what a verified request tells about its event.
type Result struct {
	EventID              string    // the provider's event id, the dedup key
	EventType            string    // the provider's event type, if it has one
	Timestamp            time.Time // when the provider signed the request, if the scheme has a timestamp
	Livemode             *bool     // Stripe's "livemode"
	Challenge            []byte    // Slack url_verification: the exact response body to send back with 200
	ChallengeContentType string    // Content-Type for Challenge
	SecretIndex          int       // index in Config.Secrets of the secret that matched
}

// Error codes, stable for metrics and the rejected-requests log.
const (
	CodeMissingSignature   = "missing_signature"
	CodeBadSignature       = "bad_signature"
	CodeStaleTimestamp     = "stale_timestamp"
	CodeMalformedSignature = "malformed_signature"
	CodeMissingEventID     = "missing_event_id"
	CodeBadBody            = "bad_body"
)

// Error is a rejected request: Code is one of the Code* constants, Message
// says why for an operator (it never contains a secret).
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Malformed reports whether the request is malformed (a signature that
// cannot be parsed, no event id, a body that is not what the provider
// sends) rather than not authentic.
func (e *Error) Malformed() bool {
	return e.Code == CodeMalformedSignature || e.Code == CodeMissingEventID || e.Code == CodeBadBody
}

func fail(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate() error {
	known := false
	for _, p := range Providers {
		known = known || p == c.Provider
	}
	if !known {
		return fmt.Errorf("provider: unknown provider %q (want one of %v)", c.Provider, Providers)
	}
	if len(c.Secrets) == 0 {
		return errors.New("secrets: at least one secret is required")
	}
	for i, s := range c.Secrets {
		if s.Value == "" {
			return fmt.Errorf("secrets[%d]: empty secret", i)
		}
		if c.Provider == Postmark && !strings.Contains(s.Value, ":") {
			return fmt.Errorf("secrets[%d]: a postmark secret is the Basic credentials of the webhook URL, \"user:password\"", i)
		}
		if c.Provider == StandardWebhooks || c.Provider == Svix || c.Provider == Resend {
			if _, err := parseStandardSecret(s.Value); err != nil {
				return fmt.Errorf("secrets[%d]: %v", i, err)
			}
		}
	}
	if c.Tolerance < 0 {
		return errors.New("tolerance: must not be negative")
	}
	if c.Provider == HMAC {
		if strings.TrimSpace(c.Header) == "" {
			return errors.New("header: the generic HMAC provider needs the name of the signature header")
		}
		if _, err := hmacHash(c.Algorithm); err != nil {
			return fmt.Errorf("algorithm: %v", err)
		}
		if c.Encoding != "" && c.Encoding != "hex" && c.Encoding != "base64" {
			return fmt.Errorf("encoding: %q is not supported (want hex or base64)", c.Encoding)
		}
	}
	for _, p := range []struct{ field, ptr string }{{"id_pointer", c.IDPointer}, {"type_pointer", c.TypePointer}} {
		if err := checkPointer(p.ptr); err != nil {
			return fmt.Errorf("%s: %v", p.field, err)
		}
	}
	return nil
}

// Verify checks req against cfg at time now and returns what it tells about
// the event. The signature is checked on the raw body before anything parses
// it, with every unexpired secret, compared in constant time. A request
// problem is an *Error; an invalid cfg is a plain error (a configuration
// fault, not the sender's).
//
// For the generic HMAC provider with neither IDHeader nor IDPointer set, the
// event id is "sha256:" + the hex SHA-256 of the body, so an identical
// redelivery is deduplicated while distinct payloads never collide.
func Verify(cfg Config, req Request, now time.Time) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, fmt.Errorf("webhook verify config: %w", err)
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	keys := liveSecrets(cfg.Secrets, now)
	if len(keys) == 0 {
		return Result{}, fail(CodeBadSignature, "every configured secret has expired")
	}
	tol := cfg.Tolerance
	if tol == 0 {
		tol = DefaultTolerance
	}
	var (
		res Result
		err *Error
	)
	switch cfg.Provider {
	case Stripe:
		res, err = verifyStripe(keys, req, now, tol)
	case GitHub:
		res, err = verifyGitHub(keys, req)
	case Shopify:
		res, err = verifyShopify(keys, req)
	case Slack:
		res, err = verifySlack(keys, req, now, tol)
	case Twilio:
		res, err = verifyTwilio(keys, req)
	case StandardWebhooks:
		res, err = verifyStandard(keys, req, now, tol, standardHeaders)
	case Svix, Resend:
		res, err = verifyStandard(keys, req, now, tol, svixHeaders)
	case Postmark:
		res, err = verifyPostmark(keys, req)
	case HMAC:
		res, err = verifyHMAC(cfg, keys, req)
	}
	if err != nil {
		return Result{}, err
	}
	if err := applyOverrides(cfg, req, &res); err != nil {
		return Result{}, err
	}
	if res.EventID == "" && res.Challenge == nil {
		return Result{}, fail(CodeMissingEventID, "no event id found for provider %s", cfg.Provider)
	}
	return res, nil
}

// key is one usable secret and its index in Config.Secrets.
type key struct {
	index int
	value string
}

func liveSecrets(secrets []Secret, now time.Time) []key {
	var out []key
	for i, s := range secrets {
		if s.ExpiresAt != nil && !now.Before(*s.ExpiresAt) {
			continue
		}
		out = append(out, key{i, s.Value})
	}
	return out
}

// withinTolerance reports whether ts is at most tol before or after now.
func withinTolerance(ts, now time.Time, tol time.Duration) bool {
	d := now.Sub(ts)
	return d <= tol && d >= -tol
}

// applyOverrides sets the event id and type from IDHeader, IDPointer and
// TypePointer when configured, and the body-hash fallback for generic HMAC.
func applyOverrides(cfg Config, req Request, res *Result) *Error {
	if cfg.IDHeader != "" {
		res.EventID = strings.TrimSpace(req.Header.Get(cfg.IDHeader))
	} else if cfg.IDPointer != "" {
		v, err := lookupPointer(req, cfg.IDPointer)
		if err != nil {
			return err
		}
		res.EventID = v
	} else if cfg.Provider == HMAC {
		sum := sha256.Sum256(req.Body)
		res.EventID = "sha256:" + hex.EncodeToString(sum[:])
	}
	if cfg.TypePointer != "" {
		v, err := lookupPointer(req, cfg.TypePointer)
		if err != nil {
			return err
		}
		res.EventType = v
	}
	return nil
}
