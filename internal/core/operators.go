package core

import (
	"context"
	"errors"
	"slices"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// OperatorSummary is what an audit entry records of an operator's access.
func OperatorSummary(o store.Operator) map[string]any {
	return map[string]any{"role": o.Role, "all_tenants": o.AllTenants, "tenants": o.TenantIDs, "disabled": o.DisabledAt != nil}
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// OperatorList lists operators. An actor reaching only some tenants sees the
// operators whose reach lies within theirs.
func (s *Service) OperatorList(ctx context.Context, a auth.Actor) ([]store.Operator, error) {
	if err := need(a, auth.PermRead); err != nil {
		return nil, err
	}
	var ops []store.Operator
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		ops, err = tx.OperatorList(ctx)
		return err
	})
	if err != nil || a.AllTenants {
		return ops, err
	}
	out := []store.Operator{}
	for _, o := range ops {
		if !o.AllTenants && subset(o.TenantIDs, a.TenantIDs) {
			out = append(out, o)
		}
	}
	return out, nil
}

// OperatorAcceptInvite sets the password of an invited operator.
func (s *Service) OperatorAcceptInvite(ctx context.Context, token, password string) (store.Operator, error) {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return store.Operator{}, invalid("weak_password", "%v", err)
	}
	var o store.Operator
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		id, err := tx.InviteUse(ctx, auth.HashToken(token), s.now())
		if err != nil {
			return err
		}
		if err := tx.OperatorSetPassword(ctx, id, hash, s.now()); err != nil {
			return err
		}
		if o, err = tx.OperatorGet(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, auth.Actor{Type: auth.ActorOperator, ID: id, Role: auth.Role(o.Role)}, "", "operator.accept_invite", "operator", id, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return o, notFound("this invite link is invalid, used or expired; ask an admin for a new one")
	}
	return o, err
}

// InviteValid reports whether an invite token can still be used.
func (s *Service) InviteValid(ctx context.Context, token string) bool {
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		_, err := tx.InviteValid(ctx, auth.HashToken(token), s.now())
		return err
	})
	return err == nil
}
