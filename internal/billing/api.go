package billing

import (
	_ "embed"
	"net/http"
	"strings"

	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

func subscriptionView(s Subscription) wire.Subscription {
	return wire.Subscription{ID: s.ID, StripeSubscription: s.StripeSubscription, StripeCustomer: s.StripeCustomer, Contact: s.ContactExternalID,
		Livemode: s.Livemode, Status: s.Status, Plan: wire.SubscriptionPlan{PriceID: s.PriceID, ProductID: s.ProductID, Nickname: s.PlanNickname},
		Quantity: s.Quantity, CurrentPeriodEnd: httpapi.UTCPtr(s.CurrentPeriodEnd), CancelAtPeriodEnd: s.CancelAtPeriodEnd, CancelAt: httpapi.UTCPtr(s.CancelAt),
		TrialEnd: httpapi.UTCPtr(s.TrialEnd), CanceledAt: httpapi.UTCPtr(s.CanceledAt), LatestInvoice: s.LatestInvoice, PaymentStatus: s.PaymentStatus,
		LastEventID: s.StateEventID, LastEventCreated: httpapi.UTCPtr(s.StateEventCreated), CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
}

// testmode reads ?livemode= (default true: live state).
func testmode(r *httpapi.Request) (bool, error) {
	switch r.URL.Query().Get("livemode") {
	case "", "true":
		return false, nil
	case "false":
		return true, nil
	}
	return false, httpapi.NewProblem(http.StatusBadRequest, "invalid_livemode", "livemode must be true (live state, the default) or false (test-mode state)")
}

func (a *api) subscriptionList(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	tm, err := testmode(r)
	if err != nil {
		return err
	}
	f := Filter{Contact: r.URL.Query().Get("contact"), Testmode: tm}
	for _, st := range strings.Split(r.URL.Query().Get("status"), ",") {
		if st = strings.TrimSpace(st); st != "" {
			f.Statuses = append(f.Statuses, st)
		}
	}
	items, next, err := a.svc.List(r.Context(), r.Actor, r.Tenant.ID, p, f)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[wire.Subscription]{Data: httpapi.MapSlice(items, subscriptionView), NextCursor: next})
}

func (a *api) subscriptionGet(w http.ResponseWriter, r *httpapi.Request) error {
	tm, err := testmode(r)
	if err != nil {
		return err
	}
	s, hist, err := a.svc.Get(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("subscription"), tm)
	if err != nil {
		return err
	}
	v := subscriptionView(s)
	v.History = httpapi.MapSlice(hist, func(c SubscriptionChange) wire.SubscriptionChange {
		return wire.SubscriptionChange{ID: c.ID, EventID: c.EventID, StripeEventID: c.StripeEventID, Type: c.EventType, EventCreated: c.EventCreated.UTC(),
			FromStatus: c.FromStatus, ToStatus: c.ToStatus, Changes: c.Changes, CorrelationID: c.CorrelationID, CreatedAt: c.CreatedAt.UTC()}
	})
	if v.History == nil {
		v.History = []wire.SubscriptionChange{}
	}
	return httpapi.WriteJSON(w, http.StatusOK, v)
}

// linkView shows a tenant's link of a customer to a contact.
func linkView(l CustomerLink) wire.BillingCustomer {
	return wire.BillingCustomer{StripeCustomer: l.StripeCustomer, Contact: l.ContactExternalID, LinkSource: l.LinkSource,
		CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}
}

// routeView shows an instance route (with its contact link, if any).
func routeView(rt CustomerRoute) wire.BillingCustomer {
	v := wire.BillingCustomer{StripeCustomer: rt.StripeCustomer, Tenant: rt.Tenant.Slug, LinkSource: rt.LinkSource,
		CreatedAt: rt.CreatedAt.UTC(), UpdatedAt: rt.UpdatedAt.UTC()}
	if rt.Link != nil {
		v.Contact = rt.Link.ContactExternalID
	}
	return v
}

func (a *api) billingCustomerPut(w http.ResponseWriter, r *httpapi.Request) error {
	var in wire.BillingCustomerPut
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	customer := r.PathValue("customer")
	var out wire.BillingCustomer
	var created bool
	if r.Tenant.ID == store.InstanceTenantID {
		rt, c, err := a.svc.RouteCustomer(r.Context(), r.Actor, customer, in.Tenant, in.Contact)
		if err != nil {
			return err
		}
		out, created = routeView(rt), c
	} else {
		if in.Tenant != "" && in.Tenant != r.Tenant.ID && in.Tenant != r.Tenant.Slug {
			return httpapi.NewProblem(http.StatusBadRequest, "invalid_tenant", "a tenant links its own customers: leave tenant out, "+
				"or route a customer of the instance's Stripe sources with the root key and no Joist-Tenant header")
		}
		if in.Contact == "" {
			return httpapi.NewProblem(http.StatusBadRequest, "missing_contact", "contact is required: the external id of the contact this Stripe customer is")
		}
		l, c, err := a.svc.LinkCustomer(r.Context(), r.Actor, r.Tenant.ID, customer, in.Contact)
		if err != nil {
			return err
		}
		out, created = linkView(l), c
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return httpapi.WriteJSON(w, status, out)
}

func (a *api) billingCustomerGet(w http.ResponseWriter, r *httpapi.Request) error {
	l, rt, err := a.svc.GetCustomer(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("customer"))
	if err != nil {
		return err
	}
	if rt != nil {
		return httpapi.WriteJSON(w, http.StatusOK, routeView(*rt))
	}
	return httpapi.WriteJSON(w, http.StatusOK, linkView(l))
}

//go:embed openapi.json
var openapiFragment []byte

// OpenAPI is the fragment of /openapi.json that describes this system's
// routes (merged by the HTTP kit).
func OpenAPI() []byte { return openapiFragment }

// api serves the billing system's routes.
type api struct{ svc *Service }

// API is the billing system's part of the HTTP API: subscription state and
// Stripe customers' links and routes.
func (s *Service) API() httpapi.System {
	a := &api{svc: s}
	return httpapi.System{Name: "billing", OpenAPI: openapiFragment, Routes: []httpapi.Route{
		{Method: "GET", Pattern: "/v1/subscriptions", Tenant: "header", Handler: a.subscriptionList},
		{Method: "GET", Pattern: "/v1/subscriptions/{subscription}", Tenant: "header", Handler: a.subscriptionGet},
		{Method: "PUT", Pattern: "/v1/billing/customers/{customer}", Tenant: "header", Instance: true, Handler: a.billingCustomerPut},
		{Method: "GET", Pattern: "/v1/billing/customers/{customer}", Tenant: "header", Instance: true, Handler: a.billingCustomerGet},
	}}
}
