package notify

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/wire"
)

//go:embed openapi_feed.json
var openapiFeed []byte

//go:embed static/notify.js
var notifyJS []byte

// OpenAPIFeed is the fragment of /openapi.json describing the feed's routes.
func OpenAPIFeed() []byte { return openapiFeed }

// feedAPI serves the feed's routes.
type feedAPI struct{ feed *Feed }

// API is the feed's part of the HTTP API: contact tokens and the feed
// secret, notification settings (API key), and the end user's feed and
// its stream (contact token).
func (f *Feed) API() httpapi.System {
	a := &feedAPI{feed: f}
	return httpapi.System{Name: "notify-feed", OpenAPI: openapiFeed, Routes: []httpapi.Route{
		{Method: "POST", Pattern: "/v1/contacts/{contact}/tokens", Tenant: "header", Handler: a.tokenCreate},
		{Method: "GET", Pattern: "/v1/feed-secret", Tenant: "header", Handler: a.secretGet},
		{Method: "POST", Pattern: "/v1/feed-secret/rotate", Tenant: "header", Handler: a.secretRotate},
		{Method: "GET", Pattern: "/v1/notification-settings", Tenant: "header", Handler: a.settingsGet},
		{Method: "PUT", Pattern: "/v1/notification-settings", Tenant: "header", Handler: a.settingsPut},

		// The end user's routes authenticate the contact token themselves.
		{Method: "GET", Pattern: "/v1/feed", Public: true, Handler: a.list},
		{Method: "GET", Pattern: "/v1/feed/counts", Public: true, Handler: a.counts},
		{Method: "GET", Pattern: streamPath, Public: true, Handler: a.stream},
		{Method: "POST", Pattern: "/v1/feed/read-all", Public: true, Handler: a.readAll},
		{Method: "POST", Pattern: "/v1/feed/{notification}/{action}", Public: true, Handler: a.setState},
		{Method: "GET", Pattern: "/v1/feed/preferences", Public: true, Handler: a.prefsGet},
		{Method: "PUT", Pattern: "/v1/feed/preferences", Public: true, Handler: a.prefsPut},
	}}
}

// Register adds what the feed serves beside the API: GET /notify.js (the
// embeddable bell) and the CORS preflights of the feed routes.
func (f *Feed) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /notify.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*") // a public script, loadable from any page
		_, _ = w.Write(notifyJS)
	})
	mux.HandleFunc("OPTIONS /v1/feed", f.Preflight)
	mux.HandleFunc("OPTIONS /v1/feed/{rest...}", f.Preflight)
	// A page subscribing its browser to web push calls these with its
	// contact token too.
	mux.HandleFunc("OPTIONS /v1/push/{rest...}", f.Preflight)
}

// auth authenticates the contact token and answers CORS for the token's
// tenant (for a refused token: for any tenant listing the origin, so the
// page can read the 401 and fetch a fresh token).
func (a *feedAPI) auth(w http.ResponseWriter, r *httpapi.Request) (principal, error) {
	p, err := a.feed.principal(r.Request)
	if err != nil {
		a.feed.CORS(w, r.Request, "")
		w.Header().Set("WWW-Authenticate", `Bearer realm="joist-feed"`)
		return principal{}, err
	}
	a.feed.CORS(w, r.Request, p.tenantID)
	return p, nil
}

func (a *feedAPI) tokenCreate(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.ContactTokenCreate
	if err := httpapi.DecodeOptional(r.Request, &in); err != nil {
		return err
	}
	var ttl time.Duration
	if in.TTL != "" {
		var err error
		if ttl, err = time.ParseDuration(in.TTL); err != nil || ttl <= 0 {
			return fieldErr("ttl", "invalid_ttl", "ttl must be a Go duration from 1s to 24h, such as \"1h\"")
		}
	}
	tok, exp, err := a.feed.MintToken(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"), ttl)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteJSON(w, http.StatusCreated, wire.ContactToken{Token: tok, ExpiresAt: exp.UTC()})
}

func secretView(list []FeedSecret) wire.FeedSecret {
	v := wire.FeedSecret{Kid: list[0].Kid, Secret: list[0].Secret, CreatedAt: list[0].CreatedAt.UTC(), Previous: []wire.FeedSecretPrev{}}
	for _, s := range list[1:] {
		if s.ExpiresAt != nil {
			v.Previous = append(v.Previous, wire.FeedSecretPrev{Kid: s.Kid, CreatedAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC()})
		}
	}
	return v
}

func (a *feedAPI) secretGet(w http.ResponseWriter, r *httpapi.Request) error {
	list, err := a.feed.FeedSecrets(r.Context(), r.Actor, r.Tenant.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteJSON(w, http.StatusOK, secretView(list))
}

func (a *feedAPI) secretRotate(w http.ResponseWriter, r *httpapi.Request) error {
	list, err := a.feed.RotateFeedSecret(r.Context(), r.Actor, r.Tenant.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteJSON(w, http.StatusOK, secretView(list))
}

func (a *feedAPI) settingsGet(w http.ResponseWriter, r *httpapi.Request) error {
	s, err := a.feed.Settings(r.Context(), r.Actor, r.Tenant.ID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, s)
}

func (a *feedAPI) settingsPut(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.NotificationSettings
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	s, err := a.feed.PutSettings(r.Context(), r.Actor, r.Tenant.ID, in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, s)
}

func (a *feedAPI) list(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := a.auth(w, r)
	if err != nil {
		return err
	}
	tenantID, contactID := p.tenantID, p.contactID
	page, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	items, next, err := a.feed.List(r.Context(), tenantID, contactID, r.URL.Query().Get("status"), page)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.FeedItem]{Data: items, NextCursor: next})
}

func (a *feedAPI) counts(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := a.auth(w, r)
	if err != nil {
		return err
	}
	tenantID, contactID := p.tenantID, p.contactID
	c, err := a.feed.Counts(r.Context(), tenantID, contactID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteJSON(w, http.StatusOK, c)
}

func (a *feedAPI) setState(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := a.auth(w, r)
	if err != nil {
		return err
	}
	tenantID, contactID := p.tenantID, p.contactID
	it, err := a.feed.SetState(r.Context(), tenantID, contactID, r.PathValue("notification"), r.PathValue("action"), r.CorrelationID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, it)
}

func (a *feedAPI) readAll(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := a.auth(w, r)
	if err != nil {
		return err
	}
	tenantID, contactID := p.tenantID, p.contactID
	n, err := a.feed.ReadAll(r.Context(), tenantID, contactID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, wire.FeedReadAll{Updated: n})
}

// FeedPreferences reads and replaces a contact's own preferences (the
// notification Service's Preferences and SetPreferences, which validate).
type FeedPreferences interface {
	Preferences(ctx context.Context, tenantID, contactID string) (wire.NotificationPreferences, error)
	SetPreferences(ctx context.Context, tenantID, contactID string, in wire.NotificationPreferencesPut) (wire.NotificationPreferences, error)
}

// prefsGet answers the token's contact's own preferences.
func (a *feedAPI) prefsGet(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := a.auth(w, r)
	if err != nil {
		return err
	}
	out, err := a.feed.opts.Preferences.Preferences(r.Context(), p.tenantID, p.contactID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

// prefsPut replaces the token's contact's own overrides.
func (a *feedAPI) prefsPut(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := a.auth(w, r)
	if err != nil {
		return err
	}
	var in wire.NotificationPreferencesPut
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	out, err := a.feed.opts.Preferences.SetPreferences(r.Context(), p.tenantID, p.contactID, in)
	if err != nil {
		return edge(err)
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}
