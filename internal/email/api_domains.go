package email

import (
	"errors"
	"net/http"

	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// domainRoutes are the sending domains' routes. Like webhook sources, a
// domain belongs to the tenant of the request, or to the instance with the
// root key and no Joist-Tenant.
func (a *api) domainRoutes() []httpapi.Route {
	return []httpapi.Route{
		{Method: "POST", Pattern: "/v1/domains", Tenant: "header", Instance: true, Idempotent: true, Handler: a.domainCreate},
		{Method: "GET", Pattern: "/v1/domains", Tenant: "header", Instance: true, Handler: a.domainList},
		{Method: "GET", Pattern: "/v1/domains/{domain}", Tenant: "header", Instance: true, Handler: a.domainGet},
		{Method: "DELETE", Pattern: "/v1/domains/{domain}", Tenant: "header", Instance: true, Handler: a.domainDelete},
		{Method: "GET", Pattern: "/v1/domains/{domain}/check", Tenant: "header", Instance: true, Handler: a.domainCheck},
		{Method: "POST", Pattern: "/v1/domains/{domain}/rotate-dkim", Tenant: "header", Instance: true, Handler: a.domainRotate},
	}
}

// DomainView is a domain as the API shows it, with the records to publish.
func DomainView(d Domain) wire.Domain {
	v := wire.Domain{Name: d.Name, Provider: d.Provider, SPFInclude: d.SPFInclude, Instance: d.TenantID == store.InstanceTenantID,
		DKIM: []wire.DomainKey{}, Records: Records(d), CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	for _, k := range d.Keys {
		v.DKIM = append(v.DKIM, wire.DomainKey{Selector: k.Selector, Algorithm: k.Algorithm, Status: k.Status, CreatedAt: k.CreatedAt.UTC(),
			ActivatedAt: httpapi.UTCPtr(k.ActivatedAt), RetiredAt: httpapi.UTCPtr(k.RetiredAt)})
	}
	return v
}

func (a *api) domainCreate(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.DomainCreate
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	d, err := a.svc.CreateDomain(r.Context(), r.Actor, r.Tenant.ID, DomainInput{Name: in.Name, Provider: in.Provider, Ed25519: in.Ed25519,
		SPFInclude: in.SPFInclude})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/domains/"+d.Name)
	return httpapi.WriteJSON(w, http.StatusCreated, DomainView(d))
}

func (a *api) domainList(w http.ResponseWriter, r *httpapi.Request) error {
	list, err := a.svc.ListDomains(r.Context(), r.Actor, r.Tenant.ID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.Domain]{Data: httpapi.MapSlice(list, DomainView)})
}

func (a *api) domainGet(w http.ResponseWriter, r *httpapi.Request) error {
	d, err := a.svc.GetDomain(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("domain"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, DomainView(d))
}

func (a *api) domainDelete(w http.ResponseWriter, r *httpapi.Request) error {
	if err := a.svc.DeleteDomain(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("domain")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) domainCheck(w http.ResponseWriter, r *httpapi.Request) error {
	rep, err := a.svc.CheckDomain(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("domain"))
	if errors.Is(err, ErrDNSUnavailable) {
		return httpapi.NewProblem(http.StatusServiceUnavailable, "dns_unavailable", err.Error()+" (JOIST_DNS_SERVER); check again once it answers")
	}
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, rep)
}

func (a *api) domainRotate(w http.ResponseWriter, r *httpapi.Request) error {
	d, err := a.svc.RotateDKIM(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("domain"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, DomainView(d))
}
