package store

// Scope is a transaction confined to one tenant. Every tenant-scoped storage
// method hangs off Scope and constrains on its tenant id, so a handler cannot
// reach another tenant's rows by forgetting a WHERE clause.
type Scope struct {
	tx       *Tx
	tenantID string
}

// Tenant confines tx to tenantID. The id must come from the authenticated
// request (httpapi resolves it once per request), never from the body.
func (tx *Tx) Tenant(tenantID string) *Scope {
	if tenantID == "" {
		panic("store: Tenant called with an empty tenant id")
	}
	return &Scope{tx: tx, tenantID: tenantID}
}

// TenantID is the tenant this scope is confined to.
func (s *Scope) TenantID() string { return s.tenantID }

// Tx is the underlying transaction, for systems that keep their own tables
// (they must filter by TenantID themselves).
func (s *Scope) Tx() *Tx { return s.tx }

// ResolvedPage returns the query (and its arguments) for one page of the
// rows of table, keyed by a name column, that the scope's tenant resolves
// by name: its own, and the instance's (InstanceTenantID) whose names it
// has none of, in name order after after, at most limit rows. cols are
// the columns selected.
func (s *Scope) ResolvedPage(table, cols, after string, limit int) (string, []any) {
	q := "SELECT " + cols + " FROM " + table + " WHERE tenant_id = ? AND name > ?" +
		" UNION ALL SELECT " + cols + " FROM " + table + " t WHERE tenant_id = ? AND name > ?" +
		" AND NOT EXISTS (SELECT 1 FROM " + table + " o WHERE o.tenant_id = ? AND o.name = t.name)" +
		" ORDER BY name LIMIT ?"
	return q, []any{s.TenantID(), after, InstanceTenantID, after, s.TenantID(), limit}
}
