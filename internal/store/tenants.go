package store

import (
	"context"
	"strings"
	"time"
)

// Tenant is an isolated data boundary.
type Tenant struct {
	ID        string
	Slug      string
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

const tenantCols = "id, slug, name, created_at, updated_at"

func scanTenant(r Row) (Tenant, error) {
	var t Tenant
	err := r.Scan(&t.ID, &t.Slug, &t.Name, &t.CreatedAt, &t.UpdatedAt)
	return t, err
}

// InstanceTenantID is the instance's own tenant (slug "_"), owner of
// instance-level webhook sources. Lists of tenants hide it.
const InstanceTenantID = "tn_00000000000000000000000000"

// InstanceTenantSlug is its slug, as in /in/_/{source}.
const InstanceTenantSlug = "_"

// TenantInsert stores a new tenant; ErrConflict when the slug is taken.
func (tx *Tx) TenantInsert(ctx context.Context, t Tenant) error {
	_, err := tx.Exec(ctx, "INSERT INTO tenants ("+tenantCols+") VALUES (?, ?, ?, ?, ?)",
		t.ID, t.Slug, t.Name, t.CreatedAt, t.UpdatedAt)
	return err
}

// TenantGet finds a tenant by id (tn_...) or slug.
func (tx *Tx) TenantGet(ctx context.Context, idOrSlug string) (Tenant, error) {
	col := "slug"
	if strings.HasPrefix(idOrSlug, PrefixTenant) {
		col = "id"
	}
	return scanTenant(tx.QueryRow(ctx, "SELECT "+tenantCols+" FROM tenants WHERE "+col+" = ?", idOrSlug))
}

// TenantList lists tenants by id. When ids is non-nil only those are listed
// (an operator's scope).
func (tx *Tx) TenantList(ctx context.Context, p Page, ids []string) ([]Tenant, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q := "SELECT " + tenantCols + " FROM tenants WHERE id > ? AND id <> ?"
	args := []any{after, InstanceTenantID}
	if ids != nil {
		if len(ids) == 0 {
			return []Tenant{}, "", nil
		}
		q += " AND id IN (" + placeholders(len(ids)) + ")"
		for _, id := range ids {
			args = append(args, id)
		}
	}
	q += " ORDER BY id LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := tx.Query(ctx, q, args...)
	items, err := Collect(rows, err, func(r Rows) (Tenant, error) { return scanTenant(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := PageOf(items, p, func(t Tenant) string { return t.ID })
	return items, next, nil
}

// TenantCount counts tenants.
func (tx *Tx) TenantCount(ctx context.Context) (int, error) {
	var n int
	err := tx.QueryRow(ctx, "SELECT count(*) FROM tenants WHERE id <> ?", InstanceTenantID).Scan(&n)
	return n, err
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
