package push

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// VAPIDKeys is an application server's P-256 key pair (RFC 8292): the
// public key browsers get as applicationServerKey, the private key that
// signs each request's JWT.
type VAPIDKeys struct {
	// Public is the uncompressed point, 65 bytes.
	Public []byte
	// Private is the scalar, 32 bytes.
	Private []byte
}

// GenerateVAPIDKeys makes a new key pair.
func GenerateVAPIDKeys() (VAPIDKeys, error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return VAPIDKeys{}, err
	}
	return VAPIDKeys{Public: k.PublicKey().Bytes(), Private: k.Bytes()}, nil
}

// VAPIDKeysFromPrivate rebuilds the pair from the 32-byte private key.
func VAPIDKeysFromPrivate(private []byte) (VAPIDKeys, error) {
	k, err := ecdh.P256().NewPrivateKey(private)
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("VAPID private key: %w", err)
	}
	return VAPIDKeys{Public: k.PublicKey().Bytes(), Private: k.Bytes()}, nil
}

// PublicKeyString is the public key as browsers take it: base64url
// without padding.
func (k VAPIDKeys) PublicKeyString() string {
	return base64.RawURLEncoding.EncodeToString(k.Public)
}

// ValidateSubject checks a VAPID subject: a mailto: address or an https:
// URL (RFC 8292 section 2.1; Apple's push service refuses anything else).
func ValidateSubject(s string) error {
	switch {
	case strings.HasPrefix(s, "mailto:"):
		a, err := mail.ParseAddress(strings.TrimPrefix(s, "mailto:"))
		if err != nil || a.Name != "" || strings.ContainsAny(s, " <>") {
			return fmt.Errorf("VAPID subject %q: mailto: must be followed by one plain address (mailto:ops@example.com)", s)
		}
		return nil
	case strings.HasPrefix(s, "https:"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil {
			return fmt.Errorf("VAPID subject %q: not an absolute https:// URL", s)
		}
		return nil
	}
	return fmt.Errorf("VAPID subject %q must be a mailto: address or an https: URL (Apple refuses anything else)", s)
}

// Subscription is a browser's PushSubscription: its endpoint and its keys
// (base64url, as PushSubscription.toJSON() gives them).
type Subscription struct {
	Endpoint string
	P256dh   string
	Auth     string
}

// SubscriptionError names the field of a subscription that is wrong.
type SubscriptionError struct {
	Field   string // endpoint, keys.p256dh or keys.auth
	Message string
}

func (e *SubscriptionError) Error() string { return e.Field + ": " + e.Message }

// decodeKey decodes base64url with or without padding (browsers send
// none; some libraries add it).
func decodeKey(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// ValidateSubscription checks a subscription hard: an absolute https://
// endpoint, p256dh an uncompressed P-256 point (65 bytes, on the curve)
// and auth 16 bytes. A failure is a *SubscriptionError.
func ValidateSubscription(s Subscription) error {
	u, err := url.Parse(s.Endpoint)
	if err != nil || !strings.HasPrefix(s.Endpoint, "https://") || u.Host == "" || u.User != nil || u.Fragment != "" || len(s.Endpoint) > 2048 {
		return &SubscriptionError{"endpoint", "must be an absolute https:// URL of at most 2048 characters"}
	}
	p, err := decodeKey(s.P256dh)
	if err != nil || len(p) != 65 || p[0] != 4 {
		return &SubscriptionError{"keys.p256dh", "must be the base64url of an uncompressed P-256 point (65 bytes)"}
	}
	if _, err := ecdh.P256().NewPublicKey(p); err != nil {
		return &SubscriptionError{"keys.p256dh", "is not a point on the P-256 curve"}
	}
	a, err := decodeKey(s.Auth)
	if err != nil || len(a) != 16 {
		return &SubscriptionError{"keys.auth", "must be the base64url of 16 bytes"}
	}
	return nil
}

// WebPayload is the JSON a service worker receives in its push event
// (event.data.json()).
type WebPayload struct {
	Title string            `json:"title"`
	Body  string            `json:"body"`
	URL   string            `json:"url,omitempty"`
	Data  map[string]string `json:"data,omitempty"`
}

// WebPush sends to web push subscriptions with one application server's
// keys.
type WebPush struct {
	// Client sends the requests; in joist, the guarded client of customer
	// destinations (the endpoints come from end users' browsers).
	Client *http.Client
	// Keys sign the VAPID JWT.
	Keys VAPIDKeys
	// Subject is the VAPID JWT's sub (ValidateSubject).
	Subject string
	// Now is the clock (nil: time.Now), for Retry-After dates.
	Now func() time.Time
}

// Send encrypts m for s and posts it to the endpoint. Answers: 201/202
// delivered; 404/410 gone (the subscription expired or was revoked);
// 429 and 5xx retry (Retry-After honoured); 400, 403, 413 and any other
// failed, with the body as the reason.
//
// The encryption and the VAPID header are webpush-go's (a well-kept
// library); its VAPID JWT lives 12 hours, inside RFC 8292's 24.
func (w *WebPush) Send(ctx context.Context, s Subscription, m Message) Outcome {
	if err := ValidateSubscription(s); err != nil {
		return Outcome{Status: Gone, Reason: err.Error()}
	}
	if err := ValidateSubject(w.Subject); err != nil {
		return Outcome{Status: Failed, Reason: err.Error()}
	}
	if !ValidUrgency(m.Urgency) {
		return Outcome{Status: Failed, Reason: fmt.Sprintf("urgency %q is not very-low, low, normal or high", m.Urgency)}
	}
	payload, err := json.Marshal(WebPayload{Title: m.Title, Body: m.Body, URL: m.URL, Data: m.Data})
	if err != nil {
		return Outcome{Status: Failed, Reason: err.Error()}
	}
	// webpush-go prefixes "mailto:" to any subject that is not https:, so
	// a mailto: subject goes without its scheme.
	sub := strings.TrimPrefix(w.Subject, "mailto:")
	urg := webpush.Urgency(m.Urgency)
	if urg == "" {
		urg = webpush.UrgencyNormal
	}
	resp, err := webpush.SendNotificationWithContext(ctx, payload, &webpush.Subscription{
		Endpoint: s.Endpoint, Keys: webpush.Keys{P256dh: s.P256dh, Auth: s.Auth},
	}, &webpush.Options{
		HTTPClient:      w.Client,
		Subscriber:      sub,
		VAPIDPublicKey:  base64.RawURLEncoding.EncodeToString(w.Keys.Public),
		VAPIDPrivateKey: base64.RawURLEncoding.EncodeToString(w.Keys.Private),
		TTL:             int(m.TTL / time.Second),
		Urgency:         urg,
	})
	if err != nil {
		if errors.Is(err, webpush.ErrMaxPadExceeded) {
			return Outcome{Status: Failed, Reason: "payload too large for web push (at most about 3,900 bytes of JSON)"}
		}
		return transportFailure(err)
	}
	body := readBody(resp)
	return classifyWebPush(resp, body, clock(w.Now)())
}

// classifyWebPush maps a push service's answer to an Outcome.
func classifyWebPush(resp *http.Response, body []byte, now time.Time) Outcome {
	o := Outcome{Code: resp.StatusCode, Reason: strings.TrimSpace(string(body))}
	if len(o.Reason) > 500 {
		o.Reason = o.Reason[:500]
	}
	switch c := resp.StatusCode; {
	case c == http.StatusCreated || c == http.StatusAccepted || c == http.StatusOK:
		o.Status, o.Reason = Delivered, ""
	case c == http.StatusNotFound || c == http.StatusGone:
		o.Status = Gone
	case c == http.StatusTooManyRequests || c >= 500:
		o.Status = Retry
		o.RetryAfter = retryAfter(resp.Header, now)
	default:
		o.Status = Failed
		if o.Reason == "" {
			o.Reason = http.StatusText(c)
		}
	}
	return o
}
