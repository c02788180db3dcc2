package webhook

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/webhook/verify"
	"github.com/joist-dev/joist/wire"
)

func sourceView(s Source) wire.WebhookSource {
	v := wire.WebhookSource{ID: s.ID, Name: s.Name, Provider: s.Provider, IngestURL: s.IngestURL, Tolerance: s.Settings.Tolerance,
		ForwardURL: s.ForwardURL, ForwardTypes: s.ForwardTypes, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Secrets: []wire.SecretHint{},
		Billing: s.Billing()}
	if v.ForwardTypes == nil {
		v.ForwardTypes = []string{}
	}
	for _, sec := range s.Settings.Secrets {
		v.Secrets = append(v.Secrets, wire.SecretHint{Hint: sec.Hint, ExpiresAt: sec.ExpiresAt})
	}
	settings := map[string]string{}
	for k, val := range map[string]string{"header": s.Settings.Header, "algorithm": s.Settings.Algorithm, "encoding": s.Settings.Encoding,
		"prefix": s.Settings.Prefix, "id_header": s.Settings.IDHeader, "id_pointer": s.Settings.IDPointer, "type_pointer": s.Settings.TypePointer, "contact_pointer": s.Settings.ContactPointer} {
		if val != "" {
			settings[k] = val
		}
	}
	v.Settings = settings
	return v
}

func (a *api) sourcePut(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.WebhookSourcePut
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	si := SourceInput{Provider: in.Provider, Tolerance: in.Tolerance, ForwardURL: in.ForwardURL, ForwardTypes: in.ForwardTypes,
		Header: in.Header, Algorithm: in.Algorithm, Encoding: in.Encoding, Prefix: in.Prefix, IDHeader: in.IDHeader, IDPointer: in.IDPointer, TypePointer: in.TypePointer, ContactPointer: in.ContactPointer,
		Billing: in.Billing}
	for _, s := range in.Secrets {
		si.Secrets = append(si.Secrets, SecretInput{Secret: s.Secret, ExpiresAt: s.ExpiresAt})
	}
	src, created, err := a.svc.PutSource(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"), si)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return httpapi.WriteJSON(w, status, sourceView(src))
}

func (a *api) sourceGet(w http.ResponseWriter, r *httpapi.Request) error {
	src, err := a.svc.GetSource(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, sourceView(src))
}

func (a *api) sourceList(w http.ResponseWriter, r *httpapi.Request) error {
	list, err := a.svc.ListSources(r.Context(), r.Actor, r.Tenant.ID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[wire.WebhookSource]{Data: httpapi.MapSlice(list, sourceView)})
}

func (a *api) sourceDelete(w http.ResponseWriter, r *httpapi.Request) error {
	if err := a.svc.DeleteSource(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) sourceRejections(w http.ResponseWriter, r *httpapi.Request) error {
	list, err := a.svc.Rejections(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[wire.WebhookRejection]{Data: httpapi.MapSlice(list, func(x Rejection) wire.WebhookRejection {
		return wire.WebhookRejection{ID: x.ID, Code: x.Code, Detail: x.Detail, Headers: x.Headers, Size: x.Size, RemoteIP: x.RemoteIP, ReceivedAt: x.ReceivedAt}
	})})
}

func eventView(e Event) wire.WebhookEvent {
	return wire.WebhookEvent{ID: e.ID, Source: e.SourceName, ProviderEventID: e.ProviderEventID, Type: e.EventType, Status: e.Status,
		ContentType: e.ContentType, Verification: e.Verification, ForwardJobID: e.ForwardJobID, CorrelationID: e.CorrelationID, ReceivedAt: e.ReceivedAt}
}

func eventFilter(get func(string) string) (EventFilter, error) {
	f := EventFilter{Source: get("source"), Type: get("type"), ProviderEventID: get("provider_event_id")}
	for _, st := range strings.Split(get("status"), ",") {
		if st = strings.TrimSpace(st); st != "" {
			f.Statuses = append(f.Statuses, st)
		}
	}
	if err := httpapi.TimeRange(get, &f.Since, &f.Until); err != nil {
		return f, err
	}
	return f, nil
}

func (a *api) eventList(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	f, err := eventFilter(r.URL.Query().Get)
	if err != nil {
		return err
	}
	events, next, err := a.svc.ListEvents(r.Context(), r.Actor, r.Tenant.ID, p, f)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.WebhookEvent]{Data: httpapi.MapSlice(events, eventView), NextCursor: next})
}

func (a *api) eventGet(w http.ResponseWriter, r *httpapi.Request) error {
	e, err := a.svc.GetEvent(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("event"))
	if err != nil {
		return err
	}
	v := eventView(e)
	if err := json.Unmarshal(e.Headers, &v.Headers); err != nil {
		return fmt.Errorf("event %s: stored headers: %w", e.ID, err)
	}
	body := string(e.Body)
	v.Body = &body
	return httpapi.WriteJSON(w, http.StatusOK, v)
}

func (a *api) eventReplay(w http.ResponseWriter, r *httpapi.Request) error {
	e, err := a.svc.Replay(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("event"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, eventView(e))
}

func (a *api) eventReplayMany(w http.ResponseWriter, r *httpapi.Request) error {
	var in struct {
		Source          string   `json:"source"`
		Type            string   `json:"type"`
		ProviderEventID string   `json:"provider_event_id"`
		Status          []string `json:"status"`
		Since           string   `json:"since"`
		Until           string   `json:"until"`
	}
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	f, err := eventFilter(func(k string) string {
		return map[string]string{"source": in.Source, "type": in.Type, "provider_event_id": in.ProviderEventID,
			"status": strings.Join(in.Status, ","), "since": in.Since, "until": in.Until}[k]
	})
	if err != nil {
		return err
	}
	n, err := a.svc.ReplayMany(r.Context(), r.Actor, r.Tenant.ID, f)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, wire.WebhookReplayResult{Replayed: n})
}

// ingest is the public delivery endpoint POST /in/{tenant}/{source}: it
// answers only after the event (and its forward job) is committed.
func (a *api) ingest(w http.ResponseWriter, r *httpapi.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return httpapi.NewProblem(http.StatusRequestEntityTooLarge, "body_too_large", "the delivery is larger than the body limit")
		}
		return httpapi.NewProblem(http.StatusBadRequest, "unreadable_body", err.Error())
	}
	u := strings.TrimRight(a.svc.opts.BaseURL, "/") + r.URL.RequestURI()
	res, err := a.svc.Ingest(r.Context(), r.PathValue("tenant"), r.PathValue("source"),
		verify.Request{Method: r.Method, URL: u, Header: r.Header, Body: body}, r.ClientIP, r.CorrelationID)
	if err != nil {
		return err // the webhook system's refusals carry their kind: unknown source 404, malformed 400, not authentic 401
	}
	if res.Challenge != nil {
		w.Header().Set("Content-Type", res.ChallengeContentType)
		_, err := w.Write(res.Challenge)
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, wire.IngestResult{ID: res.EventID, Duplicate: res.Duplicate})
}

//go:embed openapi.json
var openapiFragment []byte

// OpenAPI is the fragment of /openapi.json that describes this system's
// routes (merged by the HTTP kit).
func OpenAPI() []byte { return openapiFragment }

// api serves the webhook system's routes.
type api struct{ svc *Service }

// API is the webhook system's part of the HTTP API: sources, events,
// rejections, replay, and the public ingest route /in/{tenant}/{source}.
func (s *Service) API() httpapi.System {
	a := &api{svc: s}
	return httpapi.System{Name: "webhook", OpenAPI: openapiFragment, Routes: []httpapi.Route{
		{Method: "PUT", Pattern: "/v1/webhook-sources/{name}", Tenant: "header", Instance: true, Handler: a.sourcePut},
		{Method: "GET", Pattern: "/v1/webhook-sources", Tenant: "header", Instance: true, Handler: a.sourceList},
		{Method: "GET", Pattern: "/v1/webhook-sources/{name}", Tenant: "header", Instance: true, Handler: a.sourceGet},
		{Method: "DELETE", Pattern: "/v1/webhook-sources/{name}", Tenant: "header", Instance: true, Handler: a.sourceDelete},
		{Method: "GET", Pattern: "/v1/webhook-sources/{name}/rejections", Tenant: "header", Instance: true, Handler: a.sourceRejections},
		{Method: "GET", Pattern: "/v1/webhook-events", Tenant: "header", Instance: true, Handler: a.eventList},
		{Method: "GET", Pattern: "/v1/webhook-events/{event}", Tenant: "header", Instance: true, Handler: a.eventGet},
		{Method: "POST", Pattern: "/v1/webhook-events/{event}/replay", Tenant: "header", Instance: true, Handler: a.eventReplay},
		{Method: "POST", Pattern: "/v1/webhook-events/replay", Tenant: "header", Instance: true, Handler: a.eventReplayMany},
		{Method: "POST", Pattern: "/in/{tenant}/{source}", Public: true, Handler: a.ingest},
	}, Prefixes: []httpapi.Route{
		{Pattern: "/in/", Handler: func(w http.ResponseWriter, r *httpapi.Request) error {
			w.Header().Set("Allow", "POST")
			return httpapi.NewProblem(http.StatusMethodNotAllowed, "method_not_allowed", "webhooks are delivered with POST to /in/{tenant}/{source}")
		}},
	}}
}
