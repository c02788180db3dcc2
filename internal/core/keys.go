package core

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// Authentication errors (all 401 at the edge).
var (
	ErrNoKey      = &Error{Kind: ErrUnauthorized, Code: "missing_key", Message: "send an API key as 'Authorization: Bearer jk_...'"}
	ErrBadKey     = &Error{Kind: ErrUnauthorized, Code: "invalid_key", Message: "the API key is not valid: check it was copied whole (keys are shown once, when created)"}
	ErrRevokedKey = &Error{Kind: ErrUnauthorized, Code: "revoked_key", Message: "the API key was revoked; create a new one with POST /v1/tenants/{tenant}/keys"}
)

// ErrUnauthorized is the kind of authentication failures.
var ErrUnauthorized = errors.New("unauthorized")

// touchCache remembers when each key's last_used_at was last written, so
// that it is written at most once a minute per key and node.
type touchCache struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func newTouchCache() *touchCache { return &touchCache{last: map[string]time.Time{}} }

func (c *touchCache) due(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.last[id]; ok && now.Sub(t) < time.Minute {
		return false
	}
	if len(c.last) > 100_000 {
		clear(c.last)
	}
	c.last[id] = now
	return true
}

// Authenticate turns a bearer token into an actor. rootKeyHash is the hash
// of JOIST_ROOT_KEY, or empty.
func (s *Service) Authenticate(ctx context.Context, bearer, rootKeyHash string) (auth.Actor, error) {
	if bearer == "" {
		return auth.Actor{}, ErrNoKey
	}
	h := auth.HashToken(bearer)
	if rootKeyHash != "" && auth.EqualHash(h, rootKeyHash) {
		return auth.Actor{Type: auth.ActorRoot, ID: "root:config", AllTenants: true, Role: auth.RoleOwner}, nil
	}
	var k store.APIKey
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		k, err = tx.APIKeyByHash(ctx, h)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return auth.Actor{}, ErrBadKey
	}
	if err != nil {
		return auth.Actor{}, err
	}
	if k.RevokedAt != nil {
		return auth.Actor{}, ErrRevokedKey
	}
	now := s.now()
	if s.touch.due(k.ID, now) {
		if err := s.db.Write(ctx, func(tx *store.Tx) error { return tx.APIKeyTouch(ctx, k.ID, now, time.Minute) }); err != nil {
			s.log.Warn("could not record key use", "key", k.ID, "err", err)
		}
	}
	if k.TenantID == "" {
		return auth.Actor{Type: auth.ActorRoot, ID: k.ID, AllTenants: true, Role: auth.RoleOwner}, nil
	}
	return auth.Actor{Type: auth.ActorKey, ID: k.ID, TenantIDs: []string{k.TenantID}}, nil
}

// KeyCreate creates a tenant API key and returns it with its plaintext,
// which is shown only here.
func (s *Service) KeyCreate(ctx context.Context, a auth.Actor, tenantID, name string) (store.APIKey, string, error) {
	if err := s.tenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return store.APIKey{}, "", err
	}
	if tenantID == store.InstanceTenantID {
		return store.APIKey{}, "", invalid("instance_has_no_keys", "the instance has no API keys: act on it with the root key and no Joist-Tenant")
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 100 {
		return store.APIKey{}, "", invalid("invalid_name", "key name is %d characters long; the limit is 100", utf8.RuneCountInString(name))
	}
	plain, prefix, hash := auth.NewAPIKey()
	if name == "" {
		// A key always has a name people can tell apart in lists and the audit log.
		name = "unnamed key " + prefix
	}
	k := store.APIKey{ID: store.NewID(store.PrefixKey), TenantID: tenantID, Name: name, Prefix: prefix, Hash: hash,
		CreatedBy: string(a.Type) + ":" + a.ID, CreatedAt: s.now()}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.Tenant(tenantID).APIKeyInsert(ctx, k); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, tenantID, "key.create", "api_key", k.ID, map[string]any{"after": map[string]string{"name": name, "prefix": prefix}})
	})
	return k, plain, err
}

// KeyRevoke revokes a tenant key.
func (s *Service) KeyRevoke(ctx context.Context, a auth.Actor, tenantID, keyID string) (store.APIKey, error) {
	if err := s.tenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return store.APIKey{}, err
	}
	var k store.APIKey
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		before, err := sc.APIKeyGet(ctx, keyID)
		if err != nil {
			return err
		}
		if before.RevokedAt != nil {
			k = before // already revoked: nothing changes, nothing to audit
			return nil
		}
		if err := sc.APIKeyRevoke(ctx, keyID, s.now()); err != nil {
			return err
		}
		if k, err = sc.APIKeyGet(ctx, keyID); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, tenantID, "key.revoke", "api_key", keyID,
			map[string]any{"before": map[string]any{"revoked": before.RevokedAt != nil}, "after": map[string]any{"revoked": true}})
	})
	if errors.Is(err, store.ErrNotFound) {
		return k, notFound("key %q not found", keyID)
	}
	return k, err
}

// KeyList lists a tenant's keys.
func (s *Service) KeyList(ctx context.Context, a auth.Actor, tenantID string, p store.Page) ([]store.APIKey, string, error) {
	if err := s.tenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	var out []store.APIKey
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.Tenant(tenantID).APIKeyList(ctx, p)
		return err
	})
	return out, next, err
}
