package tenants

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// KeyCreate creates a tenant API key and returns it with its plaintext,
// which is shown only here.
func (s *Service) KeyCreate(ctx context.Context, a auth.Actor, tenantID, name string) (store.APIKey, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return store.APIKey{}, "", err
	}
	if tenantID == store.InstanceTenantID {
		return store.APIKey{}, "", core.Invalid("instance_has_no_keys", "the instance has no API keys: act on it with the root key and no Joist-Tenant")
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 100 {
		return store.APIKey{}, "", core.Invalid("invalid_name", "key name is %d characters long; the limit is 100", utf8.RuneCountInString(name))
	}
	plain, prefix, hash := auth.NewAPIKey()
	k := store.APIKey{ID: store.NewID(store.PrefixKey), TenantID: tenantID, Name: name, Prefix: prefix, Hash: hash,
		CreatedBy: string(a.Type) + ":" + a.ID, CreatedAt: s.now()}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := keyInsert(ctx, tx.Tenant(tenantID), k); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "key.create", "api_key", k.ID, map[string]any{"after": map[string]string{"prefix": prefix}})
	})
	return k, plain, err
}

// KeyRevoke revokes a tenant key.
func (s *Service) KeyRevoke(ctx context.Context, a auth.Actor, tenantID, keyID string) (store.APIKey, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return store.APIKey{}, err
	}
	var k store.APIKey
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		before, err := keyGet(ctx, sc, keyID)
		if err != nil {
			return err
		}
		if before.RevokedAt != nil {
			k = before // already revoked: nothing changes, nothing to audit
			return nil
		}
		if err := keyRevoke(ctx, sc, keyID, s.now()); err != nil {
			return err
		}
		if k, err = keyGet(ctx, sc, keyID); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "key.revoke", "api_key", keyID,
			map[string]any{"before": map[string]any{"revoked": before.RevokedAt != nil}, "after": map[string]any{"revoked": true}})
	})
	if errors.Is(err, store.ErrNotFound) {
		return k, core.NotFound("key %q not found", keyID)
	}
	return k, err
}

// KeyList lists a tenant's keys.
func (s *Service) KeyList(ctx context.Context, a auth.Actor, tenantID string, p store.Page) ([]store.APIKey, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	var out []store.APIKey
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = keyList(ctx, tx.Tenant(tenantID), p)
		return err
	})
	return out, next, err
}
