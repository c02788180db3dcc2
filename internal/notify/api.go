package notify

import (
	_ "embed"
	"errors"
	"net/http"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

//go:embed openapi.json
var openapiJSON []byte

// OpenAPI is the fragment of /openapi.json that describes the
// notification system's routes (types, events, preferences).
func OpenAPI() []byte { return openapiJSON }

type api struct{ svc *Service }

// API is the notification system's part of the HTTP API.
func (s *Service) API() httpapi.System {
	a := &api{svc: s}
	return httpapi.System{Name: "notify", OpenAPI: OpenAPI(), Routes: []httpapi.Route{
		{Method: "PUT", Pattern: "/v1/notification-types/{type}", Tenant: "header", Instance: true, Handler: a.typePut},
		{Method: "GET", Pattern: "/v1/notification-types", Tenant: "header", Instance: true, Handler: a.typeList},
		{Method: "GET", Pattern: "/v1/notification-types/{type}", Tenant: "header", Instance: true, Handler: a.typeGet},
		{Method: "DELETE", Pattern: "/v1/notification-types/{type}", Tenant: "header", Instance: true, Handler: a.typeDelete},
		{Method: "POST", Pattern: "/v1/events", Tenant: "header", Idempotent: true, MaxBodyBytes: 8 << 20, Handler: a.eventPost},
		{Method: "GET", Pattern: "/v1/events", Tenant: "header", Handler: a.eventList},
		{Method: "GET", Pattern: "/v1/events/{event}", Tenant: "header", Handler: a.eventGet},
		{Method: "GET", Pattern: "/v1/events/{event}/notifications", Tenant: "header", Handler: a.eventNotifications},
		{Method: "GET", Pattern: "/v1/contacts/{contact}/preferences", Tenant: "header", Handler: a.prefsGet},
		{Method: "PUT", Pattern: "/v1/contacts/{contact}/preferences", Tenant: "header", Handler: a.prefsPut},
	}}
}

// unprocessable are the codes answered 422: well-formed requests joist
// cannot act on.
var unprocessable = map[string]bool{"unknown_type": true, "type_is_critical": true}

func edge(err error) error {
	var ce *core.Error
	if errors.As(err, &ce) && unprocessable[ce.Code] {
		p := httpapi.NewProblem(http.StatusUnprocessableEntity, ce.Code, ce.Message)
		p.Field = ce.Field
		return p
	}
	return err
}

// TypeView is a type as the API shows it.
func TypeView(t Type) wire.NotificationType {
	v := wire.NotificationType{Name: t.Name, Owner: "tenant", Channels: t.Channels, Defaults: map[string]bool{}, Critical: t.Critical,
		Group: t.Group, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
	if t.TenantID == store.InstanceTenantID {
		v.Owner = "instance"
	}
	for _, ch := range Channels {
		if t.Has(ch) {
			v.Defaults[ch] = t.Default(ch)
		}
	}
	if t.DigestWindow != "" {
		v.Digest = &wire.NotificationDigest{Window: t.DigestWindow, Key: t.DigestKey}
	}
	return v
}

// EventView is an event as the API shows it.
func EventView(e Event, skips []wire.NotifyEventSkip) wire.NotifyEvent {
	return wire.NotifyEvent{ID: e.ID, Type: e.Type, Data: e.Data, Actor: e.Actor, Status: e.Status, Recipients: e.RecipientCount,
		Notified: e.Notified, Skipped: e.Skipped, Skips: skips, JobID: e.JobID, CorrelationID: e.CorrelationID, CreatedAt: e.CreatedAt.UTC(),
		CompletedAt: httpapi.UTCPtr(e.CompletedAt)}
}

// NotificationView is a notification with its deliveries as the API shows it.
func NotificationView(n Notification) wire.Notification {
	v := wire.Notification{ID: n.ID, Event: n.EventID, Contact: n.ContactExternalID, Type: n.Type, Title: n.Title, Body: n.Body, URL: n.URL,
		InFeed: n.InFeed, Deliveries: []wire.NotificationDelivery{}, CreatedAt: n.CreatedAt.UTC()}
	for _, d := range n.Deliveries {
		v.Deliveries = append(v.Deliveries, wire.NotificationDelivery{ID: d.ID, Channel: d.Channel, Status: d.Status, Reason: d.Reason,
			Detail: d.Detail, Target: d.Target, UpdatedAt: d.UpdatedAt.UTC()})
	}
	return v
}

func created(ok bool) int {
	if ok {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (a *api) typePut(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.NotificationTypePut
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	t, ok, err := a.svc.TypePut(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("type"), in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, created(ok), TypeView(t))
}

func (a *api) typeGet(w http.ResponseWriter, r *httpapi.Request) error {
	t, err := a.svc.TypeGet(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("type"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, TypeView(t))
}

func (a *api) typeList(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.svc.TypeList(r.Context(), r.Actor, r.Tenant.ID, p)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.NotificationType]{Data: httpapi.MapSlice(items, TypeView), NextCursor: next})
}

func (a *api) typeDelete(w http.ResponseWriter, r *httpapi.Request) error {
	if err := a.svc.TypeDelete(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("type")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) eventPost(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.NotifyEventPost
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	e, err := a.svc.Post(r.Context(), r.Actor, r.Tenant.ID, r.Header.Get("Idempotency-Key"),
		EventInput{Type: in.Type, Recipients: in.Recipients, Data: in.Data, Actor: in.Actor})
	if err != nil {
		return edge(err)
	}
	w.Header().Set("Location", "/v1/events/"+e.ID)
	return httpapi.WriteJSON(w, http.StatusAccepted, EventView(e, nil))
}

func (a *api) eventGet(w http.ResponseWriter, r *httpapi.Request) error {
	d, err := a.svc.EventGet(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("event"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, EventView(d.Event, d.Skips))
}

func (a *api) eventList(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.svc.EventList(r.Context(), r.Actor, r.Tenant.ID, p, r.URL.Query().Get("type"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.NotifyEvent]{Data: httpapi.MapSlice(items, func(e Event) wire.NotifyEvent {
		return EventView(e, nil)
	}), NextCursor: next})
}

func (a *api) eventNotifications(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.svc.EventNotifications(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("event"), p)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.Notification]{Data: httpapi.MapSlice(items, NotificationView), NextCursor: next})
}

func (a *api) prefsGet(w http.ResponseWriter, r *httpapi.Request) error {
	id, err := a.svc.contactID(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"), auth.PermRead)
	if err != nil {
		return err
	}
	out, err := a.svc.Preferences(r.Context(), r.Tenant.ID, id)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

func (a *api) prefsPut(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.NotificationPreferencesPut
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	id, err := a.svc.contactID(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"), auth.PermContactsWrite)
	if err != nil {
		return err
	}
	out, err := a.svc.setPreferences(r.Context(), r.Actor, r.Tenant.ID, id, in)
	if err != nil {
		return edge(err)
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}
