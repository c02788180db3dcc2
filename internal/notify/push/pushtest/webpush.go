package pushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// WebPushMessage is one push the service accepted, decrypted.
type WebPushMessage struct {
	// Endpoint is the subscription's endpoint.
	Endpoint string
	// Plaintext is the decrypted payload.
	Plaintext []byte
	// TTL and Urgency are the request's headers.
	TTL     int
	Urgency string
	// Subject, Audience and Expiry are the VAPID JWT's claims; Key is
	// its k (the application server's public key, base64url).
	Subject  string
	Audience string
	Expiry   time.Time
	Key      string
}

// WebSubscriber is a browser's side of one subscription: the key pair
// and auth secret it made, and the endpoint the service gave it.
type WebSubscriber struct {
	Endpoint string
	Private  *ecdh.PrivateKey
	Auth     []byte
}

// P256dh is the subscription's public key as a browser hands it out
// (base64url, no padding).
func (s *WebSubscriber) P256dh() string {
	return base64.RawURLEncoding.EncodeToString(s.Private.PublicKey().Bytes())
}

// AuthSecret is the auth secret as a browser hands it out.
func (s *WebSubscriber) AuthSecret() string { return base64.RawURLEncoding.EncodeToString(s.Auth) }

// reply is a canned answer for one endpoint.
type reply struct {
	code       int
	retryAfter string
	body       string
}

// WebPushService is a web push service on 127.0.0.1 over TLS.
type WebPushService struct {
	Server *httptest.Server

	mu       sync.Mutex
	subs     map[string]*WebSubscriber // by path
	replies  map[string][]reply        // by path, consumed in order
	msgs     []WebPushMessage
	rejected []string
	// Now is the service's clock for the JWT's expiry (default time.Now).
	Now func() time.Time
}

// NewWebPushService starts a service; it stops with the test.
func NewWebPushService(t testing.TB) *WebPushService {
	s := &WebPushService{subs: map[string]*WebSubscriber{}, replies: map[string][]reply{}, Now: time.Now}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Server.Close)
	return s
}

// CAPEM is the server certificate as PEM, for a client's trusted roots.
func (s *WebPushService) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Server.Certificate().Raw})
}

// Subscribe makes a new subscription as a browser would: a fresh P-256
// key pair and a 16-byte auth secret, and an endpoint on the service.
func (s *WebPushService) Subscribe(t testing.TB) *WebSubscriber {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	path := "/push/" + base64.RawURLEncoding.EncodeToString(id)
	sub := &WebSubscriber{Endpoint: s.Server.URL + path, Private: k, Auth: auth}
	s.mu.Lock()
	s.subs[path] = sub
	s.mu.Unlock()
	return sub
}

// Reply makes the next push to sub answer code (404, 410, 429, 500, 400
// ...), with a Retry-After when retryAfter is not empty.
func (s *WebPushService) Reply(sub *WebSubscriber, code int, retryAfter, body string) {
	path := strings.TrimPrefix(sub.Endpoint, s.Server.URL)
	s.mu.Lock()
	s.replies[path] = append(s.replies[path], reply{code, retryAfter, body})
	s.mu.Unlock()
}

// Unsubscribe forgets sub: pushes to it are answered 410 Gone, as a push
// service does for a subscription the user revoked.
func (s *WebPushService) Unsubscribe(sub *WebSubscriber) {
	s.mu.Lock()
	delete(s.subs, strings.TrimPrefix(sub.Endpoint, s.Server.URL))
	s.mu.Unlock()
}

// Messages are the pushes accepted so far.
func (s *WebPushService) Messages() []WebPushMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WebPushMessage(nil), s.msgs...)
}

// Rejected are the reasons of the requests refused for a bad VAPID
// header or payload (a test expects none).
func (s *WebPushService) Rejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

func (s *WebPushService) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sub := s.subs[r.URL.Path]
	var rep *reply
	if q := s.replies[r.URL.Path]; len(q) > 0 {
		rep = &q[0]
		s.replies[r.URL.Path] = q[1:]
	}
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if sub == nil {
		http.Error(w, "push subscription has unsubscribed or expired", http.StatusGone)
		return
	}
	msg, err := s.check(r, sub)
	if err != nil {
		s.mu.Lock()
		s.rejected = append(s.rejected, err.Error())
		s.mu.Unlock()
		code := http.StatusBadRequest
		if strings.HasPrefix(err.Error(), "vapid") {
			code = http.StatusForbidden
		}
		http.Error(w, err.Error(), code)
		return
	}
	if rep != nil {
		if rep.retryAfter != "" {
			w.Header().Set("Retry-After", rep.retryAfter)
		}
		http.Error(w, rep.body, rep.code)
		return
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, msg)
	s.mu.Unlock()
	w.Header().Set("Location", sub.Endpoint+"/msg")
	w.WriteHeader(http.StatusCreated)
}

// check verifies the VAPID header and the request headers, and decrypts
// the body.
func (s *WebPushService) check(r *http.Request, sub *WebSubscriber) (WebPushMessage, error) {
	m := WebPushMessage{Endpoint: sub.Endpoint, Urgency: r.Header.Get("Urgency")}
	ttl, err := strconv.Atoi(r.Header.Get("TTL"))
	if err != nil || ttl < 0 {
		return m, errors.New("header TTL is required (RFC 8030 section 5.2)")
	}
	m.TTL = ttl
	switch m.Urgency {
	case "", "very-low", "low", "normal", "high":
	default:
		return m, fmt.Errorf("header Urgency %q is not very-low, low, normal or high", m.Urgency)
	}
	if err := s.checkVAPID(r, &m); err != nil {
		return m, err
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" {
		return m, fmt.Errorf("Content-Encoding %q, want aes128gcm", r.Header.Get("Content-Encoding"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8192))
	if err != nil {
		return m, err
	}
	if len(body) > 4096 {
		return m, errors.New("payload larger than 4096 bytes")
	}
	m.Plaintext, err = Decrypt(sub.Private, sub.Auth, body)
	return m, err
}

// checkVAPID verifies `Authorization: vapid t=<jwt>, k=<key>`: an ES256
// JWT signed by k, aud the endpoint's origin, exp in the future and at
// most 24 hours ahead, sub a mailto: or https: URI.
func (s *WebPushService) checkVAPID(r *http.Request, m *WebPushMessage) error {
	h := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return fmt.Errorf("vapid: Authorization %q is not a vapid scheme", h)
	}
	var tok, key string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			tok = v
		case "k":
			key = v
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || len(raw) != 65 {
		return errors.New("vapid: k is not a base64url uncompressed P-256 key")
	}
	if _, err := ecdh.P256().NewPublicKey(raw); err != nil {
		return errors.New("vapid: k is not on P-256")
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(raw[1:33]), Y: new(big.Int).SetBytes(raw[33:])}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(s.Now), jwt.WithExpirationRequired())
	if err != nil {
		return fmt.Errorf("vapid: JWT: %w", err)
	}
	aud, _ := claims["aud"].(string)
	if want := "https://" + r.Host; aud != want {
		return fmt.Errorf("vapid: aud %q, want the endpoint's origin %q", aud, want)
	}
	exp, _ := claims.GetExpirationTime()
	if exp.After(s.Now().Add(24 * time.Hour)) {
		return fmt.Errorf("vapid: exp %s is more than 24 hours ahead", exp.Time)
	}
	sub, _ := claims["sub"].(string)
	if !strings.HasPrefix(sub, "mailto:") && !strings.HasPrefix(sub, "https:") {
		return fmt.Errorf("vapid: sub %q is neither mailto: nor https:", sub)
	}
	m.Subject, m.Audience, m.Expiry, m.Key = sub, aud, exp.Time, key
	return nil
}

// Decrypt opens an RFC 8291 aes128gcm body with the user agent's private
// key and auth secret: the RFC 8188 header (salt, record size, the
// sender's public key), the key derivation of RFC 8291 section 3.4, and
// one record with its 0x02 delimiter and padding.
func Decrypt(priv *ecdh.PrivateKey, auth, body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("aes128gcm: body shorter than its header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen || idlen != 65 {
		return nil, fmt.Errorf("aes128gcm: keyid of %d bytes, want the sender's 65-byte public key", idlen)
	}
	if rs < 18 {
		return nil, fmt.Errorf("aes128gcm: record size %d too small", rs)
	}
	asPub, err := ecdh.P256().NewPublicKey(body[21 : 21+idlen])
	if err != nil {
		return nil, fmt.Errorf("aes128gcm: sender key: %w", err)
	}
	ct := body[21+idlen:]
	if len(ct) > int(rs) {
		return nil, errors.New("aes128gcm: more than one record (web push sends one)")
	}
	shared, err := priv.ECDH(asPub)
	if err != nil {
		return nil, err
	}
	info := append([]byte("WebPush: info\x00"), priv.PublicKey().Bytes()...)
	info = append(info, asPub.Bytes()...)
	ikm, err := hkdf.Key(sha256.New, shared, auth, string(info), 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	pt, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("aes128gcm: cannot decrypt with the subscription's keys: %w", err)
	}
	// Strip the padding: trailing zeros, then the last record's 0x02.
	i := len(pt) - 1
	for i >= 0 && pt[i] == 0 {
		i--
	}
	if i < 0 || pt[i] != 2 {
		return nil, errors.New("aes128gcm: no last-record delimiter (0x02)")
	}
	return pt[:i], nil
}

// CertPool is a pool holding s's certificate.
func (s *WebPushService) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Server.Certificate())
	return p
}
