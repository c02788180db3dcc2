package pushtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// APNsNotification is one notification APNs accepted.
type APNsNotification struct {
	DeviceToken string
	Topic       string
	PushType    string
	Priority    string
	Expiration  string
	// Payload is the JSON body.
	Payload map[string]any
}

// Alert is the payload's aps.alert title and body.
func (n APNsNotification) Alert() (title, body string) {
	aps, _ := n.Payload["aps"].(map[string]any)
	a, _ := aps["alert"].(map[string]any)
	title, _ = a["title"].(string)
	body, _ = a["body"].(string)
	return
}

// APNsService is Apple's push service on 127.0.0.1: TLS with ALPN h2
// only (a client that cannot speak HTTP/2 is refused), provider tokens
// (ES256, kid, iss, iat) verified against the .p8 key's public half.
type APNsService struct {
	Server *httptest.Server
	// KeyID, TeamID and Topic are what the provider must send.
	KeyID, TeamID, Topic string
	key                  *ecdsa.PrivateKey

	mu       sync.Mutex
	devices  map[string]bool
	expired  map[string]bool // provider tokens answered ExpiredProviderToken
	replies  map[string][]reply
	jwts     map[string]bool // distinct provider tokens seen
	msgs     []APNsNotification
	rejected []string
	// Now is the service's clock for provider tokens' age (default time.Now).
	Now func() time.Time
}

// NewAPNsService starts a service with a fresh .p8 key.
func NewAPNsService(t testing.TB) *APNsService {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &APNsService{KeyID: "ABC123DEFG", TeamID: "TEAM123456", Topic: "dev.joist.example", key: k,
		devices: map[string]bool{}, expired: map[string]bool{}, replies: map[string][]reply{}, jwts: map[string]bool{}, Now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("/3/device/{token}", s.serve)
	s.Server = httptest.NewUnstartedServer(mux)
	s.Server.EnableHTTP2 = true
	// Only h2 is offered; a client that negotiates nothing (crypto/tls
	// lets an http/1.1-only client through without ALPN) and speaks
	// HTTP/1.1 gets 505 from serve.
	s.Server.TLS = &tls.Config{NextProtos: []string{"h2"}}
	s.Server.StartTLS()
	t.Cleanup(s.Server.Close)
	return s
}

// P8 is the signing key as Apple hands it out (PEM PKCS #8).
func (s *APNsService) P8() []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(s.key)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// CertPool is a pool holding the server's certificate.
func (s *APNsService) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Server.Certificate())
	return p
}

// CAPEM is the server certificate as PEM.
func (s *APNsService) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Server.Certificate().Raw})
}

// NewDevice registers and returns a device token (64 hex characters).
func (s *APNsService) NewDevice() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	s.devices[tok] = true
	s.mu.Unlock()
	return tok
}

// Unregister makes tok answer 410 Unregistered.
func (s *APNsService) Unregister(tok string) {
	s.mu.Lock()
	delete(s.devices, tok)
	s.mu.Unlock()
}

// Reply makes the next notification to tok answer code with Apple's
// reason, and a Retry-After when set.
func (s *APNsService) Reply(tok string, code int, reason, retryAfter string) {
	s.mu.Lock()
	s.replies[tok] = append(s.replies[tok], reply{code: code, body: reason, retryAfter: retryAfter})
	s.mu.Unlock()
}

// ExpireProviderTokens makes every provider token seen so far answer 403
// ExpiredProviderToken.
func (s *APNsService) ExpireProviderTokens() {
	s.mu.Lock()
	for k := range s.jwts {
		s.expired[k] = true
	}
	s.mu.Unlock()
}

// ProviderTokens counts the distinct provider tokens seen.
func (s *APNsService) ProviderTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jwts)
}

// Notifications are the notifications accepted so far.
func (s *APNsService) Notifications() []APNsNotification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]APNsNotification(nil), s.msgs...)
}

// Rejected are the reasons of refused requests.
func (s *APNsService) Rejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

func (s *APNsService) fail(w http.ResponseWriter, code int, reason string) {
	s.mu.Lock()
	s.rejected = append(s.rejected, reason)
	s.mu.Unlock()
	w.Header().Set("apns-id", "00000000-0000-0000-0000-000000000000")
	writeJSON(w, code, map[string]any{"reason": reason})
}

func (s *APNsService) serve(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 {
		http.Error(w, "APNs speaks HTTP/2 only", http.StatusHTTPVersionNotSupported)
		return
	}
	if r.Method != http.MethodPost {
		s.fail(w, 405, "MethodNotAllowed")
		return
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "bearer ")
	if !ok {
		s.fail(w, 403, "MissingProviderToken")
		return
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(bearer, claims, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(s.TeamID), jwt.WithIssuedAt(), jwt.WithTimeFunc(s.Now))
	if err != nil || tok.Header["kid"] != s.KeyID {
		s.fail(w, 403, "InvalidProviderToken")
		return
	}
	iat, _ := claims.GetIssuedAt()
	s.mu.Lock()
	s.jwts[bearer] = true
	exp := s.expired[bearer]
	s.mu.Unlock()
	if exp || iat == nil || s.Now().Sub(iat.Time) > time.Hour {
		s.fail(w, 403, "ExpiredProviderToken")
		return
	}
	if r.Header.Get("apns-topic") != s.Topic {
		s.fail(w, 400, "DeviceTokenNotForTopic")
		return
	}
	switch r.Header.Get("apns-push-type") {
	case "alert", "background", "voip", "complication", "fileprovider", "mdm", "liveactivity", "location", "pushtotalk":
	default:
		s.fail(w, 400, "InvalidPushType")
		return
	}
	switch r.Header.Get("apns-priority") {
	case "", "5", "10", "1":
	default:
		s.fail(w, 400, "BadPriority")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8192))
	if len(body) > 4096 {
		s.fail(w, 413, "PayloadTooLarge")
		return
	}
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil || payload["aps"] == nil {
		s.fail(w, 400, "PayloadEmpty")
		return
	}
	dev := r.PathValue("token")
	if _, err := hex.DecodeString(dev); err != nil || len(dev) != 64 {
		s.fail(w, 400, "BadDeviceToken")
		return
	}
	s.mu.Lock()
	known := s.devices[dev]
	var rep *reply
	if q := s.replies[dev]; len(q) > 0 {
		rep = &q[0]
		s.replies[dev] = q[1:]
	}
	s.mu.Unlock()
	if !known {
		w.Header().Set("apns-id", "00000000-0000-0000-0000-000000000000")
		writeJSON(w, 410, map[string]any{"reason": "Unregistered", "timestamp": s.Now().UnixMilli()})
		return
	}
	if rep != nil {
		if rep.retryAfter != "" {
			w.Header().Set("Retry-After", rep.retryAfter)
		}
		writeJSON(w, rep.code, map[string]any{"reason": rep.body})
		return
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, APNsNotification{DeviceToken: dev, Topic: r.Header.Get("apns-topic"), PushType: r.Header.Get("apns-push-type"),
		Priority: r.Header.Get("apns-priority"), Expiration: r.Header.Get("apns-expiration"), Payload: payload})
	s.mu.Unlock()
	w.Header().Set("apns-id", fmt.Sprintf("%x", time.Now().UnixNano()))
	w.WriteHeader(http.StatusOK)
}

// HTTP1Client is a client that trusts the service but speaks only
// HTTP/1.1, for proving the service refuses it.
func (s *APNsService) HTTP1Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.CertPool(), NextProtos: []string{"http/1.1"}},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
	}}
}
