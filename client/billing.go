package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Subscription is a Stripe subscription's state as joist keeps it from
// Stripe events.
type Subscription struct {
	ID                 string     `json:"id"`
	StripeSubscription string     `json:"stripe_subscription"`
	StripeCustomer     string     `json:"stripe_customer"`
	Contact            string     `json:"contact"` // the contact's external id
	Livemode           bool       `json:"livemode"`
	Status             string     `json:"status"`
	Plan               Plan       `json:"plan"`
	Quantity           int        `json:"quantity"`
	CurrentPeriodEnd   *time.Time `json:"current_period_end"`
	CancelAtPeriodEnd  bool       `json:"cancel_at_period_end"`
	CancelAt           *time.Time `json:"cancel_at"`
	TrialEnd           *time.Time `json:"trial_end"`
	CanceledAt         *time.Time `json:"canceled_at"`
	LatestInvoice      string     `json:"latest_invoice"`
	PaymentStatus      string     `json:"payment_status"`
	LastEventID        string     `json:"last_event_id"`
	LastEventCreated   *time.Time `json:"last_event_created"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	// History is set by GetSubscription only.
	History []SubscriptionChange `json:"history,omitempty"`
}

// Plan is a subscription's price.
type Plan struct {
	PriceID   string `json:"price_id"`
	ProductID string `json:"product_id"`
	Nickname  string `json:"nickname"`
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

// BillingCustomer is a Stripe customer's link to a contact.
type BillingCustomer struct {
	StripeCustomer string `json:"stripe_customer"`
	// Tenant is the slug of the tenant a route (RouteCustomer) sends the
	// customer's events to; empty for a tenant's own link.
	Tenant  string `json:"tenant,omitempty"`
	Contact string `json:"contact"`
	// LinkSource is "api" or "metadata".
	LinkSource string    `json:"link_source"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// SubscriptionListOptions pages through and filters subscriptions.
type SubscriptionListOptions struct {
	ListOptions
	Statuses []string
	Contact  string // a contact's external id
	// Testmode reads the state kept from test-mode events (livemode=false).
	Testmode bool
}

// ListSubscriptions lists subscriptions.
func (c *Client) ListSubscriptions(ctx context.Context, lo SubscriptionListOptions, opts ...Option) (*List[Subscription], error) {
	v := lo.values()
	if len(lo.Statuses) > 0 {
		v.Set("status", strings.Join(lo.Statuses, ","))
	}
	if lo.Contact != "" {
		v.Set("contact", lo.Contact)
	}
	if lo.Testmode {
		v.Set("livemode", "false")
	}
	var l List[Subscription]
	_, err := c.do(ctx, http.MethodGet, "/v1/subscriptions", v, nil, &l, opts)
	return ret(&l, err)
}

// GetSubscription finds a subscription by joist id (bsub_) or Stripe id
// (sub_), with its history; testmode reads the test-mode state.
func (c *Client) GetSubscription(ctx context.Context, id string, testmode bool, opts ...Option) (*Subscription, error) {
	v := url.Values{}
	if testmode {
		v.Set("livemode", "false")
	}
	var s Subscription
	_, err := c.do(ctx, http.MethodGet, "/v1/subscriptions/"+esc(id), v, nil, &s, opts)
	return ret(&s, err)
}

// LinkCustomer maps the Stripe customer to the contact with the app's id
// contact; created reports a new link.
func (c *Client) LinkCustomer(ctx context.Context, customer, contact string, opts ...Option) (*BillingCustomer, bool, error) {
	var b BillingCustomer
	status, err := c.do(ctx, http.MethodPut, "/v1/billing/customers/"+esc(customer), nil, map[string]string{"contact": contact}, &b, opts)
	if err != nil {
		return nil, false, err
	}
	return &b, status == http.StatusCreated, nil
}

// RouteCustomer sends the events of the instance's Stripe sources about
// customer to tenant (slug or id) and, when contact is not empty, links
// the customer to that tenant's contact. It needs the root key and acts on
// the instance, so call it on a client without Tenant. An explicit route
// is never replaced by Stripe metadata joist_tenant; created reports a new
// route.
func (c *Client) RouteCustomer(ctx context.Context, customer, tenant, contact string, opts ...Option) (*BillingCustomer, bool, error) {
	body := map[string]string{"tenant": tenant}
	if contact != "" {
		body["contact"] = contact
	}
	var b BillingCustomer
	status, err := c.do(ctx, http.MethodPut, "/v1/billing/customers/"+esc(customer), nil, body, &b, opts)
	if err != nil {
		return nil, false, err
	}
	return &b, status == http.StatusCreated, nil
}

// GetCustomer returns how the Stripe customer maps: on a tenant its
// contact link; on a client without Tenant (the root key: the instance)
// its route to a tenant (BillingCustomer.Tenant).
func (c *Client) GetCustomer(ctx context.Context, customer string, opts ...Option) (*BillingCustomer, error) {
	var b BillingCustomer
	_, err := c.do(ctx, http.MethodGet, "/v1/billing/customers/"+esc(customer), nil, nil, &b, opts)
	return ret(&b, err)
}
