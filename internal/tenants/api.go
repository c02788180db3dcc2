package tenants

import (
	_ "embed"
	"net/http"

	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

//go:embed openapi.json
var openapiFragment []byte

// OpenAPI is the tenants system's fragment of the OpenAPI document.
func OpenAPI() []byte { return openapiFragment }

// View is a tenant as the API shows it.
func View(t store.Tenant) wire.Tenant {
	return wire.Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func keyView(k store.APIKey) wire.Key {
	return wire.Key{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

type api struct{ svc *Service }

// API is the tenants system's part of the HTTP API: tenants and their keys.
func (s *Service) API() httpapi.System {
	a := &api{svc: s}
	return httpapi.System{Name: "tenants", OpenAPI: openapiFragment, Routes: []httpapi.Route{
		{Method: "POST", Pattern: "/v1/tenants", Idempotent: true, Handler: a.tenantCreate},
		{Method: "GET", Pattern: "/v1/tenants", Handler: a.tenantList},
		{Method: "GET", Pattern: "/v1/tenants/{tenant}", Tenant: "path", Handler: a.tenantGet},
		{Method: "POST", Pattern: "/v1/tenants/{tenant}/keys", Tenant: "path", Idempotent: true, Handler: a.keyCreate, Redact: httpapi.RedactFields("key")},
		{Method: "GET", Pattern: "/v1/tenants/{tenant}/keys", Tenant: "path", Handler: a.keyList},
		{Method: "DELETE", Pattern: "/v1/tenants/{tenant}/keys/{key}", Tenant: "path", Handler: a.keyRevoke},
	}}
}

func (a *api) tenantCreate(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.TenantCreate
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	t, err := a.svc.Create(r.Context(), r.Actor, Input{Slug: in.Slug, Name: in.Name})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	return httpapi.WriteJSON(w, http.StatusCreated, View(t))
}

func (a *api) tenantList(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.svc.core.TenantList(r.Context(), r.Actor, p)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.Tenant]{Data: httpapi.MapSlice(items, View), NextCursor: next})
}

func (a *api) tenantGet(w http.ResponseWriter, r *httpapi.Request) error {
	return httpapi.WriteJSON(w, http.StatusOK, View(r.Tenant))
}

func (a *api) keyCreate(w http.ResponseWriter, r *httpapi.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := httpapi.DecodeOptional(r.Request, &in); err != nil {
		return err
	}
	k, plain, err := a.svc.KeyCreate(r.Context(), r.Actor, r.Tenant.ID, in.Name)
	if err != nil {
		return err
	}
	v := keyView(k)
	v.Key = plain
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteJSON(w, http.StatusCreated, v)
}

func (a *api) keyList(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.svc.KeyList(r.Context(), r.Actor, r.Tenant.ID, p)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.Key]{Data: httpapi.MapSlice(items, keyView), NextCursor: next})
}

func (a *api) keyRevoke(w http.ResponseWriter, r *httpapi.Request) error {
	k, err := a.svc.KeyRevoke(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, keyView(k))
}
