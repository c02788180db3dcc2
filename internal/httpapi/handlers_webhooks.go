package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/webhook"
	"github.com/joist-dev/joist/internal/webhook/verify"
)

// WebhookSource is a source in API responses (secrets only as hints).
type WebhookSource struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Provider     string          `json:"provider"`
	IngestURL    string          `json:"ingest_url"`
	Secrets      []SecretHint    `json:"secrets"`
	Tolerance    string          `json:"tolerance"`
	ForwardURL   string          `json:"forward_url"`
	ForwardTypes []string        `json:"forward_types"`
	Settings     json.RawMessage `json:"settings"`
	Billing      bool            `json:"billing"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

// SecretHint names a stored secret without revealing it.
type SecretHint struct {
	Hint      string     `json:"hint"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func sourceView(s webhook.Source) WebhookSource {
	v := WebhookSource{ID: s.ID, Name: s.Name, Provider: s.Provider, IngestURL: s.IngestURL, Tolerance: s.Settings.Tolerance,
		ForwardURL: s.ForwardURL, ForwardTypes: s.ForwardTypes, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Secrets: []SecretHint{},
		Billing: s.Billing()}
	if v.ForwardTypes == nil {
		v.ForwardTypes = []string{}
	}
	for _, sec := range s.Settings.Secrets {
		v.Secrets = append(v.Secrets, SecretHint{Hint: sec.Hint, ExpiresAt: sec.ExpiresAt})
	}
	settings := map[string]string{}
	for k, val := range map[string]string{"header": s.Settings.Header, "algorithm": s.Settings.Algorithm, "encoding": s.Settings.Encoding,
		"prefix": s.Settings.Prefix, "id_header": s.Settings.IDHeader, "id_pointer": s.Settings.IDPointer, "type_pointer": s.Settings.TypePointer, "contact_pointer": s.Settings.ContactPointer} {
		if val != "" {
			settings[k] = val
		}
	}
	v.Settings, _ = json.Marshal(settings)
	return v
}

func (a *API) sourcePut(w http.ResponseWriter, r *request) error {
	var in struct {
		Provider string `json:"provider"`
		Secrets  []struct {
			Secret    string     `json:"secret"`
			ExpiresAt *time.Time `json:"expires_at"`
		} `json:"secrets"`
		Tolerance    string   `json:"tolerance"`
		ForwardURL   string   `json:"forward_url"`
		ForwardTypes []string `json:"forward_types"`
		Header       string   `json:"header"`
		Algorithm    string   `json:"algorithm"`
		Encoding     string   `json:"encoding"`
		Prefix       string   `json:"prefix"`
		IDHeader     string   `json:"id_header"`
		IDPointer    string   `json:"id_pointer"`
		TypePointer  string   `json:"type_pointer"`
		ContactPtr   string   `json:"contact_pointer"`
		Billing      *bool    `json:"billing"`
	}
	if err := decode(r.Request, &in); err != nil {
		return err
	}
	si := webhook.SourceInput{Provider: in.Provider, Tolerance: in.Tolerance, ForwardURL: in.ForwardURL, ForwardTypes: in.ForwardTypes,
		Header: in.Header, Algorithm: in.Algorithm, Encoding: in.Encoding, Prefix: in.Prefix, IDHeader: in.IDHeader, IDPointer: in.IDPointer, TypePointer: in.TypePointer, ContactPointer: in.ContactPtr,
		Billing: in.Billing}
	for _, s := range in.Secrets {
		si.Secrets = append(si.Secrets, webhook.SecretInput{Secret: s.Secret, ExpiresAt: s.ExpiresAt})
	}
	src, created, err := a.webhooks.PutSource(r.Context(), r.actor, r.tenant.ID, r.PathValue("name"), si)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, sourceView(src))
}

func (a *API) sourceGet(w http.ResponseWriter, r *request) error {
	src, err := a.webhooks.GetSource(r.Context(), r.actor, r.tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sourceView(src))
}

func (a *API) sourceList(w http.ResponseWriter, r *request) error {
	list, err := a.webhooks.ListSources(r.Context(), r.actor, r.tenant.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list2[WebhookSource]{Data: mapSlice(list, sourceView)})
}

// list2 is a list without paging (small, bounded lists).
type list2[T any] struct {
	Data []T `json:"data"`
}

func (a *API) sourceDelete(w http.ResponseWriter, r *request) error {
	if err := a.webhooks.DeleteSource(r.Context(), r.actor, r.tenant.ID, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// WebhookRejection is a refused delivery in API responses.
type WebhookRejection struct {
	ID         string          `json:"id"`
	Code       string          `json:"code"`
	Detail     string          `json:"detail"`
	Headers    json.RawMessage `json:"headers"`
	Size       int             `json:"size"`
	RemoteIP   string          `json:"remote_ip"`
	ReceivedAt time.Time       `json:"received_at"`
}

func (a *API) sourceRejections(w http.ResponseWriter, r *request) error {
	list, err := a.webhooks.Rejections(r.Context(), r.actor, r.tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list2[WebhookRejection]{Data: mapSlice(list, func(x store.WebhookRejection) WebhookRejection {
		return WebhookRejection{ID: x.ID, Code: x.Code, Detail: x.Detail, Headers: x.Headers, Size: x.Size, RemoteIP: x.RemoteIP, ReceivedAt: x.ReceivedAt}
	})})
}

// WebhookEvent is an event in API responses; Body is the raw body as text
// (BodyBase64 when it is not valid UTF-8) on the single-event route only.
type WebhookEvent struct {
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	ProviderEventID string          `json:"provider_event_id"`
	Type            string          `json:"type"`
	Status          string          `json:"status"`
	ContentType     string          `json:"content_type"`
	Verification    string          `json:"verification"`
	ForwardJobID    string          `json:"forward_job_id"`
	CorrelationID   string          `json:"correlation_id"`
	ReceivedAt      time.Time       `json:"received_at"`
	Headers         json.RawMessage `json:"headers,omitempty"`
	Body            *string         `json:"body,omitempty"`
}

func eventView(e store.WebhookEvent) WebhookEvent {
	return WebhookEvent{ID: e.ID, Source: e.SourceName, ProviderEventID: e.ProviderEventID, Type: e.EventType, Status: e.Status,
		ContentType: e.ContentType, Verification: e.Verification, ForwardJobID: e.ForwardJobID, CorrelationID: e.CorrelationID, ReceivedAt: e.ReceivedAt}
}

func eventFilter(get func(string) string) (store.WebhookEventFilter, error) {
	f := store.WebhookEventFilter{Source: get("source"), Type: get("type"), ProviderEventID: get("provider_event_id")}
	for _, st := range strings.Split(get("status"), ",") {
		if st = strings.TrimSpace(st); st != "" {
			f.Statuses = append(f.Statuses, st)
		}
	}
	if err := timeRange(get, &f.Since, &f.Until); err != nil {
		return f, err
	}
	return f, nil
}

func (a *API) eventList(w http.ResponseWriter, r *request) error {
	p, err := page(r.Request)
	if err != nil {
		return err
	}
	f, err := eventFilter(r.URL.Query().Get)
	if err != nil {
		return err
	}
	events, next, err := a.webhooks.ListEvents(r.Context(), r.actor, r.tenant.ID, p, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[WebhookEvent]{Data: mapSlice(events, eventView), NextCursor: next})
}

func (a *API) eventGet(w http.ResponseWriter, r *request) error {
	e, err := a.webhooks.GetEvent(r.Context(), r.actor, r.tenant.ID, r.PathValue("event"))
	if err != nil {
		return err
	}
	v := eventView(e)
	v.Headers = e.Headers
	body := string(e.Body)
	v.Body = &body
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) eventReplay(w http.ResponseWriter, r *request) error {
	e, err := a.webhooks.Replay(r.Context(), r.actor, r.tenant.ID, r.PathValue("event"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, eventView(e))
}

func (a *API) eventReplayMany(w http.ResponseWriter, r *request) error {
	var in struct {
		Source          string   `json:"source"`
		Type            string   `json:"type"`
		ProviderEventID string   `json:"provider_event_id"`
		Status          []string `json:"status"`
		Since           string   `json:"since"`
		Until           string   `json:"until"`
	}
	if err := decode(r.Request, &in); err != nil {
		return err
	}
	f, err := eventFilter(func(k string) string {
		return map[string]string{"source": in.Source, "type": in.Type, "provider_event_id": in.ProviderEventID,
			"status": strings.Join(in.Status, ","), "since": in.Since, "until": in.Until}[k]
	})
	if err != nil {
		return err
	}
	n, err := a.webhooks.ReplayMany(r.Context(), r.actor, r.tenant.ID, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"replayed": n})
}

// ingest is the public delivery endpoint POST /in/{tenant}/{source}: it
// answers only after the event (and its forward job) is committed.
func (a *API) ingest(w http.ResponseWriter, r *request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem(http.StatusRequestEntityTooLarge, "body_too_large", "the delivery is larger than the body limit")
		}
		return problem(http.StatusBadRequest, "unreadable_body", err.Error())
	}
	u := strings.TrimRight(a.opts.BaseURL, "/") + r.URL.RequestURI()
	res, err := a.webhooks.Ingest(r.Context(), r.PathValue("tenant"), r.PathValue("source"),
		verify.Request{Method: r.Method, URL: u, Header: r.Header, Body: body}, a.opts.ClientIP(r.Request), r.corrID)
	if err != nil {
		return err // the webhook system's refusals carry their kind: unknown source 404, malformed 400, not authentic 401
	}
	if res.Challenge != nil {
		w.Header().Set("Content-Type", res.ChallengeContentType)
		_, err := w.Write(res.Challenge)
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"id": res.EventID, "duplicate": res.Duplicate})
}
