package core

import (
	"context"
	"errors"
	"sync"
	"time"

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
