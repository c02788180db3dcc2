// Package tenants is the foundation's tenants and their API keys: creating
// a tenant, creating, listing and revoking its keys, their routes under
// /v1/tenants, and their dashboard pages (the tenant list and the tenant
// page, which hosts every section's links and panels).
//
// The tables are the kit's (every system's rows belong to a tenant, and
// the HTTP kit resolves tenants and authenticates keys), so reading a
// tenant or a key by its hash stays in the kit (package store, core);
// what an actor does to tenants and keys is here, with its checks, its
// validation and its audit entries.
package tenants

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// Service creates tenants and manages their keys.
type Service struct {
	db   *store.DB
	core *core.Service
	log  *slog.Logger
	now  func() time.Time
}

// New returns the tenants service.
func New(d core.Deps, c *core.Service) *Service {
	d = d.For("tenants")
	return &Service{db: d.DB, core: c, log: d.Log, now: d.Now}
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Input creates a tenant.
type Input struct {
	Slug string
	Name string
}

// Create creates a tenant. Only actors reaching all tenants may.
func (s *Service) Create(ctx context.Context, a auth.Actor, in Input) (store.Tenant, error) {
	if err := core.Need(a, auth.PermTenantsManage); err != nil {
		return store.Tenant{}, err
	}
	if !a.AllTenants {
		return store.Tenant{}, core.Forbidden("only an actor that reaches all tenants may create tenants")
	}
	in.Name = strings.TrimSpace(in.Name)
	if !slugRE.MatchString(in.Slug) {
		return store.Tenant{}, core.Invalid("invalid_slug", "slug %q must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit", in.Slug)
	}
	if in.Name == "" {
		in.Name = in.Slug
	}
	if utf8.RuneCountInString(in.Name) > 200 {
		return store.Tenant{}, core.Invalid("invalid_name", "name is %d characters long; the limit is 200", utf8.RuneCountInString(in.Name))
	}
	now := s.now()
	t := store.Tenant{ID: store.NewID(store.PrefixTenant), Slug: in.Slug, Name: in.Name, CreatedAt: now, UpdatedAt: now}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.TenantInsert(ctx, t); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, t.ID, "tenant.create", "tenant", t.ID, map[string]any{"after": map[string]string{"slug": t.Slug}})
	})
	if errors.Is(err, store.ErrConflict) {
		e := &core.Error{Kind: core.ErrConflict, Code: "slug_taken", Message: fmt.Sprintf("a tenant with slug %q already exists; pick another slug", in.Slug)}
		_ = s.db.Read(ctx, func(tx *store.Tx) error {
			ex, err := tx.TenantGet(ctx, in.Slug)
			e.ExistingID = ex.ID
			return err
		})
		return store.Tenant{}, e
	}
	return t, err
}
