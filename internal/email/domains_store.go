package email

import (
	"context"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// Domain is a sending domain as stored.
type Domain struct {
	ID         string
	TenantID   string // the owner: a tenant, or store.InstanceTenantID
	Name       string // lower case, no final dot
	Provider   string // smtp, resend or postmark
	SPFInclude string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Keys       []DKIMKey // newest first
}

// Statuses of a DKIM key.
const (
	KeyPending = "pending" // published beside the active key; signs once the check sees its record
	KeyActive  = "active"  // signs
	KeyRetired = "retired" // signed before a rotation; no longer used
)

// DKIMKey is one of joist's DKIM keys for a domain.
type DKIMKey struct {
	ID          string
	DomainID    string
	Selector    string
	Algorithm   string // rsa or ed25519
	PublicKey   string // PKIX DER, base64
	PrivateKey  string // PKCS #8 DER, sealed with JOIST_SECRET_KEY
	Status      string
	CreatedAt   time.Time
	ActivatedAt *time.Time
	RetiredAt   *time.Time
}

const domainCols = "id, tenant_id, name, provider, spf_include, created_at, updated_at"

func scanDomain(r store.Row) (Domain, error) {
	var d Domain
	return d, r.Scan(&d.ID, &d.TenantID, &d.Name, &d.Provider, &d.SPFInclude, &d.CreatedAt, &d.UpdatedAt)
}

// domainInsert stores a new domain of the scope's tenant and its keys;
// store.ErrConflict when the name has an owner already (this tenant or another).
func (q scope) domainInsert(ctx context.Context, d Domain) error {
	tx := q.s.Tx()
	if _, err := tx.Exec(ctx, "INSERT INTO email_domains ("+domainCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		d.ID, q.s.TenantID(), d.Name, d.Provider, d.SPFInclude, d.CreatedAt, d.UpdatedAt); err != nil {
		return err
	}
	for _, k := range d.Keys {
		k.DomainID = d.ID
		if err := q.keyInsert(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// keyInsert stores a DKIM key of one of the tenant's domains.
func (q scope) keyInsert(ctx context.Context, k DKIMKey) error {
	_, err := q.s.Tx().Exec(ctx, `INSERT INTO email_dkim_keys (id, domain_id, tenant_id, selector, algorithm, public_key, private_key, status,
		created_at, activated_at, retired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.DomainID, q.s.TenantID(), k.Selector, k.Algorithm, k.PublicKey, k.PrivateKey, k.Status, k.CreatedAt, k.ActivatedAt, k.RetiredAt)
	return err
}

// domainGet finds one of the tenant's domains by name, with its keys.
func (q scope) domainGet(ctx context.Context, name string) (Domain, error) {
	d, err := scanDomain(q.s.Tx().QueryRow(ctx, "SELECT "+domainCols+" FROM email_domains WHERE tenant_id = ? AND name = ?",
		q.s.TenantID(), name))
	if err != nil {
		return d, err
	}
	d.Keys, err = keyList(ctx, q.s.Tx(), d.ID)
	return d, err
}

// domainList lists the tenant's domains by name, with their keys.
func (q scope) domainList(ctx context.Context) ([]Domain, error) {
	rows, err := q.s.Tx().Query(ctx, "SELECT "+domainCols+" FROM email_domains WHERE tenant_id = ? ORDER BY name", q.s.TenantID())
	list, err := store.Collect(rows, err, func(r store.Rows) (Domain, error) { return scanDomain(r) })
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Keys, err = keyList(ctx, q.s.Tx(), list[i].ID); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// domainDelete deletes one of the tenant's domains and its keys.
func (q scope) domainDelete(ctx context.Context, id string) error {
	n, err := q.s.Tx().Exec(ctx, "DELETE FROM email_domains WHERE tenant_id = ? AND id = ?", q.s.TenantID(), id)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// keySetStatus moves a key of the tenant to status at a time (activated
// or retired).
func (q scope) keySetStatus(ctx context.Context, id, status string, at time.Time) error {
	col := "activated_at"
	if status == KeyRetired {
		col = "retired_at"
	}
	n, err := q.s.Tx().Exec(ctx, "UPDATE email_dkim_keys SET status = ?, "+col+" = ? WHERE tenant_id = ? AND id = ?",
		status, at, q.s.TenantID(), id)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// domainTouch sets a domain's updated_at.
func (q scope) domainTouch(ctx context.Context, id string, at time.Time) error {
	_, err := q.s.Tx().Exec(ctx, "UPDATE email_domains SET updated_at = ? WHERE tenant_id = ? AND id = ?", at, q.s.TenantID(), id)
	return err
}

// domainOwned finds the domain called name when it belongs to tenantID or
// to the instance, the tenant's own first (a name has one owner, so at
// most one matches). It is not a scope method: it reads across the two
// owners, and answers nothing of any other tenant's.
func domainOwned(ctx context.Context, tx *store.Tx, tenantID, name string) (Domain, error) {
	d, err := scanDomain(tx.QueryRow(ctx, "SELECT "+domainCols+" FROM email_domains WHERE name = ? AND tenant_id IN (?, ?)",
		name, tenantID, store.InstanceTenantID))
	if err != nil {
		return d, err
	}
	d.Keys, err = keyList(ctx, tx, d.ID)
	return d, err
}

func keyList(ctx context.Context, tx *store.Tx, domainID string) ([]DKIMKey, error) {
	rows, err := tx.Query(ctx, `SELECT id, domain_id, selector, algorithm, public_key, private_key, status, created_at, activated_at, retired_at
		FROM email_dkim_keys WHERE domain_id = ? ORDER BY created_at DESC, id DESC`, domainID)
	return store.Collect(rows, err, func(r store.Rows) (DKIMKey, error) {
		var k DKIMKey
		return k, r.Scan(&k.ID, &k.DomainID, &k.Selector, &k.Algorithm, &k.PublicKey, &k.PrivateKey, &k.Status, &k.CreatedAt,
			&k.ActivatedAt, &k.RetiredAt)
	})
}
