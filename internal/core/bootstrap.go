package core

import (
	"context"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// BootstrapInput is what the configuration says about the first credentials.
type BootstrapInput struct {
	RootKeyConfigured bool
	OwnerEmail        string
	OwnerPassword     string
}

// BootstrapResult holds credentials generated on first start, to print once.
type BootstrapResult struct {
	RootKey       string // generated root key, or empty
	OwnerEmail    string // owner created now, or empty
	OwnerPassword string // generated owner password, or empty when configured
}

// Bootstrap makes sure the instance can be reached: a root key exists (unless
// JOIST_ROOT_KEY is set) and an owner operator exists. Run it on every start:
// it does nothing once both exist. Several nodes may run it at once.
func (s *Service) Bootstrap(ctx context.Context, in BootstrapInput) (BootstrapResult, error) {
	var res BootstrapResult
	a := auth.Actor{Type: auth.ActorSystem, ID: "bootstrap", AllTenants: true}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if tx.Dialect() == store.Postgres {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(7206117002)"); err != nil {
				return err
			}
		}
		if !in.RootKeyConfigured {
			n, err := tx.RootKeyCount(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.SettingGet(ctx, "root_key_generated"); n == 0 && err != nil {
				plain, prefix, hash := auth.NewAPIKey()
				k := store.APIKey{ID: store.NewID(store.PrefixKey), Name: "root (generated on first start)", Prefix: prefix, Hash: hash,
					CreatedBy: "bootstrap", CreatedAt: s.now()}
				if err := tx.RootKeyInsert(ctx, k); err != nil {
					return err
				}
				if err := tx.SettingSet(ctx, "root_key_generated", k.ID); err != nil {
					return err
				}
				if err := s.audit(ctx, tx, a, "", "key.create", "api_key", k.ID, map[string]any{"after": map[string]string{"prefix": prefix, "kind": "root"}}); err != nil {
					return err
				}
				res.RootKey = plain
			}
		}
		n, err := tx.OperatorCount(ctx)
		if err != nil || n > 0 {
			return err
		}
		email, pw := in.OwnerEmail, in.OwnerPassword
		if email == "" {
			email, pw = "owner@joist.local", auth.RandomToken(12)
			res.OwnerPassword = pw
		}
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return invalid("weak_password", "JOIST_OWNER_PASSWORD: %v", err)
		}
		now := s.now()
		o := store.Operator{ID: store.NewID(store.PrefixOperator), Email: email, Name: "Owner", Role: string(auth.RoleOwner),
			AllTenants: true, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
		if err := tx.OperatorInsert(ctx, o); err != nil {
			return err
		}
		res.OwnerEmail = o.Email
		return s.audit(ctx, tx, a, "", "operator.create", "operator", o.ID, map[string]any{"after": OperatorSummary(o)})
	})
	return res, err
}
