package tenants

import (
	"context"
	"embed"
	"html/template"
	"net/http"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

//go:embed pages
var pagesFS embed.FS

// pages serves the tenants section with the service it was given.
type pages struct {
	a   *admin.Admin
	svc *Service
}

// AdminSection is the tenants part of the dashboard: the tenant list with
// its create form, and the tenant page, which shows the tenant's keys and
// hosts every section's links (admin.TenantLink) and tenant panels
// (admin.PanelTenant).
func (s *Service) AdminSection() admin.SectionFunc {
	return func(a *admin.Admin) admin.Section {
		p := &pages{a: a, svc: s}
		return admin.Section{Name: "tenants", Templates: admin.Sub(pagesFS, "pages"),
			Nav:     &admin.NavItem{Label: "Tenants", Path: "/admin/tenants", Order: 10},
			Flashes: map[string]string{"key_revoked": "The key was revoked. Requests made with it now get 401."},
			Routes: map[string]admin.HandlerFunc{
				"GET /admin/tenants":                             p.list,
				"POST /admin/tenants":                            p.create,
				"GET /admin/tenants/{tenant}":                    p.overview,
				"POST /admin/tenants/{tenant}/keys":              p.keyCreate,
				"POST /admin/tenants/{tenant}/keys/{key}/revoke": p.keyRevoke,
			}}
	}
}

type listData struct {
	Tenants   []store.Tenant
	Next      string
	CanCreate bool
	// Instance: the operator reaches every tenant, and so the instance's
	// own sources and jobs (/admin/tenants/_).
	Instance bool
	Slug     string
	Name     string
}

func (p *pages) listData(ctx context.Context, op *admin.Op, r *http.Request) (listData, error) {
	ts, next, err := p.svc.core.TenantList(ctx, op.Actor, store.Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")})
	d := listData{Tenants: ts, Next: admin.NextURL(r, next),
		CanCreate: op.Can(auth.PermTenantsManage) && op.Actor.AllTenants, Instance: op.Actor.AllTenants}
	return d, err
}

func (p *pages) list(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	d, err := p.listData(r.Context(), op, r)
	if err != nil {
		return err
	}
	return p.a.Render(w, r, op, http.StatusOK, "tenants.html", d)
}

func (p *pages) create(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	in := Input{Slug: r.PostForm.Get("slug"), Name: r.PostForm.Get("name")}
	t, err := p.svc.Create(r.Context(), op.Actor, in)
	if err != nil {
		d, lerr := p.listData(r.Context(), op, r)
		if lerr != nil {
			return lerr
		}
		d.Slug, d.Name = in.Slug, in.Name
		return p.a.RenderForm(w, r, op, "tenants.html", d, err)
	}
	return admin.Redirect(w, r, "/admin/tenants/"+t.Slug)
}

// tenantData is the tenant page: the tenant, its keys, the sections'
// links and panels.
type tenantData struct {
	Tenant   store.Tenant
	Keys     []store.APIKey
	KeysNext string
	KeyName  string
	Links    []admin.TenantLink
	Panels   []template.HTML
}

// tenantData is the tenant page's data; panels only when asked (the page
// shown again after a failed key creation leaves them out).
func (p *pages) tenantData(r *http.Request, op *admin.Op, panels bool) (tenantData, error) {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return tenantData{}, err
	}
	d := tenantData{Tenant: t, Links: p.a.TenantLinks(t)}
	if panels {
		if d.Panels, err = p.a.Panels(r, op, admin.PanelTenant, t, nil); err != nil {
			return d, err
		}
	}
	if t.ID == store.InstanceTenantID {
		return d, nil // the instance has no keys
	}
	var next string
	d.Keys, next, err = p.svc.KeyList(r.Context(), op.Actor, t.ID, store.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	d.KeysNext = admin.NextURL(r, next)
	return d, err
}

// overview is GET /admin/tenants/{tenant}.
func (p *pages) overview(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	d, err := p.tenantData(r, op, true)
	if err != nil {
		return err
	}
	return p.a.Render(w, r, op, http.StatusOK, "tenant.html", d)
}

func (p *pages) keyCreate(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	name := r.PostForm.Get("name")
	k, plain, err := p.svc.KeyCreate(r.Context(), op.Actor, t.ID, name)
	if err != nil {
		d, lerr := p.tenantData(r, op, false)
		if lerr != nil {
			return lerr
		}
		d.KeyName = name
		return p.a.RenderForm(w, r, op, "tenant.html", d, err)
	}
	return p.a.Render(w, r, op, http.StatusOK, "key_created.html", map[string]any{"Tenant": t, "Key": k, "Plain": plain})
}

func (p *pages) keyRevoke(w http.ResponseWriter, r *http.Request, op *admin.Op) error {
	t, err := p.a.Tenant(r, op)
	if err != nil {
		return err
	}
	if _, err := p.svc.KeyRevoke(r.Context(), op.Actor, t.ID, r.PathValue("key")); err != nil {
		return err
	}
	return admin.Redirect(w, r, "/admin/tenants/"+t.Slug+"?flash=key_revoked")
}
