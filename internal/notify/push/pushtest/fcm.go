package pushtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FCMMessage is one message FCM accepted.
type FCMMessage struct {
	Project string
	// Message is the "message" object as posted.
	Message map[string]any
}

// Token is the message's registration token.
func (m FCMMessage) Token() string { s, _ := m.Message["token"].(string); return s }

// Notification is the message's notification title and body.
func (m FCMMessage) Notification() (title, body string) {
	n, _ := m.Message["notification"].(map[string]any)
	title, _ = n["title"].(string)
	body, _ = n["body"].(string)
	return
}

// FCMService is Google's token endpoint (POST /token) and FCM's HTTP v1
// API (POST /v1/projects/{project}/messages:send) on 127.0.0.1 over TLS.
type FCMService struct {
	Server *httptest.Server
	// Project is the service account's project.
	Project string
	// ClientEmail is the service account's email.
	ClientEmail string
	key         *rsa.PrivateKey

	mu        sync.Mutex
	tokens    map[string]bool    // registration tokens known
	access    map[string]bool    // access tokens issued and not revoked
	replies   map[string][]reply // by registration token
	exchanges int
	msgs      []FCMMessage
	rejected  []string
	// ExpiresIn is the lifetime of the access tokens issued (default 3600 s).
	ExpiresIn int
}

// NewFCMService starts a service with a fresh service account.
func NewFCMService(t testing.TB) *FCMService {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &FCMService{Project: "joist-test", ClientEmail: "push@joist-test.iam.gserviceaccount.com", key: k,
		tokens: map[string]bool{}, access: map[string]bool{}, replies: map[string][]reply{}, ExpiresIn: 3600}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.serveToken)
	mux.HandleFunc("POST /v1/projects/{project}/{rest}", s.serveSend)
	s.Server = httptest.NewTLSServer(mux)
	t.Cleanup(s.Server.Close)
	return s
}

// TokenURL is the token endpoint.
func (s *FCMService) TokenURL() string { return s.Server.URL + "/token" }

// Credentials is the service-account key file, as Google's console
// downloads it, with token_uri pointing at this service.
func (s *FCMService) Credentials() []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(s.key)
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": s.Project, "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": s.ClientEmail, "client_id": "1", "token_uri": s.TokenURL(),
	})
	return b
}

// NewToken registers and returns a device's registration token.
func (s *FCMService) NewToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "fcm:" + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = true
	s.mu.Unlock()
	return tok
}

// Unregister makes tok unknown (the app was uninstalled): sends to it get
// 404 UNREGISTERED.
func (s *FCMService) Unregister(tok string) {
	s.mu.Lock()
	delete(s.tokens, tok)
	s.mu.Unlock()
}

// Reply makes the next send to tok answer code with a Retry-After when
// retryAfter is set (429 QUOTA_EXCEEDED, 503 UNAVAILABLE, ...).
func (s *FCMService) Reply(tok string, code int, retryAfter string) {
	s.mu.Lock()
	s.replies[tok] = append(s.replies[tok], reply{code: code, retryAfter: retryAfter})
	s.mu.Unlock()
}

// RevokeAccessTokens makes every access token issued so far invalid
// (401 UNAUTHENTICATED), as when Google rotates them.
func (s *FCMService) RevokeAccessTokens() {
	s.mu.Lock()
	s.access = map[string]bool{}
	s.mu.Unlock()
}

// Exchanges counts the assertions exchanged for access tokens.
func (s *FCMService) Exchanges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exchanges
}

// Messages are the messages accepted so far.
func (s *FCMService) Messages() []FCMMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]FCMMessage(nil), s.msgs...)
}

// Rejected are the reasons of refused requests (bad assertions, bad
// bearer tokens, bad bodies).
func (s *FCMService) Rejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

func (s *FCMService) reject(reason string) {
	s.mu.Lock()
	s.rejected = append(s.rejected, reason)
	s.mu.Unlock()
}

// serveToken verifies the RS256 assertion against the service account's
// public key (iss, aud = this URL, scope, a lifetime of at most an hour)
// and issues an access token.
func (s *FCMService) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		s.reject("token: grant_type")
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(s.TokenURL()), jwt.WithIssuer(s.ClientEmail),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(time.Hour*24*365*10))
	if err == nil {
		iat, _ := claims.GetIssuedAt()
		exp, _ := claims.GetExpirationTime()
		scope, _ := claims["scope"].(string)
		switch {
		case iat == nil || exp.Sub(iat.Time) > time.Hour:
			err = fmt.Errorf("assertion lives %v, more than an hour", exp.Sub(iat.Time))
		case !strings.Contains(" "+scope+" ", " https://www.googleapis.com/auth/firebase.messaging "):
			err = fmt.Errorf("scope %q lacks firebase.messaging", scope)
		}
	}
	if err != nil {
		s.reject("token: " + err.Error())
		writeJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": err.Error()})
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "ya29." + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.access[tok] = true
	s.exchanges++
	exp := s.ExpiresIn
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": tok, "expires_in": exp, "token_type": "Bearer"})
}

// fcmErr writes FCM's documented error JSON.
func fcmErr(w http.ResponseWriter, code int, status, errorCode, msg string, fieldViolation string) {
	var details []any
	if errorCode != "" {
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": errorCode})
	}
	if fieldViolation != "" {
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.BadRequest",
			"fieldViolations": []any{map[string]string{"field": fieldViolation, "description": msg}}})
	}
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status, "details": details}})
}

func (s *FCMService) serveSend(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("rest") != "messages:send" || r.PathValue("project") != s.Project {
		fcmErr(w, 404, "NOT_FOUND", "", "Requested entity was not found.", "")
		return
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	ok := s.access[bearer]
	s.mu.Unlock()
	if !ok {
		s.reject("send: bearer token not issued or revoked")
		fcmErr(w, 401, "UNAUTHENTICATED", "", "Request had invalid authentication credentials.", "")
		return
	}
	var body struct {
		Message map[string]any `json:"message"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Message == nil {
		s.reject("send: body is not {\"message\": {...}}")
		fcmErr(w, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received.", "")
		return
	}
	m := FCMMessage{Project: s.Project, Message: body.Message}
	if d, ok := body.Message["data"].(map[string]any); ok {
		for k, v := range d {
			if _, str := v.(string); !str {
				fcmErr(w, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", fmt.Sprintf("Invalid value at 'message.data[%s]' (string)", k), "message.data")
				return
			}
		}
	}
	tok := m.Token()
	if !strings.HasPrefix(tok, "fcm:") {
		fcmErr(w, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", "message.token")
		return
	}
	s.mu.Lock()
	known := s.tokens[tok]
	var rep *reply
	if q := s.replies[tok]; len(q) > 0 {
		rep = &q[0]
		s.replies[tok] = q[1:]
	}
	s.mu.Unlock()
	if !known {
		fcmErr(w, 404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.", "")
		return
	}
	if rep != nil {
		if rep.retryAfter != "" {
			w.Header().Set("Retry-After", rep.retryAfter)
		}
		status := map[int]string{429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE", 500: "INTERNAL"}[rep.code]
		code := map[int]string{429: "QUOTA_EXCEEDED", 503: "UNAVAILABLE", 500: "INTERNAL"}[rep.code]
		fcmErr(w, rep.code, status, code, "stand-in reply", "")
		return
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	writeJSON(w, 200, map[string]string{"name": "projects/" + s.Project + "/messages/0:" + fmt.Sprint(time.Now().UnixNano())})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
