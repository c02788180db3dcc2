package wire

import (
	"encoding/json"
	"time"
)

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
	Contact            string               `json:"contact"` // the contact's external id
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

// BillingCustomerPut is the body of PUT /v1/billing/customers/{customer}:
// on a tenant, the contact the customer is; on the instance (root key, no
// Joist-Tenant), the tenant its events go to and optionally the contact.
type BillingCustomerPut struct {
	Contact string `json:"contact,omitempty"`
	Tenant  string `json:"tenant,omitempty"`
}
