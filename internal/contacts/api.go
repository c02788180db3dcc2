package contacts

import (
	_ "embed"
	"net/http"

	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

//go:embed openapi.json
var openapiFragment []byte

// OpenAPI is the contacts system's fragment of the OpenAPI document.
func OpenAPI() []byte { return openapiFragment }

// View is a contact as the API shows it.
func View(c store.Contact) wire.Contact {
	return wire.Contact{ID: c.ID, ExternalID: c.ExternalID, Email: c.Email, Name: c.Name, Locale: c.Locale, Timezone: c.Timezone,
		Metadata: c.Metadata, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func timelineView(e store.TimelineEntry) wire.TimelineEntry {
	return wire.TimelineEntry{ID: e.ID, Kind: e.Kind, Summary: e.Summary, RefType: e.RefType, RefID: e.RefID, CorrelationID: e.CorrelationID, CreatedAt: e.CreatedAt}
}

type api struct{ svc *Service }

// API is the contacts system's part of the HTTP API: contacts and their timelines.
func (s *Service) API() httpapi.System {
	a := &api{svc: s}
	return httpapi.System{Name: "contacts", OpenAPI: openapiFragment, Routes: []httpapi.Route{
		{Method: "GET", Pattern: "/v1/contacts", Tenant: "header", Handler: a.list},
		{Method: "PUT", Pattern: "/v1/contacts/{contact}", Tenant: "header", Handler: a.put},
		{Method: "GET", Pattern: "/v1/contacts/{contact}", Tenant: "header", Handler: a.get},
		{Method: "GET", Pattern: "/v1/contacts/{contact}/timeline", Tenant: "header", Handler: a.timeline},
	}}
}

func (a *api) put(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.ContactUpsert
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	c, created, err := a.svc.Upsert(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"),
		Input{Email: in.Email, Name: in.Name, Locale: in.Locale, Timezone: in.Timezone, Metadata: in.Metadata})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return httpapi.WriteJSON(w, status, View(c))
}

func (a *api) get(w http.ResponseWriter, r *httpapi.Request) error {
	c, err := a.svc.core.ContactGet(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, View(c))
}

func (a *api) list(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.svc.List(r.Context(), r.Actor, r.Tenant.ID, p, r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.Contact]{Data: httpapi.MapSlice(items, View), NextCursor: next})
}

func (a *api) timeline(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.svc.Timeline(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"), p)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.TimelineEntry]{Data: httpapi.MapSlice(items, timelineView), NextCursor: next})
}
