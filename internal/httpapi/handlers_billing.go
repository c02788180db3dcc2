package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/billing"
	"github.com/joist-dev/joist/internal/store"
)

// SetBilling gives the API the billing service (app wiring).
func (a *API) SetBilling(b *billing.Service) { a.billing = b }

// SubscriptionPlan is a subscription's price.
type SubscriptionPlan struct {
	PriceID   string `json:"price_id"`
	ProductID string `json:"product_id"`
	Nickname  string `json:"nickname"`
}

// Subscription is billing state in API responses.
type Subscription struct {
	ID                 string               `json:"id"`
	StripeSubscription string               `json:"stripe_subscription"`
	StripeCustomer     string               `json:"stripe_customer"`
	Contact            string               `json:"contact"`
	Livemode           bool                 `json:"livemode"`
	Status             string               `json:"status"`
	Plan               SubscriptionPlan     `json:"plan"`
	Quantity           int                  `json:"quantity"`
	CurrentPeriodEnd   *time.Time           `json:"current_period_end"`
	CancelAtPeriodEnd  bool                 `json:"cancel_at_period_end"`
	CancelAt           *time.Time           `json:"cancel_at"`
	TrialEnd           *time.Time           `json:"trial_end"`
	CanceledAt         *time.Time           `json:"canceled_at"`
	LatestInvoice      string               `json:"latest_invoice"`
	PaymentStatus      string               `json:"payment_status"`
	LastEventID        string               `json:"last_event_id"`
	LastEventCreated   *time.Time           `json:"last_event_created"`
	CreatedAt          time.Time            `json:"created_at"`
	UpdatedAt          time.Time            `json:"updated_at"`
	History            []SubscriptionChange `json:"history,omitempty"`
}

// SubscriptionChange is one applied change in a subscription's history.
type SubscriptionChange struct {
	ID            string          `json:"id"`
	EventID       string          `json:"event_id"`
	StripeEventID string          `json:"stripe_event_id"`
	Type          string          `json:"type"`
	EventCreated  time.Time       `json:"event_created"`
	FromStatus    string          `json:"from_status"`
	ToStatus      string          `json:"to_status"`
	Changes       json.RawMessage `json:"changes"`
	CorrelationID string          `json:"correlation_id"`
	CreatedAt     time.Time       `json:"created_at"`
}

func subscriptionView(s store.Subscription) Subscription {
	return Subscription{ID: s.ID, StripeSubscription: s.StripeSubscription, StripeCustomer: s.StripeCustomer, Contact: s.ContactExternalID,
		Livemode: s.Livemode, Status: s.Status, Plan: SubscriptionPlan{PriceID: s.PriceID, ProductID: s.ProductID, Nickname: s.PlanNickname},
		Quantity: s.Quantity, CurrentPeriodEnd: utcPtr(s.CurrentPeriodEnd), CancelAtPeriodEnd: s.CancelAtPeriodEnd, CancelAt: utcPtr(s.CancelAt),
		TrialEnd: utcPtr(s.TrialEnd), CanceledAt: utcPtr(s.CanceledAt), LatestInvoice: s.LatestInvoice, PaymentStatus: s.PaymentStatus,
		LastEventID: s.StateEventID, LastEventCreated: utcPtr(s.StateEventCreated), CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
}

// testmode reads ?livemode= (default true: live state).
func testmode(r *request) (bool, error) {
	switch r.URL.Query().Get("livemode") {
	case "", "true":
		return false, nil
	case "false":
		return true, nil
	}
	return false, problem(http.StatusBadRequest, "invalid_livemode", "livemode must be true (live state, the default) or false (test-mode state)")
}

func (a *API) subscriptionList(w http.ResponseWriter, r *request) error {
	p, err := page(r.Request)
	if err != nil {
		return err
	}
	tm, err := testmode(r)
	if err != nil {
		return err
	}
	f := billing.Filter{Contact: r.URL.Query().Get("contact"), Testmode: tm}
	for _, st := range strings.Split(r.URL.Query().Get("status"), ",") {
		if st = strings.TrimSpace(st); st != "" {
			f.Statuses = append(f.Statuses, st)
		}
	}
	items, next, err := a.billing.List(r.Context(), r.actor, r.tenant.ID, p, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[Subscription]{Data: mapSlice(items, subscriptionView), NextCursor: next})
}

func (a *API) subscriptionGet(w http.ResponseWriter, r *request) error {
	tm, err := testmode(r)
	if err != nil {
		return err
	}
	s, hist, err := a.billing.Get(r.Context(), r.actor, r.tenant.ID, r.PathValue("subscription"), tm)
	if err != nil {
		return err
	}
	v := subscriptionView(s)
	v.History = mapSlice(hist, func(c store.SubscriptionChange) SubscriptionChange {
		return SubscriptionChange{ID: c.ID, EventID: c.EventID, StripeEventID: c.StripeEventID, Type: c.EventType, EventCreated: c.EventCreated.UTC(),
			FromStatus: c.FromStatus, ToStatus: c.ToStatus, Changes: c.Changes, CorrelationID: c.CorrelationID, CreatedAt: c.CreatedAt.UTC()}
	})
	if v.History == nil {
		v.History = []SubscriptionChange{}
	}
	return writeJSON(w, http.StatusOK, v)
}

// BillingCustomer is a Stripe customer's link to a contact and, when set
// on the instance (root key, no Joist-Tenant), its route to a tenant.
type BillingCustomer struct {
	StripeCustomer string    `json:"stripe_customer"`
	Tenant         string    `json:"tenant,omitempty"`
	Contact        string    `json:"contact"`
	LinkSource     string    `json:"link_source"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// linkView shows a tenant's link of a customer to a contact.
func linkView(l billing.CustomerLink) BillingCustomer {
	return BillingCustomer{StripeCustomer: l.StripeCustomer, Contact: l.ContactExternalID, LinkSource: l.LinkSource,
		CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}
}

// routeView shows an instance route (with its contact link, if any).
func routeView(rt billing.CustomerRoute) BillingCustomer {
	v := BillingCustomer{StripeCustomer: rt.StripeCustomer, Tenant: rt.Tenant.Slug, LinkSource: rt.LinkSource,
		CreatedAt: rt.CreatedAt.UTC(), UpdatedAt: rt.UpdatedAt.UTC()}
	if rt.Link != nil {
		v.Contact = rt.Link.ContactExternalID
	}
	return v
}

func (a *API) billingCustomerPut(w http.ResponseWriter, r *request) error {
	var in struct {
		Tenant  string `json:"tenant"`
		Contact string `json:"contact"`
	}
	if err := decode(r.Request, &in); err != nil {
		return err
	}
	customer := r.PathValue("customer")
	var out BillingCustomer
	var created bool
	if r.tenant.ID == store.InstanceTenantID {
		rt, c, err := a.billing.RouteCustomer(r.Context(), r.actor, customer, in.Tenant, in.Contact)
		if err != nil {
			return err
		}
		out, created = routeView(rt), c
	} else {
		if in.Tenant != "" && in.Tenant != r.tenant.ID && in.Tenant != r.tenant.Slug {
			return problem(http.StatusBadRequest, "invalid_tenant", "a tenant links its own customers: leave tenant out, "+
				"or route a customer of the instance's Stripe sources with the root key and no Joist-Tenant header")
		}
		if in.Contact == "" {
			return problem(http.StatusBadRequest, "missing_contact", "contact is required: the external id of the contact this Stripe customer is")
		}
		l, c, err := a.billing.LinkCustomer(r.Context(), r.actor, r.tenant.ID, customer, in.Contact)
		if err != nil {
			return err
		}
		out, created = linkView(l), c
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, out)
}

func (a *API) billingCustomerGet(w http.ResponseWriter, r *request) error {
	l, rt, err := a.billing.GetCustomer(r.Context(), r.actor, r.tenant.ID, r.PathValue("customer"))
	if err != nil {
		return err
	}
	if rt != nil {
		return writeJSON(w, http.StatusOK, routeView(*rt))
	}
	return writeJSON(w, http.StatusOK, linkView(l))
}
