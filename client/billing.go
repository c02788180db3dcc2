package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/joist-dev/joist/wire"
)

// Subscription is a Stripe subscription's state as joist keeps it from
// Stripe events.
type Subscription = wire.Subscription

// Plan is a subscription's price.
type Plan = wire.SubscriptionPlan

// SubscriptionChange is one applied change in a subscription's history.
type SubscriptionChange = wire.SubscriptionChange

// BillingCustomer is a Stripe customer's link to a contact.
type BillingCustomer = wire.BillingCustomer

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
	body := wire.BillingCustomerPut{Tenant: tenant, Contact: contact}
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
