package admin

import (
	"context"
	"html/template"
	"net/http"
	"net/url"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

type tenantsData struct {
	Tenants   []store.Tenant
	Next      string
	CanCreate bool
	// Instance: the operator reaches every tenant, and so the instance's
	// own sources and jobs (/admin/tenants/_).
	Instance bool
	Slug     string
	Name     string
}

func (a *Admin) tenantsData(ctx context.Context, op *Op, r *http.Request) (tenantsData, error) {
	ts, next, err := a.core.TenantList(ctx, op.Actor, store.Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")})
	d := tenantsData{Tenants: ts, Next: NextURL(r, next),
		CanCreate: op.Can(auth.PermTenantsManage) && op.Actor.AllTenants, Instance: op.Actor.AllTenants}
	return d, err
}

func (a *Admin) tenantsPage(w http.ResponseWriter, r *http.Request, op *Op) error {
	d, err := a.tenantsData(r.Context(), op, r)
	if err != nil {
		return err
	}
	return a.Render(w, r, op, http.StatusOK, "tenants.html", d)
}

func (a *Admin) tenantCreate(w http.ResponseWriter, r *http.Request, op *Op) error {
	in := core.TenantInput{Slug: r.PostForm.Get("slug"), Name: r.PostForm.Get("name")}
	t, err := a.core.TenantCreate(r.Context(), op.Actor, in)
	if err != nil {
		d, lerr := a.tenantsData(r.Context(), op, r)
		if lerr != nil {
			return lerr
		}
		d.Slug, d.Name = in.Slug, in.Name
		return a.RenderForm(w, r, op, "tenants.html", d, err)
	}
	return Redirect(w, r, "/admin/tenants/"+t.Slug)
}

// tenantData is the tenant page: the tenant, its keys, the sections'
// links and panels.
type tenantData struct {
	Tenant   store.Tenant
	Keys     []store.APIKey
	KeysNext string
	KeyName  string
	Links    []TenantLink
	Panels   []template.HTML
}

// Tenant finds the {tenant} of the path within the operator's reach: a
// tenant out of reach is not found, as an unknown one.
func (a *Admin) Tenant(r *http.Request, op *Op) (store.Tenant, error) {
	return a.core.TenantGet(r.Context(), op.Actor, r.PathValue("tenant"))
}

// tenantData is the tenant page's data; panels only when asked (the page
// shown again after a failed key creation leaves them out).
func (a *Admin) tenantData(r *http.Request, op *Op, panels bool) (tenantData, error) {
	t, err := a.Tenant(r, op)
	if err != nil {
		return tenantData{}, err
	}
	d := tenantData{Tenant: t, Links: a.tenantLinksFor(t)}
	if panels {
		if d.Panels, err = a.panelsFor(r, op, PanelTenant, t, nil); err != nil {
			return d, err
		}
	}
	if t.ID == store.InstanceTenantID {
		return d, nil // the instance has no keys
	}
	var next string
	d.Keys, next, err = a.core.KeyList(r.Context(), op.Actor, t.ID, store.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	d.KeysNext = NextURL(r, next)
	return d, err
}

// tenantOverviewPage is GET /admin/tenants/{tenant}.
func (a *Admin) tenantOverviewPage(w http.ResponseWriter, r *http.Request, op *Op) error {
	d, err := a.tenantData(r, op, true)
	if err != nil {
		return err
	}
	return a.Render(w, r, op, http.StatusOK, "tenant.html", d)
}

func (a *Admin) keyCreate(w http.ResponseWriter, r *http.Request, op *Op) error {
	t, err := a.Tenant(r, op)
	if err != nil {
		return err
	}
	name := r.PostForm.Get("name")
	k, plain, err := a.core.KeyCreate(r.Context(), op.Actor, t.ID, name)
	if err != nil {
		d, lerr := a.tenantData(r, op, false)
		if lerr != nil {
			return lerr
		}
		d.KeyName = name
		return a.RenderForm(w, r, op, "tenant.html", d, err)
	}
	return a.Render(w, r, op, http.StatusOK, "key_created.html", map[string]any{"Tenant": t, "Key": k, "Plain": plain})
}

func (a *Admin) keyRevoke(w http.ResponseWriter, r *http.Request, op *Op) error {
	t, err := a.Tenant(r, op)
	if err != nil {
		return err
	}
	if _, err := a.core.KeyRevoke(r.Context(), op.Actor, t.ID, r.PathValue("key")); err != nil {
		return err
	}
	return Redirect(w, r, "/admin/tenants/"+t.Slug+"?flash=key_revoked")
}

// NextURL is the link to the page after this one (same path and filters,
// the next cursor), or "" on the last page.
func NextURL(r *http.Request, cursor string) string {
	if cursor == "" {
		return ""
	}
	q := url.Values{}
	for k, v := range r.URL.Query() {
		if k != "cursor" && k != "flash" {
			q[k] = v
		}
	}
	q.Set("cursor", cursor)
	return r.URL.Path + "?" + q.Encode()
}
