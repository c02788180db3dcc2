package notify

import (
	_ "embed"
	"errors"
	"net/http"
	"strings"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

//go:embed openapi_push.json
var openapiPush []byte

// PushOpenAPI is the push routes' fragment of /openapi.json.
func PushOpenAPI() []byte { return openapiPush }

// API is the push channel's part of the HTTP API: the VAPID public key,
// browsers' subscriptions (contact token) and phones' devices (API key).
func (p *Push) API() httpapi.System {
	return httpapi.System{Name: "push", OpenAPI: PushOpenAPI(), Routes: []httpapi.Route{
		{Method: "GET", Pattern: "/v1/push/vapid-public-key", Public: true, Handler: p.apiVAPIDKey},
		{Method: "POST", Pattern: "/v1/push/subscriptions", Public: true, Handler: p.apiSubscribe},
		{Method: "DELETE", Pattern: "/v1/push/subscriptions", Public: true, Handler: p.apiUnsubscribe},
		{Method: "POST", Pattern: "/v1/contacts/{contact}/devices", Tenant: "header", Idempotent: true, Handler: p.apiDeviceRegister},
		{Method: "DELETE", Pattern: "/v1/contacts/{contact}/devices", Tenant: "header", Handler: p.apiDeviceDelete},
		{Method: "GET", Pattern: "/v1/contacts/{contact}/devices", Tenant: "header", Handler: p.apiDeviceList},
	}}
}

// pushUnauthorized is the 401 of a push request without a usable credential.
func pushUnauthorized(w http.ResponseWriter, detail string) error {
	w.Header().Set("WWW-Authenticate", `Bearer realm="joist"`)
	return httpapi.NewProblem(http.StatusUnauthorized, "invalid_contact_token", detail)
}

// contact authenticates r by its contact token.
func (p *Push) contact(w http.ResponseWriter, r *httpapi.Request) (tenantID, contactID string, err error) {
	ca := p.contactAuth.Load()
	if ca == nil || *ca == nil {
		return "", "", pushUnauthorized(w, "contact tokens are not available on this server")
	}
	tenantID, contactID, err = (*ca).Contact(r.Request)
	if p.opts.CORS != nil {
		p.opts.CORS(w, r.Request, tenantID)
	}
	if err != nil {
		var pr *httpapi.Problem
		if errors.As(err, &pr) {
			return "", "", pr
		}
		return "", "", pushUnauthorized(w, "send a contact token (POST /v1/contacts/{contact}/tokens) as 'Authorization: Bearer <token>': "+err.Error())
	}
	return tenantID, contactID, nil
}

// apiVAPIDKey answers the tenant's public key to an API key (its tenant,
// or Joist-Tenant with the root key) or a contact token (its tenant).
func (p *Push) apiVAPIDKey(w http.ResponseWriter, r *httpapi.Request) error {
	bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var actor auth.Actor
	var tenantID string
	if hasBearer && bearer != "" && p.opts.Authenticate != nil {
		a, err := p.opts.Authenticate(r.Context(), bearer)
		if err != nil && strings.HasPrefix(bearer, "jk_") {
			// An API key (not a contact token) that is wrong or revoked:
			// say so rather than blame a contact token.
			w.Header().Set("WWW-Authenticate", `Bearer realm="joist"`)
			return err
		}
		if err == nil {
			a.IP, a.CorrelationID = r.ClientIP, r.CorrelationID
			ref := r.Header.Get("Joist-Tenant")
			switch {
			case ref == "" && a.Type == auth.ActorKey:
				ref = a.TenantIDs[0]
			case ref == "":
				return httpapi.NewProblem(http.StatusBadRequest, "tenant_required", "this route acts on one tenant: send 'Joist-Tenant: <slug or id>' with the root key")
			}
			t, err := p.core.TenantGet(r.Context(), a, ref)
			if err != nil || t.ID == store.InstanceTenantID {
				return httpapi.NewProblem(http.StatusNotFound, "tenant_not_found", "tenant not found")
			}
			actor, tenantID = a, t.ID
		}
	}
	if tenantID == "" {
		tn, contactID, err := p.contact(w, r)
		if err != nil {
			return err
		}
		actor, tenantID = contactActor(contactID, r.CorrelationID, r.ClientIP), tn
	}
	key, err := p.VAPIDPublicKey(r.Context(), actor, tenantID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, wire.VAPIDPublicKey{PublicKey: key})
}

func pushSubView(s PushSubscription) wire.PushSubscription {
	return wire.PushSubscription{ID: s.ID, Endpoint: s.Endpoint, ExpirationTime: httpapi.UTCPtr(s.ExpirationTime),
		CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
}

func (p *Push) apiSubscribe(w http.ResponseWriter, r *httpapi.Request) error {
	tenantID, contactID, err := p.contact(w, r)
	if err != nil {
		return err
	}
	var in wire.PushSubscriptionInput
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	s, created, err := p.Subscribe(r.Context(), contactActor(contactID, r.CorrelationID, r.ClientIP), tenantID, contactID, in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return httpapi.WriteJSON(w, status, pushSubView(s))
}

func (p *Push) apiUnsubscribe(w http.ResponseWriter, r *httpapi.Request) error {
	tenantID, contactID, err := p.contact(w, r)
	if err != nil {
		return err
	}
	var in wire.PushSubscriptionDelete
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	if err := p.Unsubscribe(r.Context(), contactActor(contactID, r.CorrelationID, r.ClientIP), tenantID, contactID, in.Endpoint); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func deviceView(d Device) wire.Device {
	return wire.Device{ID: d.ID, Platform: d.Platform, Token: d.Token, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

func (p *Push) apiDeviceRegister(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.DeviceInput
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	d, created, err := p.DeviceRegister(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return httpapi.WriteJSON(w, status, deviceView(d))
}

func (p *Push) apiDeviceDelete(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.DeviceInput
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	if err := p.DeviceDelete(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"), in); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (p *Push) apiDeviceList(w http.ResponseWriter, r *httpapi.Request) error {
	list, err := p.DeviceList(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("contact"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.Device]{Data: list})
}
