package push

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/net/http2"
)

// APNsAPIBase is Apple's production push service.
const APNsAPIBase = "https://api.push.apple.com"

// apnsTokenLife is how long a provider token is reused: Apple accepts one
// for an hour and refuses fresh ones more often than every 20 minutes.
const apnsTokenLife = 50 * time.Minute

// APNsConfig configures an APNs sender.
type APNsConfig struct {
	// Key is the .p8 signing key (PEM, PKCS #8 P-256) from Apple.
	Key []byte
	// KeyID is the key's 10-character id (the JWT's kid).
	KeyID string
	// TeamID is the developer team's id (the JWT's iss).
	TeamID string
	// Topic is the app's bundle id (apns-topic).
	Topic string
	// APIBase is APNs' base URL (default APNsAPIBase; the sandbox is
	// https://api.sandbox.push.apple.com).
	APIBase string
	// Dial makes every TCP connection (in joist: the guarded dialer of
	// operator destinations; nil: a plain net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// RootCAs, when set, replaces the system's roots (test servers).
	RootCAs *x509.CertPool
	// Now is the clock (nil: time.Now): the provider token's iat and reuse.
	Now func() time.Time
}

// APNs sends to Apple device tokens with token-based (JWT) auth over
// HTTP/2.
//
// Hand-written rather than github.com/sideshow/apns2: apns2 builds its
// own HTTP/2 transport and dials TLS itself (no way to pass the guarded
// dialer without replacing its whole client), and its token refresh reads
// the wall clock; what remains is one POST per message.
type APNs struct {
	cfg    APNsConfig
	key    *ecdsa.PrivateKey
	base   string
	client *http.Client
	now    func() time.Time

	mu        sync.Mutex
	token     string
	issuedAt  time.Time
	generated int
}

// NewAPNs checks cfg and returns a sender with its own HTTP/2 transport.
func NewAPNs(cfg APNsConfig) (*APNs, error) {
	var errs []error
	if len(cfg.KeyID) != 10 {
		errs = append(errs, errors.New("APNs key id must be 10 characters"))
	}
	if len(cfg.TeamID) != 10 {
		errs = append(errs, errors.New("APNs team id must be 10 characters"))
	}
	if cfg.Topic == "" {
		errs = append(errs, errors.New("APNs topic (the app's bundle id) is required"))
	}
	key, err := jwt.ParseECPrivateKeyFromPEM(cfg.Key)
	if err != nil {
		errs = append(errs, fmt.Errorf("APNs key: not a .p8 (PEM PKCS #8 EC) key: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a := &APNs{cfg: cfg, key: key, base: strings.TrimRight(cfg.APIBase, "/"), now: clock(cfg.Now)}
	if a.base == "" {
		a.base = APNsAPIBase
	}
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	}
	t := &http2.Transport{
		TLSClientConfig: &tls.Config{RootCAs: cfg.RootCAs, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12},
		DialTLSContext: func(ctx context.Context, network, addr string, tc *tls.Config) (net.Conn, error) {
			raw, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			c := tls.Client(raw, tc)
			if err := c.HandshakeContext(ctx); err != nil {
				_ = raw.Close()
				return nil, err
			}
			if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
				_ = c.Close()
				return nil, fmt.Errorf("APNs %s did not negotiate HTTP/2 (ALPN %q)", addr, p)
			}
			return c, nil
		},
		ReadIdleTimeout: 30 * time.Second,
		PingTimeout:     10 * time.Second,
	}
	a.client = &http.Client{Transport: t, Timeout: 30 * time.Second}
	return a, nil
}

// Close drops the sender's idle connections.
func (a *APNs) Close() { a.client.CloseIdleConnections() }

// providerToken returns the current provider JWT, made anew when it is
// older than apnsTokenLife or is stale (APNs answered
// ExpiredProviderToken to it).
func (a *APNs) providerToken(stale string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if a.token != "" && a.token != stale && now.Sub(a.issuedAt) < apnsTokenLife {
		return a.token, nil
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": a.cfg.TeamID, "iat": now.Unix()})
	t.Header["kid"] = a.cfg.KeyID
	s, err := t.SignedString(a.key)
	if err != nil {
		return "", err
	}
	a.token, a.issuedAt = s, now
	a.generated++
	return s, nil
}

// apnsPayload builds the notification's JSON: the alert under aps, the
// URL and data as custom keys beside it.
func apnsPayload(m Message) ([]byte, error) {
	p := map[string]any{}
	for k, v := range m.Data {
		if k != "aps" {
			p[k] = v
		}
	}
	if m.URL != "" {
		p["url"] = m.URL
	}
	p["aps"] = map[string]any{"alert": map[string]string{"title": m.Title, "body": m.Body}, "sound": "default"}
	return json.Marshal(p)
}

// validDeviceToken: APNs device tokens are hex (64 characters today;
// Apple says not to rely on the length, so up to 200).
func validDeviceToken(t string) bool {
	if t == "" || len(t) > 200 {
		return false
	}
	_, err := hex.DecodeString(t)
	return err == nil
}

// Send posts m to one device token. Answers: 200 delivered; 410
// Unregistered and 400 BadDeviceToken gone (prune); 429 and 5xx retry
// (Retry-After honoured); 403 ExpiredProviderToken makes a new provider
// token and tries once more; anything else failed with Apple's reason.
func (a *APNs) Send(ctx context.Context, token string, m Message) Outcome {
	if !validDeviceToken(token) {
		return Outcome{Status: Gone, Reason: "BadDeviceToken: not a hexadecimal device token"}
	}
	body, err := apnsPayload(m)
	if err != nil {
		return Outcome{Status: Failed, Reason: err.Error()}
	}
	if len(body) > 4096 {
		return Outcome{Status: Failed, Reason: "PayloadTooLarge: an APNs payload is at most 4096 bytes"}
	}
	prio := "5"
	if m.Urgency == UrgencyHigh || m.Urgency == "" || m.Urgency == UrgencyNormal {
		prio = "10"
	}
	exp := "0"
	if m.TTL > 0 {
		exp = strconv.FormatInt(a.now().Add(m.TTL).Unix(), 10)
	}
	stale := ""
	for attempt := 0; ; attempt++ {
		jwtStr, err := a.providerToken(stale)
		if err != nil {
			return Outcome{Status: Failed, Reason: err.Error()}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/3/device/"+token, bytes.NewReader(body))
		if err != nil {
			return Outcome{Status: Failed, Reason: err.Error()}
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "bearer "+jwtStr)
		req.Header.Set("apns-topic", a.cfg.Topic)
		req.Header.Set("apns-push-type", "alert")
		req.Header.Set("apns-priority", prio)
		req.Header.Set("apns-expiration", exp)
		resp, err := a.client.Do(req)
		if err != nil {
			return transportFailure(err)
		}
		rb := readBody(resp)
		var e struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(rb, &e)
		o := Outcome{Code: resp.StatusCode, Reason: e.Reason}
		switch c := resp.StatusCode; {
		case c == http.StatusOK:
			o.Status = Delivered
		case c == http.StatusGone || (c == http.StatusBadRequest && e.Reason == "BadDeviceToken"):
			o.Status = Gone
		case c == http.StatusForbidden && e.Reason == "ExpiredProviderToken" && attempt == 0:
			stale = jwtStr
			continue
		case c == http.StatusTooManyRequests || c >= 500:
			o.Status = Retry
			o.RetryAfter = retryAfter(resp.Header, a.now())
		default:
			o.Status = Failed
			if o.Reason == "" {
				o.Reason = strings.TrimSpace(string(rb))
			}
		}
		return o
	}
}
