package notify_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/wire"
)

// sign makes a JWT as an app would with the feed secret.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestContactTokens: minted and self-signed tokens open the feed; an
// API key, an expired, forged, alg-none, over-long, other tenant's or
// unknown contact's token is a 401 with its code, and stores nothing;
// the ttl is bounded.
func TestContactTokens(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a, b := newFx(t, env, "clinic-a"), newFx(t, env, "clinic-b")
		a.contact(t, "alice")
		b.contact(t, "bob")

		tok := a.token(t, "alice")
		a.want(t, http.StatusOK, "GET", "/v1/feed", tok, nil)
		var minted wire.ContactToken
		a.want(t, http.StatusCreated, "POST", "/v1/contacts/alice/tokens", "key", nil).json(t, &minted)
		if d := time.Until(minted.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
			t.Fatalf("default ttl: expires in %s", d)
		}
		for _, ttl := range []string{"25h", "-1h", "soon", "0s"} {
			r := a.want(t, http.StatusBadRequest, "POST", "/v1/contacts/alice/tokens", "key", map[string]string{"ttl": ttl})
			if r.code(t) != "invalid_ttl" {
				t.Fatalf("ttl %s: %s", ttl, r.body)
			}
		}
		a.want(t, http.StatusNotFound, "POST", "/v1/contacts/nobody/tokens", "key", nil)
		// The tenant's key cannot mint for another tenant's contact.
		a.want(t, http.StatusNotFound, "POST", "/v1/contacts/bob/tokens", "key", nil)

		var sec wire.FeedSecret
		a.want(t, http.StatusOK, "GET", "/v1/feed-secret", "key", nil).json(t, &sec)
		if !strings.HasPrefix(sec.Kid, "fks_") || len(sec.Secret) < 32 {
			t.Fatalf("feed secret %+v", sec)
		}
		var secB wire.FeedSecret
		b.want(t, http.StatusOK, "GET", "/v1/feed-secret", "key", nil).json(t, &secB)
		now := time.Now()
		good := jwt.MapClaims{"sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		self := sign(t, jwt.SigningMethodHS256, []byte(sec.Secret), sec.Kid, good)
		a.want(t, http.StatusOK, "GET", "/v1/feed/counts", self, nil)

		before := env.Snapshot(t)
		bad := map[string]struct{ token, code string }{
			"api key":   {env.RootKey, "contact_token_required"},
			"none":      {"", "contact_token_required"},
			"malformed": {"a.b.c", "token_invalid"},
			"expired": {sign(t, jwt.SigningMethodHS256, []byte(sec.Secret), sec.Kid,
				jwt.MapClaims{"sub": "alice", "exp": now.Add(-time.Minute).Unix()}), "token_expired"},
			"forged":   {sign(t, jwt.SigningMethodHS256, []byte("not the secret at all, just guessing"), sec.Kid, good), "token_invalid"},
			"alg none": {sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, sec.Kid, good), "token_invalid"},
			"HS512":    {sign(t, jwt.SigningMethodHS512, []byte(sec.Secret), sec.Kid, good), "token_invalid"},
			"no kid":   {sign(t, jwt.SigningMethodHS256, []byte(sec.Secret), "", good), "token_invalid"},
			"no exp":   {sign(t, jwt.SigningMethodHS256, []byte(sec.Secret), sec.Kid, jwt.MapClaims{"sub": "alice"}), "token_invalid"},
			"48h": {sign(t, jwt.SigningMethodHS256, []byte(sec.Secret), sec.Kid,
				jwt.MapClaims{"sub": "alice", "exp": now.Add(48 * time.Hour).Unix()}), "token_invalid"},
			"unknown contact": {sign(t, jwt.SigningMethodHS256, []byte(sec.Secret), sec.Kid,
				jwt.MapClaims{"sub": "nobody", "exp": now.Add(time.Hour).Unix()}), "token_contact_unknown"},
			// B's kid names B: A's contact is no contact of B.
			"other tenant's kid": {sign(t, jwt.SigningMethodHS256, []byte(secB.Secret), secB.Kid, good), "token_contact_unknown"},
			// A's secret under B's kid: the signature does not verify.
			"kid of another tenant's secret": {sign(t, jwt.SigningMethodHS256, []byte(sec.Secret), secB.Kid,
				jwt.MapClaims{"sub": "bob", "exp": now.Add(time.Hour).Unix()}), "token_invalid"},
		}
		for name, c := range bad {
			for _, path := range []string{"/v1/feed", "/v1/feed/counts"} {
				r := a.do(t, "GET", path, "", nil, "Authorization", "Bearer "+c.token)
				if c.token == "" {
					r = a.do(t, "GET", path, "", nil)
				}
				if r.status != http.StatusUnauthorized || r.code(t) != c.code {
					t.Errorf("%s on %s: %d %s, want 401 %s", name, path, r.status, r.body, c.code)
				}
				if c.token != "" && strings.Contains(string(r.body), c.token) {
					t.Errorf("%s: the answer quotes the token", name)
				}
			}
			r := a.do(t, "POST", "/v1/feed/read-all", c.token, nil)
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s read-all: %d", name, r.status)
			}
		}
		// The token in the query is for the stream alone.
		if r := a.do(t, "GET", "/v1/feed?token="+tok, "", nil); r.status != http.StatusUnauthorized {
			t.Errorf("?token= on /v1/feed: %d", r.status)
		}
		storetest.Unchanged(t, before, env.Snapshot(t))
	})
}
