package push

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FCM's defaults.
const (
	FCMAPIBase  = "https://fcm.googleapis.com"
	FCMTokenURL = "https://oauth2.googleapis.com/token"
	FCMScope    = "https://www.googleapis.com/auth/firebase.messaging"
)

// ServiceAccount is the part of a Google service-account key file FCM
// needs.
type ServiceAccount struct {
	Type        string `json:"type"`
	ProjectID   string `json:"project_id"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
	TokenURI    string `json:"token_uri"`
}

// ParseServiceAccount reads a service-account key file (JSON), checking
// the fields FCM needs and that the private key is an RSA PEM key.
func ParseServiceAccount(b []byte) (ServiceAccount, *rsa.PrivateKey, error) {
	var sa ServiceAccount
	if err := json.Unmarshal(b, &sa); err != nil {
		return sa, nil, fmt.Errorf("service account: not JSON: %w", err)
	}
	var missing []string
	for name, v := range map[string]string{"project_id": sa.ProjectID, "client_email": sa.ClientEmail, "private_key": sa.PrivateKey} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return sa, nil, fmt.Errorf("service account: missing %s", strings.Join(missing, ", "))
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(sa.PrivateKey))
	if err != nil {
		return sa, nil, fmt.Errorf("service account: private_key: %w", err)
	}
	return sa, key, nil
}

// FCMConfig configures an FCM sender.
type FCMConfig struct {
	// Credentials is the service-account key file's content.
	Credentials []byte
	// APIBase is FCM's base URL (default FCMAPIBase).
	APIBase string
	// TokenURL is where the assertion is exchanged (default: the
	// account's token_uri, else FCMTokenURL).
	TokenURL string
	// Client sends every request (in joist: the guarded client of
	// operator destinations).
	Client *http.Client
	// Now is the clock (nil: time.Now): assertion times and the cached
	// token's expiry.
	Now func() time.Time
}

// FCM sends to Firebase Cloud Messaging registration tokens through the
// HTTP v1 API.
//
// The OAuth 2 exchange (a signed JWT assertion for an access token) is
// done here with golang-jwt rather than golang.org/x/oauth2: oauth2 reads
// the wall clock for expiry, which the token cache must take from the
// injected clock, and it has no way to drop a token the API refused (401)
// besides building a new source; the exchange itself is one form POST.
type FCM struct {
	sa       ServiceAccount
	key      *rsa.PrivateKey
	base     string
	tokenURL string
	client   *http.Client
	now      func() time.Time

	mu      sync.Mutex // held across an exchange, so concurrent sends share it
	token   string
	expires time.Time
}

// NewFCM checks cfg and returns a sender.
func NewFCM(cfg FCMConfig) (*FCM, error) {
	sa, key, err := ParseServiceAccount(cfg.Credentials)
	if err != nil {
		return nil, err
	}
	f := &FCM{sa: sa, key: key, base: strings.TrimRight(cfg.APIBase, "/"), tokenURL: cfg.TokenURL, client: cfg.Client, now: clock(cfg.Now)}
	if f.base == "" {
		f.base = FCMAPIBase
	}
	if f.tokenURL == "" {
		f.tokenURL = sa.TokenURI
	}
	if f.tokenURL == "" {
		f.tokenURL = FCMTokenURL
	}
	if f.client == nil {
		f.client = http.DefaultClient
	}
	return f, nil
}

// ProjectID is the service account's project.
func (f *FCM) ProjectID() string { return f.sa.ProjectID }

// tokenMargin: a cached token is renewed this long before it expires.
const tokenMargin = 2 * time.Minute

// accessToken returns the cached token, or exchanges a new assertion
// for one.
func (f *FCM) accessToken(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if f.token != "" && now.Add(tokenMargin).Before(f.expires) {
		return f.token, nil
	}
	assertion, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss":   f.sa.ClientEmail,
		"scope": FCMScope,
		"aud":   f.tokenURL,
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
	}).SignedString(f.key)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.client.Do(req)
	if err != nil {
		return "", err
	}
	body := readBody(resp)
	if resp.StatusCode != http.StatusOK {
		return "", &tokenError{code: resp.StatusCode, body: strings.TrimSpace(string(body)), retryAfter: retryAfter(resp.Header, now)}
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", &tokenError{code: resp.StatusCode, body: "no access_token in the token endpoint's answer"}
	}
	if tr.ExpiresIn <= 0 {
		tr.ExpiresIn = 3600
	}
	f.token, f.expires = tr.AccessToken, now.Add(time.Duration(tr.ExpiresIn)*time.Second)
	return f.token, nil
}

// dropToken forgets token, if it is still the cached one (the API
// refused it).
func (f *FCM) dropToken(token string) {
	f.mu.Lock()
	if f.token == token {
		f.token = ""
	}
	f.mu.Unlock()
}

// tokenError is a refused exchange.
type tokenError struct {
	code       int
	body       string
	retryAfter time.Duration
}

func (e *tokenError) Error() string {
	return fmt.Sprintf("FCM token exchange: %d %s", e.code, e.body)
}

// fcmMessage is the HTTP v1 message resource (the fields joist sets).
type fcmMessage struct {
	Token        string            `json:"token"`
	Notification fcmNotification   `json:"notification"`
	Data         map[string]string `json:"data,omitempty"`
	Android      *fcmAndroid       `json:"android,omitempty"`
	APNs         *fcmAPNs          `json:"apns,omitempty"`
	Webpush      *fcmWebpush       `json:"webpush,omitempty"`
}

type fcmNotification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
}

type fcmAndroid struct {
	TTL      string `json:"ttl"`
	Priority string `json:"priority"`
}

type fcmAPNs struct {
	Headers map[string]string `json:"headers"`
}

type fcmWebpush struct {
	Headers    map[string]string `json:"headers,omitempty"`
	FCMOptions map[string]string `json:"fcm_options,omitempty"`
}

// fcmBody builds the messages:send body.
func fcmBody(token string, m Message, now time.Time) ([]byte, error) {
	data := map[string]string{}
	for k, v := range m.Data {
		data[k] = v
	}
	if m.URL != "" {
		data["url"] = m.URL
	}
	high := m.Urgency == UrgencyHigh
	msg := fcmMessage{Token: token, Notification: fcmNotification{Title: m.Title, Body: m.Body}}
	if len(data) > 0 {
		msg.Data = data
	}
	msg.Android = &fcmAndroid{TTL: strconv.FormatInt(int64(m.TTL/time.Second), 10) + "s", Priority: "normal"}
	apnsPrio := "5"
	if high {
		msg.Android.Priority, apnsPrio = "high", "10"
	}
	exp := "0"
	if m.TTL > 0 {
		exp = strconv.FormatInt(now.Add(m.TTL).Unix(), 10)
	}
	msg.APNs = &fcmAPNs{Headers: map[string]string{"apns-priority": apnsPrio, "apns-expiration": exp}}
	urg := m.Urgency
	if urg == "" {
		urg = UrgencyNormal
	}
	msg.Webpush = &fcmWebpush{Headers: map[string]string{"TTL": strconv.FormatInt(int64(m.TTL/time.Second), 10), "Urgency": urg}}
	if strings.HasPrefix(m.URL, "https://") {
		msg.Webpush.FCMOptions = map[string]string{"link": m.URL}
	}
	return json.Marshal(map[string]any{"message": msg})
}

// Send posts m to one registration token. Answers: 200 delivered;
// UNREGISTERED (404), an INVALID_ARGUMENT naming the token, or
// SENDER_ID_MISMATCH gone (prune the token); 429, 500, 503 retry
// (Retry-After honoured); 401 once refreshes the access token and tries
// again; anything else failed.
func (f *FCM) Send(ctx context.Context, token string, m Message) Outcome {
	if token == "" {
		return Outcome{Status: Gone, Reason: "empty registration token"}
	}
	body, err := fcmBody(token, m, f.now())
	if err != nil {
		return Outcome{Status: Failed, Reason: err.Error()}
	}
	endpoint := f.base + "/v1/projects/" + url.PathEscape(f.sa.ProjectID) + "/messages:send"
	for attempt := 0; ; attempt++ {
		access, err := f.accessToken(ctx)
		if err != nil {
			var te *tokenError
			if errors.As(err, &te) {
				if te.code == http.StatusTooManyRequests || te.code >= 500 {
					return Outcome{Status: Retry, Code: te.code, Reason: te.Error(), RetryAfter: te.retryAfter}
				}
				return Outcome{Status: Failed, Code: te.code, Reason: te.Error()}
			}
			return transportFailure(err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return Outcome{Status: Failed, Reason: err.Error()}
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := f.client.Do(req)
		if err != nil {
			return transportFailure(err)
		}
		rb := readBody(resp)
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			f.dropToken(access)
			continue
		}
		return classifyFCM(resp, rb, f.now())
	}
}

// fcmError is the error JSON of the v1 API.
type fcmError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type            string `json:"@type"`
			ErrorCode       string `json:"errorCode"`
			FieldViolations []struct {
				Field       string `json:"field"`
				Description string `json:"description"`
			} `json:"fieldViolations"`
		} `json:"details"`
	} `json:"error"`
}

// classifyFCM maps an answer of messages:send to an Outcome.
func classifyFCM(resp *http.Response, body []byte, now time.Time) Outcome {
	o := Outcome{Code: resp.StatusCode}
	if resp.StatusCode == http.StatusOK {
		o.Status = Delivered
		return o
	}
	var e fcmError
	_ = json.Unmarshal(body, &e)
	code, tokenField := e.Error.Status, false
	for _, d := range e.Error.Details {
		if d.ErrorCode != "" {
			code = d.ErrorCode
		}
		for _, v := range d.FieldViolations {
			if v.Field == "message.token" {
				tokenField = true
			}
		}
	}
	o.Reason = code
	if e.Error.Message != "" {
		o.Reason += ": " + e.Error.Message
	}
	if o.Reason == "" {
		o.Reason = strings.TrimSpace(string(body))
	}
	switch {
	case code == "UNREGISTERED" || resp.StatusCode == http.StatusNotFound || code == "SENDER_ID_MISMATCH":
		o.Status = Gone
	case code == "INVALID_ARGUMENT" && (tokenField || strings.Contains(strings.ToLower(e.Error.Message), "registration token")):
		o.Status = Gone
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		o.Status = Retry
		o.RetryAfter = retryAfter(resp.Header, now)
	default:
		o.Status = Failed
	}
	return o
}
