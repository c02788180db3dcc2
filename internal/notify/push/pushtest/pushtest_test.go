package pushtest_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/joist-dev/joist/internal/notify/push/pushtest"
)

// vapidHeader signs claims with a fresh P-256 key, as a sender would.
func vapidHeader(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	ek, _ := k.ECDH()
	return "vapid t=" + s + ", k=" + base64.RawURLEncoding.EncodeToString(ek.PublicKey().Bytes())
}

// TestWebPushServiceRefusesBadVAPID: the stand-in's checks are real: a
// JWT living more than 24 hours, for another audience, with a subject
// that is neither mailto: nor https:, expired, or signed by another key
// than k is refused with 403, and nothing is accepted.
func TestWebPushServiceRefusesBadVAPID(t *testing.T) {
	svc := pushtest.NewWebPushService(t)
	sub := svc.Subscribe(t)
	aud := svc.Server.URL
	now := time.Now()
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"aud": aud, "exp": now.Add(time.Hour).Unix(), "sub": "mailto:ops@example.com"}
	}
	otherKey := vapidHeader(t, good())
	_, mine, _ := strings.Cut(vapidHeader(t, good()), ", k=")
	for name, h := range map[string]string{
		"exp in 25h":     vapidHeader(t, jwt.MapClaims{"aud": aud, "exp": now.Add(25 * time.Hour).Unix(), "sub": "mailto:ops@example.com"}),
		"expired":        vapidHeader(t, jwt.MapClaims{"aud": aud, "exp": now.Add(-time.Minute).Unix(), "sub": "mailto:ops@example.com"}),
		"no exp":         vapidHeader(t, jwt.MapClaims{"aud": aud, "sub": "mailto:ops@example.com"}),
		"other audience": vapidHeader(t, jwt.MapClaims{"aud": "https://push.example.net", "exp": now.Add(time.Hour).Unix(), "sub": "mailto:ops@example.com"}),
		"bare address":   vapidHeader(t, jwt.MapClaims{"aud": aud, "exp": now.Add(time.Hour).Unix(), "sub": "ops@example.com"}),
		"k of another":   strings.Split(otherKey, ", k=")[0] + ", k=" + mine,
		"not vapid":      "Bearer x",
	} {
		req, _ := http.NewRequest("POST", sub.Endpoint, bytes.NewReader([]byte("x")))
		req.Header.Set("TTL", "60")
		req.Header.Set("Content-Encoding", "aes128gcm")
		req.Header.Set("Authorization", h)
		resp, err := svc.Server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	if len(svc.Messages()) != 0 || len(svc.Rejected()) != 7 {
		t.Fatalf("accepted %d, rejected %v", len(svc.Messages()), svc.Rejected())
	}
}
