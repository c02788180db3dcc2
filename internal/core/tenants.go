package core

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// TenantInput creates a tenant.
type TenantInput struct {
	Slug string
	Name string
}

// TenantCreate creates a tenant. Only actors reaching all tenants may.
func (s *Service) TenantCreate(ctx context.Context, a auth.Actor, in TenantInput) (store.Tenant, error) {
	if err := need(a, auth.PermTenantsManage); err != nil {
		return store.Tenant{}, err
	}
	if !a.AllTenants {
		return store.Tenant{}, forbidden("only an actor that reaches all tenants may create tenants")
	}
	in.Name = strings.TrimSpace(in.Name)
	if !slugRE.MatchString(in.Slug) {
		return store.Tenant{}, invalid("invalid_slug", "slug %q must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit", in.Slug)
	}
	if in.Name == "" {
		in.Name = in.Slug
	}
	if utf8.RuneCountInString(in.Name) > 200 {
		return store.Tenant{}, invalid("invalid_name", "name is %d characters long; the limit is 200", utf8.RuneCountInString(in.Name))
	}
	now := s.now()
	t := store.Tenant{ID: store.NewID(store.PrefixTenant), Slug: in.Slug, Name: in.Name, CreatedAt: now, UpdatedAt: now}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.TenantInsert(ctx, t); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, t.ID, "tenant.create", "tenant", t.ID, map[string]any{"after": map[string]string{"slug": t.Slug}})
	})
	if errors.Is(err, store.ErrConflict) {
		e := &Error{Kind: ErrConflict, Code: "slug_taken", Message: fmt.Sprintf("a tenant with slug %q already exists; pick another slug", in.Slug)}
		_ = s.db.Read(ctx, func(tx *store.Tx) error {
			ex, err := tx.TenantGet(ctx, in.Slug)
			e.ExistingID = ex.ID
			return err
		})
		return store.Tenant{}, e
	}
	return t, err
}

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
