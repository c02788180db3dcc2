package admin

import (
	"context"
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
	d := tenantsData{Tenants: ts, Next: nextURL(r, next),
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
	return redirect(w, r, "/admin/tenants/"+t.Slug)
}

type tenantData struct {
	Tenant   store.Tenant
	Keys     []store.APIKey
	KeysNext string
	KeyName  string
}

// tenant finds the {tenant} of the path within the operator's reach.
func (a *Admin) tenant(r *http.Request, op *Op) (store.Tenant, error) {
	return a.core.TenantGet(r.Context(), op.Actor, r.PathValue("tenant"))
}

func (a *Admin) tenantData(r *http.Request, op *Op) (tenantData, error) {
	t, err := a.tenant(r, op)
	if err != nil {
		return tenantData{}, err
	}
	keys, next, err := a.core.KeyList(r.Context(), op.Actor, t.ID, store.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	return tenantData{Tenant: t, Keys: keys, KeysNext: nextURL(r, next)}, err
}

func (a *Admin) keyCreate(w http.ResponseWriter, r *http.Request, op *Op) error {
	t, err := a.tenant(r, op)
	if err != nil {
		return err
	}
	name := r.PostForm.Get("name")
	k, plain, err := a.core.KeyCreate(r.Context(), op.Actor, t.ID, name)
	if err != nil {
		d, lerr := a.tenantData(r, op)
		if lerr != nil {
			return lerr
		}
		d.KeyName = name
		return a.RenderForm(w, r, op, "tenant.html", d, err)
	}
	return a.Render(w, r, op, http.StatusOK, "key_created.html", map[string]any{"Tenant": t, "Key": k, "Plain": plain})
}

func (a *Admin) keyRevoke(w http.ResponseWriter, r *http.Request, op *Op) error {
	t, err := a.tenant(r, op)
	if err != nil {
		return err
	}
	if _, err := a.core.KeyRevoke(r.Context(), op.Actor, t.ID, r.PathValue("key")); err != nil {
		return err
	}
	return redirect(w, r, "/admin/tenants/"+t.Slug+"?flash=key_revoked")
}

// nextURL is the link to the page after this one (same path and filters,
// the next cursor), or "" on the last page.
func nextURL(r *http.Request, cursor string) string {
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
