package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

func (a *API) tenantCreate(w http.ResponseWriter, r *request) error {
	var in struct {
		Slug string `json:"slug"`
		Name string `json:"name"`
	}
	if err := decode(r.Request, &in); err != nil {
		return err
	}
	t, err := a.core.TenantCreate(r.Context(), r.actor, core.TenantInput{Slug: in.Slug, Name: in.Name})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	return writeJSON(w, http.StatusCreated, tenantView(t))
}

func (a *API) tenantList(w http.ResponseWriter, r *request) error {
	p, err := page(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.core.TenantList(r.Context(), r.actor, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[Tenant]{Data: mapSlice(items, tenantView), NextCursor: next})
}

func (a *API) tenantGet(w http.ResponseWriter, r *request) error {
	return writeJSON(w, http.StatusOK, tenantView(r.tenant))
}

func (a *API) keyCreate(w http.ResponseWriter, r *request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeOptional(r.Request, &in); err != nil {
		return err
	}
	k, plain, err := a.core.KeyCreate(r.Context(), r.actor, r.tenant.ID, in.Name)
	if err != nil {
		return err
	}
	v := keyView(k)
	v.Key = plain
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, v)
}

func (a *API) keyList(w http.ResponseWriter, r *request) error {
	p, err := page(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.core.KeyList(r.Context(), r.actor, r.tenant.ID, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[Key]{Data: mapSlice(items, keyView), NextCursor: next})
}

func (a *API) keyRevoke(w http.ResponseWriter, r *request) error {
	k, err := a.core.KeyRevoke(r.Context(), r.actor, r.tenant.ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, keyView(k))
}

func (a *API) contactPut(w http.ResponseWriter, r *request) error {
	var in struct {
		Email    *string         `json:"email"`
		Name     *string         `json:"name"`
		Locale   *string         `json:"locale"`
		Timezone *string         `json:"timezone"`
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := decode(r.Request, &in); err != nil {
		return err
	}
	c, created, err := a.core.ContactUpsert(r.Context(), r.actor, r.tenant.ID, r.PathValue("contact"),
		core.ContactInput{Email: in.Email, Name: in.Name, Locale: in.Locale, Timezone: in.Timezone, Metadata: in.Metadata})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, contactView(c))
}

func (a *API) contactGet(w http.ResponseWriter, r *request) error {
	c, err := a.core.ContactGet(r.Context(), r.actor, r.tenant.ID, r.PathValue("contact"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, contactView(c))
}

func (a *API) contactList(w http.ResponseWriter, r *request) error {
	p, err := page(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.core.ContactList(r.Context(), r.actor, r.tenant.ID, p, r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[Contact]{Data: mapSlice(items, contactView), NextCursor: next})
}

func (a *API) timelineList(w http.ResponseWriter, r *request) error {
	p, err := page(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.core.Timeline(r.Context(), r.actor, r.tenant.ID, r.PathValue("contact"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[TimelineEntry]{Data: mapSlice(items, timelineView), NextCursor: next})
}

func (a *API) auditList(w http.ResponseWriter, r *request) error {
	p, err := page(r.Request)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.AuditFilter{Action: q.Get("action"), ActorID: q.Get("actor_id"), TargetID: q.Get("target_id")}
	if err := timeRange(q.Get, &f.Since, &f.Until); err != nil {
		return err
	}
	if ref := r.Header.Get("Joist-Tenant"); ref != "" {
		t, err := a.core.TenantGet(r.Context(), r.actor, ref)
		if err != nil {
			return problem(http.StatusNotFound, "tenant_not_found", "tenant "+quote(ref)+" not found")
		}
		f.TenantIDs = []string{t.ID}
	}
	items, next, err := a.core.AuditList(r.Context(), r.actor, p, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[AuditEntry]{Data: mapSlice(items, auditView), NextCursor: next})
}
