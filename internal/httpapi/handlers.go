package httpapi

import (
	"net/http"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

func (a *API) tenantCreate(w http.ResponseWriter, r *Request) error {
	var in wire.TenantCreate
	if err := Decode(r.Request, &in); err != nil {
		return err
	}
	t, err := a.core.TenantCreate(r.Context(), r.Actor, core.TenantInput{Slug: in.Slug, Name: in.Name})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	return WriteJSON(w, http.StatusCreated, tenantView(t))
}

func (a *API) tenantList(w http.ResponseWriter, r *Request) error {
	p, err := ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.core.TenantList(r.Context(), r.Actor, p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, List[wire.Tenant]{Data: MapSlice(items, tenantView), NextCursor: next})
}

func (a *API) tenantGet(w http.ResponseWriter, r *Request) error {
	return WriteJSON(w, http.StatusOK, tenantView(r.Tenant))
}

func (a *API) keyCreate(w http.ResponseWriter, r *Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := DecodeOptional(r.Request, &in); err != nil {
		return err
	}
	k, plain, err := a.core.KeyCreate(r.Context(), r.Actor, r.Tenant.ID, in.Name)
	if err != nil {
		return err
	}
	v := keyView(k)
	v.Key = plain
	w.Header().Set("Cache-Control", "no-store")
	return WriteJSON(w, http.StatusCreated, v)
}

func (a *API) keyList(w http.ResponseWriter, r *Request) error {
	p, err := ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.core.KeyList(r.Context(), r.Actor, r.Tenant.ID, p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, List[wire.Key]{Data: MapSlice(items, keyView), NextCursor: next})
}

func (a *API) keyRevoke(w http.ResponseWriter, r *Request) error {
	k, err := a.core.KeyRevoke(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, keyView(k))
}

func (a *API) contactPut(w http.ResponseWriter, r *Request) error {
	var in wire.ContactUpsert
	if err := Decode(r.Request, &in); err != nil {
		return err
	}
	c, created, err := a.core.ContactUpsert(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"),
		core.ContactInput{Email: in.Email, Name: in.Name, Locale: in.Locale, Timezone: in.Timezone, Metadata: in.Metadata})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return WriteJSON(w, status, contactView(c))
}

func (a *API) contactGet(w http.ResponseWriter, r *Request) error {
	c, err := a.core.ContactGet(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, contactView(c))
}

func (a *API) contactList(w http.ResponseWriter, r *Request) error {
	p, err := ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.core.ContactList(r.Context(), r.Actor, r.Tenant.ID, p, r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, List[wire.Contact]{Data: MapSlice(items, contactView), NextCursor: next})
}

func (a *API) timelineList(w http.ResponseWriter, r *Request) error {
	p, err := ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.core.Timeline(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"), p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, List[wire.TimelineEntry]{Data: MapSlice(items, timelineView), NextCursor: next})
}

func (a *API) auditList(w http.ResponseWriter, r *Request) error {
	p, err := ParsePage(r.Request)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.AuditFilter{Action: q.Get("action"), ActorID: q.Get("actor_id"), TargetID: q.Get("target_id")}
	if err := TimeRange(q.Get, &f.Since, &f.Until); err != nil {
		return err
	}
	if ref := r.Header.Get("Joist-Tenant"); ref != "" {
		t, err := a.core.TenantGet(r.Context(), r.Actor, ref)
		if err != nil {
			return NewProblem(http.StatusNotFound, "tenant_not_found", "tenant "+quote(ref)+" not found")
		}
		f.TenantIDs = []string{t.ID}
	}
	items, next, err := a.core.AuditList(r.Context(), r.Actor, p, f)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, List[wire.AuditEntry]{Data: MapSlice(items, auditView), NextCursor: next})
}
