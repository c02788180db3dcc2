package email

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/joist-dev/joist/internal/store"
)

// sendPlan is everything a send job reads before it calls the provider,
// read in one read transaction (one snapshot): the email, whether one of
// its recipients is suppressed, the tenant's provider settings and, when
// joist signs (SMTP), the from domain with its active DKIM keys.
type sendPlan struct {
	email Email
	// sup is the suppression that stops the email (nil: none).
	sup *Suppression
	// provider is the name of the provider the email goes through: the
	// tenant's own settings', else the instance's.
	provider string
	// own is set when the tenant has its own settings; version is theirs.
	own     bool
	version string
	// cached is the provider built from the tenant's own settings at
	// version, when there is one; else settings are those settings, read
	// to build it.
	cached   Provider
	settings *Settings
	// domain is the from domain with its active keys (nil: not registered,
	// or the provider is not SMTP and joist does not sign).
	domain *Domain
}

// deliveryCols are emailCols of the emails row "e" of deliverySQL.
var deliveryCols = qualified("e", emailCols)

// qualified is the column list cols of the table called alias in a join.
func qualified(alias, cols string) string {
	list := strings.Split(cols, ",")
	for i, c := range list {
		list[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(list, ", ")
}

// deliverySQL reads an email with its tenant's settings (provider and
// version, none when the tenant has none), whether a recipient of it is
// suppressed in its category, and its from domain (found by the domain of
// its Message-ID, id@domain) with the ids of its active DKIM keys: what
// every send needs, in one statement. (The recipients are found by their
// email alone, its primary key: with their tenant too SQLite chose the
// index by tenant and address, and read every recipient of the tenant.)
func deliverySQL(d store.Dialect) string {
	agg := "group_concat(k.id, ',')"
	if d == store.Postgres {
		agg = "string_agg(k.id, ',')"
	}
	return "SELECT " + deliveryCols + `, COALESCE(st.provider, ''), COALESCE(st.version, ''),
	CASE WHEN st.tenant_id IS NULL THEN 0 ELSE 1 END,
	CASE WHEN EXISTS (SELECT 1 FROM email_recipients r JOIN email_suppressions sp ON sp.tenant_id = e.tenant_id AND sp.address = r.address
		WHERE r.email_id = e.id AND sp.category = e.category AND (sp.expires_at IS NULL OR sp.expires_at > ?))
	THEN 1 ELSE 0 END,
	COALESCE(d.id, ''), COALESCE(d.tenant_id, ''), COALESCE(d.name, ''),
	COALESCE((SELECT ` + agg + ` FROM email_dkim_keys k WHERE k.domain_id = d.id AND k.status = '` + KeyActive + `'), '')
	FROM emails e LEFT JOIN email_settings st ON st.tenant_id = e.tenant_id
	LEFT JOIN email_domains d ON d.name = substr(e.message_id, length(e.id) + 2) AND d.tenant_id IN (e.tenant_id, ?)
	WHERE e.tenant_id = ? AND e.id = ?`
}

// loadDelivery reads what the send of email id needs, in tx. An email no
// longer queued is returned alone.
func (s *Service) loadDelivery(ctx context.Context, tx *store.Tx, tenantID, id string) (sendPlan, error) {
	var d sendPlan
	var own, suppressed int
	var dom Domain
	var keyIDs string
	extra := []any{&d.provider, &d.version, &own, &suppressed, &dom.ID, &dom.TenantID, &dom.Name, &keyIDs}
	now := s.now()
	e, err := scanEmail(extraRow{tx.QueryRow(ctx, deliverySQL(tx.Dialect()), now, store.InstanceTenantID, tenantID, id), extra})
	if err != nil {
		return d, err
	}
	d.email, d.own = e, own == 1
	if e.Status != StatusQueued {
		return d, nil
	}
	if suppressed == 1 {
		// Which one, for the email's event (rare: read only then).
		sup, found, err := scope{tx.Tenant(tenantID)}.suppressionFind(ctx, recipients(e), e.Category, now)
		if err != nil {
			return d, err
		}
		if found {
			d.sup = &sup
			return d, nil
		}
	}
	if !d.own {
		d.provider = s.opts.Provider.Name()
	} else if p, fresh := s.cachedProvider(tenantID, d.version); fresh {
		d.cached = p
	} else {
		st, err := settingsGet(ctx, tx, tenantID)
		if err != nil {
			return d, err
		}
		d.settings = &st
	}
	if d.provider != ProviderSMTP {
		return d, nil
	}
	if e.MessageID == e.ID+"@"+domainOf(e.From) { // as joist sets it: the domain read is the from domain's
		if dom.ID == "" {
			return d, nil // not registered (deleted since): unsigned
		}
		if dom.Keys = s.keys.known(keyIDs); dom.Keys != nil || keyIDs == "" {
			d.domain = &dom
			return d, nil
		}
	}
	full, err := signingDomain(ctx, tx, tenantID, domainOf(e.From))
	switch {
	case err == nil:
		s.keys.remember(full.Keys)
		d.domain = &full
	case !errors.Is(err, store.ErrNotFound):
		return d, err
	}
	return d, nil
}

// extraRow scans a row whose columns are an email's and then extra ones.
type extraRow struct {
	r     store.Row
	extra []any
}

func (x extraRow) Scan(dest ...any) error { return x.r.Scan(append(dest, x.extra...)...) }

// signingDomain reads the domain called name of tenantID or of the
// instance with its active keys only (newest first), in one statement; a
// domain without an active key is read again alone.
func signingDomain(ctx context.Context, tx *store.Tx, tenantID, name string) (Domain, error) {
	rows, err := tx.Query(ctx, `SELECT d.id, d.tenant_id, d.name, d.provider, d.spf_include, d.created_at, d.updated_at,
		k.id, k.selector, k.algorithm, k.public_key, k.private_key, k.status, k.created_at, k.activated_at, k.retired_at
		FROM email_domains d JOIN email_dkim_keys k ON k.domain_id = d.id AND k.status = ?
		WHERE d.name = ? AND d.tenant_id IN (?, ?) ORDER BY k.created_at DESC, k.id DESC`, KeyActive, name, tenantID, store.InstanceTenantID)
	var d Domain
	keys, err := store.Collect(rows, err, func(r store.Rows) (DKIMKey, error) {
		var k DKIMKey
		err := r.Scan(&d.ID, &d.TenantID, &d.Name, &d.Provider, &d.SPFInclude, &d.CreatedAt, &d.UpdatedAt,
			&k.ID, &k.Selector, &k.Algorithm, &k.PublicKey, &k.PrivateKey, &k.Status, &k.CreatedAt, &k.ActivatedAt, &k.RetiredAt)
		k.DomainID = d.ID
		return k, err
	})
	if err != nil {
		return Domain{}, err
	}
	if len(keys) == 0 {
		return domainOwned(ctx, tx, tenantID, name)
	}
	d.Keys = keys
	return d, nil
}

// deliver sends a stored email once and records the outcome. lastAttempt
// turns a transient failure into the email's failure.
func (s *Service) deliver(ctx context.Context, tenantID, id string, lastAttempt bool) error {
	var d sendPlan
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		d, err = s.loadDelivery(ctx, tx, tenantID, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted since: nothing to send
	}
	if err != nil {
		return err
	}
	e := d.email
	if e.Status != StatusQueued {
		return nil // a repeated job of a finished email (a rescued job)
	}
	if d.sup != nil {
		return s.recordSuppressed(ctx, e, *d.sup)
	}
	p, err := s.deliveryProvider(e.TenantID, d)
	if err != nil {
		return s.finish(ctx, e, s.opts.Provider.Name(), Result{}, err, lastAttempt)
	}
	m, err := s.buildMessage(e, p.Name(), d.domain)
	if err != nil {
		return s.finish(ctx, e, p.Name(), Result{}, &SendError{Permanent: true, Err: err}, true)
	}
	res, sendErr := p.Send(ctx, m)
	return s.finish(ctx, e, p.Name(), res, sendErr, lastAttempt)
}

// deliveryProvider is the provider d's email goes through: the instance's,
// or the one built from the tenant's own settings (cached by version).
func (s *Service) deliveryProvider(tenantID string, d sendPlan) (Provider, error) {
	if !d.own {
		s.forgetProvider(tenantID) // deleted since: forget what was built
		return s.opts.Provider, nil
	}
	if d.cached != nil {
		return d.cached, nil
	}
	return s.buildTenantProvider(*d.settings)
}

// buildTenantProvider builds and caches the provider of a tenant's settings.
func (s *Service) buildTenantProvider(st Settings) (Provider, error) {
	p, err := s.buildProvider(st)
	if err != nil {
		// The stored settings cannot be used (JOIST_SECRET_KEY changed):
		// transient, so the email goes once the tenant sets them again.
		return nil, &SendError{Err: fmt.Errorf("the tenant's own %s settings: %w", st.Provider, err)}
	}
	s.tenantProvs.mu.Lock()
	if s.tenantProvs.m == nil {
		s.tenantProvs.m = map[string]builtProvider{}
	}
	s.tenantProvs.m[st.TenantID] = builtProvider{version: st.Version, p: p}
	s.tenantProvs.mu.Unlock()
	return p, nil
}

// cachedProvider is the provider built from tenantID's settings at
// version, and whether there is one.
func (s *Service) cachedProvider(tenantID, version string) (Provider, bool) {
	s.tenantProvs.mu.Lock()
	defer s.tenantProvs.mu.Unlock()
	b, ok := s.tenantProvs.m[tenantID]
	if !ok || b.version != version {
		return nil, false
	}
	return b.p, true
}

func (s *Service) forgetProvider(tenantID string) {
	s.tenantProvs.mu.Lock()
	delete(s.tenantProvs.m, tenantID)
	s.tenantProvs.mu.Unlock()
}
