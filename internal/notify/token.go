package notify

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
)

// MaxTokenTTL is the longest a contact token may live, whoever signs it.
const MaxTokenTTL = 24 * time.Hour

// DefaultTokenTTL is a minted contact token's lifetime when none is asked.
const DefaultTokenTTL = time.Hour

// tokenSkew is the clock difference between the app signing a token and
// joist that verification tolerates on exp's upper bound.
const tokenSkew = time.Minute

// feedSecretPrefix starts a feed secret's id (its kid).
const feedSecretPrefix = "fks_"

// FeedSecret is one of a tenant's feed secrets, in clear.
type FeedSecret struct {
	Kid       string
	TenantID  string
	Secret    string
	CreatedAt time.Time
	ExpiresAt *time.Time // nil for the current secret
}

type cachedFeedSecret struct {
	sec   FeedSecret
	until time.Time
}

// secretCacheTTL bounds how long a node verifies with a secret it read
// earlier: a rotation's new secret is found in the database at once (a
// miss), an expired one is refused by its expiry whatever the cache.
const secretCacheTTL = 5 * time.Second

// FeedSecrets returns the tenant's live feed secrets, the current one
// first, creating the first on first use.
func (f *Feed) FeedSecrets(ctx context.Context, a auth.Actor, tenantID string) ([]FeedSecret, error) {
	if err := f.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return nil, err
	}
	return f.liveSecrets(ctx, tenantID, true)
}

// RotateFeedSecret makes a new current secret; the previous ones keep
// verifying for FeedOptions.RotationGrace (24h by default).
func (f *Feed) RotateFeedSecret(ctx context.Context, a auth.Actor, tenantID string) ([]FeedSecret, error) {
	if err := f.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return nil, err
	}
	now := f.now()
	id := store.NewID(feedSecretPrefix)
	err := f.db.Write(ctx, func(tx *store.Tx) error {
		if err := f.insertSecret(ctx, tx, tenantID, id, now, now.Add(f.opts.RotationGrace)); err != nil {
			return err
		}
		return f.core.Audit(ctx, tx, a, tenantID, "feed_secret.rotate", "feed_secret", id,
			map[string]any{"after": map[string]string{"old_expire_in": f.opts.RotationGrace.String()}})
	})
	if err != nil {
		return nil, err
	}
	return f.liveSecrets(ctx, tenantID, false)
}

// insertSecret adds a new current secret and makes the tenant's other
// live secrets expire at oldExpiresAt.
func (f *Feed) insertSecret(ctx context.Context, tx *store.Tx, tenantID, id string, now, oldExpiresAt time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE feed_secrets SET expires_at = ? WHERE tenant_id = ? AND (expires_at IS NULL OR expires_at > ?)`,
		oldExpiresAt, tenantID, oldExpiresAt); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO feed_secrets (id, tenant_id, secret_enc, created_at, expires_at) VALUES (?, ?, ?, ?, NULL)`,
		id, tenantID, f.opts.Box.Seal([]byte("fsk_"+auth.RandomToken(32))), now)
	return err
}

func (f *Feed) liveSecrets(ctx context.Context, tenantID string, create bool) ([]FeedSecret, error) {
	var out []FeedSecret
	read := func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, tenant_id, secret_enc, created_at, expires_at FROM feed_secrets
			WHERE tenant_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, id DESC`, tenantID, f.now())
		out, err = store.Collect(rows, err, f.scanSecret)
		return err
	}
	if err := f.db.Read(ctx, read); err != nil {
		return nil, err
	}
	if len(out) == 0 && create {
		err := f.db.Write(ctx, func(tx *store.Tx) error {
			// Two first mints at once on PostgreSQL would each find no
			// secret and insert one, the second expiring the first (and
			// the tokens signed with it): the tenant's row lock makes the
			// second wait and find the first's. SQLite's one writer
			// already orders them.
			if tx.Dialect() == store.Postgres {
				if _, err := tx.Exec(ctx, `SELECT id FROM tenants WHERE id = ? FOR UPDATE`, tenantID); err != nil {
					return err
				}
			}
			if err := read(tx); err != nil || len(out) > 0 {
				return err
			}
			now := f.now()
			if err := f.insertSecret(ctx, tx, tenantID, store.NewID(feedSecretPrefix), now, now); err != nil {
				return err
			}
			return read(tx)
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (f *Feed) scanSecret(r store.Rows) (FeedSecret, error) {
	var s FeedSecret
	var enc string
	if err := r.Scan(&s.Kid, &s.TenantID, &enc, &s.CreatedAt, &s.ExpiresAt); err != nil {
		return s, err
	}
	plain, err := f.opts.Box.Open(enc)
	if err != nil {
		return s, err
	}
	s.Secret = string(plain)
	return s, nil
}

// secretByKid finds a live secret by its kid (any tenant's: the kid names
// the tenant).
func (f *Feed) secretByKid(ctx context.Context, kid string) (FeedSecret, error) {
	now := f.now()
	f.secretMu.Lock()
	c, ok := f.secretCache[kid]
	f.secretMu.Unlock()
	if !ok || !now.Before(c.until) {
		var secs []FeedSecret
		err := f.db.Read(ctx, func(tx *store.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id, tenant_id, secret_enc, created_at, expires_at FROM feed_secrets WHERE id = ?`, kid)
			secs, err = store.Collect(rows, err, f.scanSecret)
			return err
		})
		if err != nil {
			return FeedSecret{}, err
		}
		if len(secs) == 0 {
			return FeedSecret{}, store.ErrNotFound
		}
		c = cachedFeedSecret{sec: secs[0], until: now.Add(secretCacheTTL)}
		f.secretMu.Lock()
		if len(f.secretCache) > 10000 {
			clear(f.secretCache)
		}
		f.secretCache[kid] = c
		f.secretMu.Unlock()
	}
	if c.sec.ExpiresAt != nil && !now.Before(*c.sec.ExpiresAt) {
		return FeedSecret{}, store.ErrNotFound
	}
	return c.sec, nil
}

// MintToken signs a contact token for the contact with external id
// externalID, valid for ttl (0: DefaultTokenTTL; at most MaxTokenTTL).
func (f *Feed) MintToken(ctx context.Context, a auth.Actor, tenantID, externalID string, ttl time.Duration) (string, time.Time, error) {
	if err := f.core.TenantAccess(a, tenantID, auth.PermContactsWrite); err != nil {
		return "", time.Time{}, err
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Second || ttl > MaxTokenTTL {
		return "", time.Time{}, fieldErr("ttl", "invalid_ttl", "ttl must be from 1s to 24h (a Go duration such as \"1h\")")
	}
	if _, err := f.core.ContactGet(ctx, a, tenantID, externalID); err != nil {
		return "", time.Time{}, err
	}
	secs, err := f.liveSecrets(ctx, tenantID, true)
	if err != nil {
		return "", time.Time{}, err
	}
	now := f.now()
	exp := now.Add(ttl).Truncate(time.Second)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: externalID,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp)})
	tok.Header["kid"] = secs[0].Kid
	s, err := tok.SignedString([]byte(secs[0].Secret))
	if err != nil {
		return "", time.Time{}, err
	}
	err = f.db.Write(ctx, func(tx *store.Tx) error {
		return f.core.Audit(ctx, tx, a, tenantID, "contact_token.create", "contact", externalID,
			map[string]any{"after": map[string]string{"ttl": ttl.String(), "kid": secs[0].Kid}})
	})
	return s, exp, err
}

func fieldErr(field, code, msg string) error {
	return &core.Error{Kind: core.ErrInvalid, Code: code, Field: field, Message: msg}
}

// unauthorized is the 401 of a feed route. The message never quotes the
// token.
func unauthorized(code, msg string) *httpapi.Problem {
	return httpapi.NewProblem(http.StatusUnauthorized, code, msg)
}

// Contact authenticates an end user's request by its contact token (the
// Authorization: Bearer header, or ?token= on the stream alone) and
// returns the token's tenant and joist's id of its contact (ct_...). Its
// errors are 401 problems with a stable code: contact_token_required (no
// token, or an API key), token_expired, token_invalid (malformed, forged,
// another algorithm, an unknown or expired kid, exp missing or more than
// 24h ahead), token_contact_unknown.
func (f *Feed) Contact(r *http.Request) (tenantID, contactID string, err error) {
	p, err := f.principal(r)
	return p.tenantID, p.contactID, err
}

// principal is an authenticated contact token: its tenant, contact and
// expiry (a stream ends then).
type principal struct {
	tenantID, contactID string
	expires             time.Time
}

func (f *Feed) principal(r *http.Request) (principal, error) {
	raw := ""
	if h := r.Header.Get("Authorization"); h != "" {
		const p = "Bearer "
		if len(h) < len(p) || !strings.EqualFold(h[:len(p)], p) {
			return principal{}, unauthorized("contact_token_required", "the Authorization header must be 'Bearer <contact token>'")
		}
		raw = strings.TrimSpace(h[len(p):])
	} else if r.URL.Path == streamPath {
		raw = r.URL.Query().Get("token")
	}
	if raw == "" || strings.Count(raw, ".") != 2 {
		return principal{}, unauthorized("contact_token_required",
			"the feed takes a contact token (POST /v1/contacts/{contact}/tokens, or a JWT signed with the feed secret), never an API key")
	}
	return f.verify(r.Context(), raw)
}

// verify checks a contact token: HS256 only, a kid naming a live feed
// secret (which names the tenant), exp required and at most 24h ahead
// (of now and of iat), sub an existing contact of that tenant.
func (f *Feed) verify(ctx context.Context, raw string) (p principal, err error) {
	var sec FeedSecret
	var lookupErr error
	claims := &jwt.RegisteredClaims{}
	_, err = jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" || !strings.HasPrefix(kid, feedSecretPrefix) || !store.ValidText(kid) || len(kid) > 100 {
			return nil, errors.New("no kid")
		}
		sec, lookupErr = f.secretByKid(ctx, kid)
		if lookupErr != nil {
			return nil, lookupErr
		}
		return []byte(sec.Secret), nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(f.now))
	if lookupErr != nil && !errors.Is(lookupErr, store.ErrNotFound) {
		return p, lookupErr // the database failed: a 500, not the token's fault
	}
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return p, unauthorized("token_expired", "the contact token has expired: get a fresh one from the app")
	case err != nil:
		return p, unauthorized("token_invalid", "the contact token is not valid: it must be a JWT signed HS256 with a live feed secret of the tenant, its kid in the header")
	}
	now := f.now()
	if claims.ExpiresAt.Sub(now) > MaxTokenTTL+tokenSkew ||
		(claims.IssuedAt != nil && claims.ExpiresAt.Sub(claims.IssuedAt.Time) > MaxTokenTTL) {
		return p, unauthorized("token_invalid", "the contact token lives more than 24h: exp must be at most 24h ahead")
	}
	if claims.Subject == "" || !store.ValidText(claims.Subject) || core.ValidateExternalID(claims.Subject) != nil {
		return p, unauthorized("token_invalid", "the contact token's sub must be a contact's id")
	}
	err = f.db.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.Tenant(sec.TenantID).ContactGet(ctx, claims.Subject)
		p.contactID = c.ID
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return p, unauthorized("token_contact_unknown", "the contact token's sub names no contact of its tenant")
	}
	if err != nil {
		return p, err
	}
	p.tenantID, p.expires = sec.TenantID, claims.ExpiresAt.Time
	return p, nil
}
