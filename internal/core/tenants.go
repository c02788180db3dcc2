package core

import (
	"context"
	"errors"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// TenantGet finds a tenant by id or slug within the actor's reach. A tenant
// outside the reach is reported as not found, exactly like a missing one.
func (s *Service) TenantGet(ctx context.Context, a auth.Actor, idOrSlug string) (store.Tenant, error) {
	var t store.Tenant
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		t, err = tx.TenantGet(ctx, idOrSlug)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && !a.SeesTenant(t.ID)) {
		return store.Tenant{}, notFound("tenant %q not found", idOrSlug)
	}
	return t, err
}

// TenantList lists the tenants within the actor's reach.
func (s *Service) TenantList(ctx context.Context, a auth.Actor, p store.Page) ([]store.Tenant, string, error) {
	var out []store.Tenant
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.TenantList(ctx, p, a.TenantFilter())
		return err
	})
	return out, next, err
}
