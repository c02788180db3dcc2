package core

import (
	"context"
	"errors"
	"sync"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

// TenantGet finds a tenant by id or slug within the actor's reach. A tenant
// outside the reach is reported as not found, exactly like a missing one.
func (s *Service) TenantGet(ctx context.Context, a auth.Actor, idOrSlug string) (store.Tenant, error) {
	t, ok := s.tenants.get(idOrSlug)
	var err error
	if !ok {
		err = s.db.Read(ctx, func(tx *store.Tx) error {
			var err error
			t, err = tx.TenantGet(ctx, idOrSlug)
			return err
		})
		if err == nil {
			s.tenants.put(t)
		}
	}
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

// tenantCache keeps the tenants this node has found, by id and by slug, so
// that a request naming its tenant (Joist-Tenant, or a path) does not
// read it each time. A tenant row never changes and is never deleted
// (there is no route or job that would), so a tenant found stays right
// on every node; what is not found is not kept, so a tenant created on
// another node is found at once. If tenants ever become renamable or
// deletable, this cache must learn of it.
type tenantCache struct {
	mu sync.RWMutex
	m  map[string]store.Tenant
}

// tenantCacheMax bounds the entries (two per tenant); past it, tenants
// are read each time.
const tenantCacheMax = 100_000

func (c *tenantCache) get(idOrSlug string) (store.Tenant, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.m[idOrSlug]
	return t, ok
}

func (c *tenantCache) put(t store.Tenant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]store.Tenant{}
	}
	if len(c.m) >= tenantCacheMax {
		return
	}
	c.m[t.ID], c.m[t.Slug] = t, t
}
