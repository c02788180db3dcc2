package email

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// Template is a stored email template: its variants as saved (every part
// was parsed before it was stored). TenantID is its owner, a tenant or the
// instance (store.InstanceTenantID).
type Template struct {
	TenantID      string
	Name          string
	DefaultLocale string
	Layout        string
	Variants      map[string]wire.EmailTemplateVariant
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Layout is a stored layout: HTML that places each email's HTML with
// {{.content}}. TenantID is its owner, a tenant or the instance.
type Layout struct {
	TenantID  string
	Name      string
	HTML      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

const templateCols = "tenant_id, name, default_locale, layout, variants, created_at, updated_at"

func scanTemplate(r store.Row) (Template, error) {
	var t Template
	var variants []byte
	if err := r.Scan(&t.TenantID, &t.Name, &t.DefaultLocale, &t.Layout, &variants, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return t, err
	}
	return t, json.Unmarshal(variants, &t.Variants)
}

const layoutCols = "tenant_id, name, html, created_at, updated_at"

func scanLayout(r store.Row) (Layout, error) {
	var l Layout
	return l, r.Scan(&l.TenantID, &l.Name, &l.HTML, &l.CreatedAt, &l.UpdatedAt)
}

// templatePut creates or replaces the tenant's own template t.Name,
// keeping created_at on a replace; it reports whether it created one.
func (q scope) templatePut(ctx context.Context, t Template) (Template, bool, error) {
	tx, tid := q.s.Tx(), q.s.TenantID()
	t.TenantID = tid
	prev, err := scanTemplate(tx.QueryRow(ctx, "SELECT "+templateCols+" FROM email_templates WHERE tenant_id = ? AND name = ?", tid, t.Name))
	switch {
	case err == nil:
		t.CreatedAt = prev.CreatedAt
		_, err = tx.Exec(ctx, "UPDATE email_templates SET default_locale = ?, layout = ?, variants = ?, updated_at = ? WHERE tenant_id = ? AND name = ?",
			t.DefaultLocale, t.Layout, jsonOf(t.Variants), t.UpdatedAt, tid, t.Name)
		return t, false, err
	case !errors.Is(err, store.ErrNotFound):
		return t, false, err
	}
	_, err = tx.Exec(ctx, "INSERT INTO email_templates ("+templateCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		tid, t.Name, t.DefaultLocale, t.Layout, jsonOf(t.Variants), t.CreatedAt, t.UpdatedAt)
	return t, true, err
}

// templateFind finds the template name the tenant renders: its own, else
// the instance's. This and its siblings below are the one place the email
// system reads rows of a tenant other than the scope's: the instance's,
// which every tenant uses.
func (q scope) templateFind(ctx context.Context, name string) (Template, error) {
	return scanTemplate(q.s.Tx().QueryRow(ctx, "SELECT "+templateCols+` FROM email_templates WHERE name = ? AND tenant_id IN (?, ?)
		ORDER BY CASE WHEN tenant_id = ? THEN 0 ELSE 1 END LIMIT 1`, name, q.s.TenantID(), store.InstanceTenantID, q.s.TenantID()))
}

// templateForRender is templateFind with the scope's tenant (its slug and
// name, which templates render), read in the same statement.
func (q scope) templateForRender(ctx context.Context, name string) (Template, store.Tenant, error) {
	var tn store.Tenant
	t, err := scanTemplate(extraRow{q.s.Tx().QueryRow(ctx, "SELECT "+qualified("t", templateCols)+`, tn.slug, tn.name
		FROM email_templates t JOIN tenants tn ON tn.id = ? WHERE t.name = ? AND t.tenant_id IN (?, ?)
		ORDER BY CASE WHEN t.tenant_id = ? THEN 0 ELSE 1 END LIMIT 1`, q.s.TenantID(), name, q.s.TenantID(), store.InstanceTenantID,
		q.s.TenantID()), []any{&tn.Slug, &tn.Name}})
	tn.ID = q.s.TenantID()
	return t, tn, err
}

// templateList lists the templates the tenant renders, by name: its own
// and the instance's it has none of the same name for.
func (q scope) templateList(ctx context.Context, p store.Page) ([]Template, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	sql, args := q.s.ResolvedPage("email_templates", templateCols, after, p.Size()+1)
	rows, err := q.s.Tx().Query(ctx, sql, args...)
	items, err := store.Collect(rows, err, func(r store.Rows) (Template, error) { return scanTemplate(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p, func(t Template) string { return t.Name })
	return items, next, nil
}

// templateDelete deletes the tenant's own template; ErrNotFound when it
// has none of that name (the instance's are not its to delete).
func (q scope) templateDelete(ctx context.Context, name string) error {
	n, err := q.s.Tx().Exec(ctx, "DELETE FROM email_templates WHERE tenant_id = ? AND name = ?", q.s.TenantID(), name)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// layoutPut creates or replaces the tenant's own layout l.Name; it
// reports whether it created one.
func (q scope) layoutPut(ctx context.Context, l Layout) (Layout, bool, error) {
	tx, tid := q.s.Tx(), q.s.TenantID()
	l.TenantID = tid
	prev, err := scanLayout(tx.QueryRow(ctx, "SELECT "+layoutCols+" FROM email_layouts WHERE tenant_id = ? AND name = ?", tid, l.Name))
	switch {
	case err == nil:
		l.CreatedAt = prev.CreatedAt
		_, err = tx.Exec(ctx, "UPDATE email_layouts SET html = ?, updated_at = ? WHERE tenant_id = ? AND name = ?", l.HTML, l.UpdatedAt, tid, l.Name)
		return l, false, err
	case !errors.Is(err, store.ErrNotFound):
		return l, false, err
	}
	_, err = tx.Exec(ctx, "INSERT INTO email_layouts ("+layoutCols+") VALUES (?, ?, ?, ?, ?)", tid, l.Name, l.HTML, l.CreatedAt, l.UpdatedAt)
	return l, true, err
}

// layoutFind finds the layout name the tenant renders: its own, else the
// instance's.
func (q scope) layoutFind(ctx context.Context, name string) (Layout, error) {
	return scanLayout(q.s.Tx().QueryRow(ctx, "SELECT "+layoutCols+` FROM email_layouts WHERE name = ? AND tenant_id IN (?, ?)
		ORDER BY CASE WHEN tenant_id = ? THEN 0 ELSE 1 END LIMIT 1`, name, q.s.TenantID(), store.InstanceTenantID, q.s.TenantID()))
}

// layoutList lists the layouts the tenant renders, by name: its own and
// the instance's it has none of the same name for.
func (q scope) layoutList(ctx context.Context, p store.Page) ([]Layout, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	tid := q.s.TenantID()
	rows, err := q.s.Tx().Query(ctx, "SELECT "+layoutCols+" FROM email_layouts WHERE tenant_id = ? AND name > ?"+
		" UNION ALL SELECT "+layoutCols+` FROM email_layouts l WHERE tenant_id = ? AND name > ?
		AND NOT EXISTS (SELECT 1 FROM email_layouts o WHERE o.tenant_id = ? AND o.name = l.name)
		ORDER BY name LIMIT ?`, tid, after, store.InstanceTenantID, after, tid, p.Size()+1)
	items, err := store.Collect(rows, err, func(r store.Rows) (Layout, error) { return scanLayout(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p, func(l Layout) string { return l.Name })
	return items, next, nil
}

// layoutDelete deletes the tenant's own layout; ErrNotFound when it has
// none of that name.
func (q scope) layoutDelete(ctx context.Context, name string) error {
	n, err := q.s.Tx().Exec(ctx, "DELETE FROM email_layouts WHERE tenant_id = ? AND name = ?", q.s.TenantID(), name)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}
