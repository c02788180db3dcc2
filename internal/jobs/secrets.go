package jobs

import (
	"context"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/signing"
	"github.com/joist-dev/joist/internal/store"
)

// Secret is a tenant's signing secret in clear, for the tenant to read.
type Secret struct {
	ID        string
	Secret    string
	CreatedAt time.Time
	ExpiresAt *time.Time
}

// liveSecrets returns the tenant's unexpired secrets (newest first),
// creating the first one when there is none.
// They are cached for secretCacheTTL: a rotation on this node clears the
// cache, and other nodes pick the new secret up within the TTL (the old one
// stays valid during a rotation, so nothing is refused meanwhile).
func (s *Service) liveSecrets(ctx context.Context, tenantID string) ([]string, error) {
	now := s.now()
	s.secretMu.Lock()
	c, ok := s.secretCache[tenantID]
	s.secretMu.Unlock()
	if ok && now.Before(c.until) {
		return c.secrets, nil
	}
	list, err := s.secrets(ctx, tenantID, true)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = x.Secret
	}
	s.secretMu.Lock()
	if len(s.secretCache) > 10000 {
		clear(s.secretCache)
	}
	s.secretCache[tenantID] = cachedSecrets{secrets: out, until: now.Add(secretCacheTTL)}
	s.secretMu.Unlock()
	return out, nil
}

// secretCacheTTL bounds how long a node signs with secrets it read earlier.
const secretCacheTTL = time.Second

func (s *Service) secrets(ctx context.Context, tenantID string, create bool) ([]Secret, error) {
	var rows []signingSecret
	read := func(tx *store.Tx) error {
		var err error
		rows, err = signingSecretsLive(ctx, tx, tenantID, s.now())
		return err
	}
	if err := s.db.Read(ctx, read); err != nil {
		return nil, err
	}
	if len(rows) == 0 && create {
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			if err := read(tx); err != nil || len(rows) > 0 {
				return err
			}
			now := s.now()
			sec := signingSecret{ID: store.NewID("whs_"), TenantID: tenantID, SecretEnc: s.box.Seal([]byte(signing.NewSecret())), CreatedAt: now}
			if err := signingSecretRotate(ctx, tx, sec, now, now); err != nil {
				return err
			}
			rows = []signingSecret{sec}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]Secret, 0, len(rows))
	for _, r := range rows {
		plain, err := s.box.Open(r.SecretEnc)
		if err != nil {
			return nil, err
		}
		out = append(out, Secret{ID: r.ID, Secret: string(plain), CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt})
	}
	return out, nil
}

// SigningSecrets returns the tenant's live signing secrets, the current one
// first (creating it on first use).
func (s *Service) SigningSecrets(ctx context.Context, a auth.Actor, tenantID string) ([]Secret, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return nil, err
	}
	return s.secrets(ctx, tenantID, true)
}

// RotateSecret makes a new current secret; the previous ones stay valid,
// and are sent as second signatures, for expireOldIn (0 expires them now).
func (s *Service) RotateSecret(ctx context.Context, a auth.Actor, tenantID string, expireOldIn time.Duration) ([]Secret, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermKeysManage); err != nil {
		return nil, err
	}
	if expireOldIn < 0 || expireOldIn > 30*24*time.Hour {
		return nil, core.Invalid("invalid_expiry", "expire_old_in must be from 0s to 720h")
	}
	now := s.now()
	sec := signingSecret{ID: store.NewID("whs_"), TenantID: tenantID, SecretEnc: s.box.Seal([]byte(signing.NewSecret())), CreatedAt: now}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := signingSecretRotate(ctx, tx, sec, now, now.Add(expireOldIn)); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "signing_secret.rotate", "signing_secret", sec.ID,
			map[string]any{"after": map[string]string{"old_expire_in": expireOldIn.String()}})
	})
	if err != nil {
		return nil, err
	}
	s.secretMu.Lock()
	delete(s.secretCache, tenantID)
	s.secretMu.Unlock()
	return s.secrets(ctx, tenantID, false)
}
