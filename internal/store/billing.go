package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// BillingCustomer links a Stripe customer to one of the tenant's contacts.
type BillingCustomer struct {
	TenantID       string
	StripeCustomer string
	ContactID      string
	// LinkSource is "metadata" (Stripe metadata joist_contact) or "api"
	// (PUT /v1/billing/customers/{id}); an API link is never replaced by metadata.
	LinkSource string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// BillingCustomerGet finds a customer link.
func (s *Scope) BillingCustomerGet(ctx context.Context, customer string) (BillingCustomer, error) {
	var c BillingCustomer
	err := s.tx.QueryRow(ctx, `SELECT tenant_id, stripe_customer, contact_id, link_source, created_at, updated_at FROM billing_customers
		WHERE tenant_id = ? AND stripe_customer = ?`, s.tenantID, customer).
		Scan(&c.TenantID, &c.StripeCustomer, &c.ContactID, &c.LinkSource, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

// BillingCustomerPut creates or replaces a customer link, and points every
// subscription of that customer at the contact.
func (s *Scope) BillingCustomerPut(ctx context.Context, c BillingCustomer) error {
	if _, err := s.tx.Exec(ctx, `INSERT INTO billing_customers (tenant_id, stripe_customer, contact_id, link_source, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, stripe_customer) DO UPDATE SET contact_id = excluded.contact_id,
		link_source = excluded.link_source, updated_at = excluded.updated_at`,
		s.tenantID, c.StripeCustomer, c.ContactID, c.LinkSource, c.CreatedAt, c.UpdatedAt); err != nil {
		return err
	}
	_, err := s.tx.Exec(ctx, "UPDATE subscriptions SET contact_id = ? WHERE tenant_id = ? AND stripe_customer = ?",
		c.ContactID, s.tenantID, c.StripeCustomer)
	return err
}

// BillingRoute sends an instance-level Stripe source's events about one
// Stripe customer to a tenant.
type BillingRoute struct {
	StripeCustomer  string
	RouteTenantID   string
	RouteTenantSlug string // filled by BillingRouteList
	// LinkSource is "metadata" (joist_tenant in Stripe metadata) or "api"
	// (PUT /v1/billing/customers/{id} with the root key); metadata never
	// replaces an API route.
	LinkSource string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// errNotInstance refuses routes on a tenant's own scope: only the
// instance's sources route events to other tenants.
var errNotInstance = errors.New("store: billing routes belong to the instance tenant")

// BillingRouteGet finds the route of a Stripe customer (instance scope only).
func (s *Scope) BillingRouteGet(ctx context.Context, customer string) (BillingRoute, error) {
	if s.tenantID != InstanceTenantID {
		return BillingRoute{}, errNotInstance
	}
	var r BillingRoute
	err := s.tx.QueryRow(ctx, `SELECT stripe_customer, route_tenant_id, link_source, created_at, updated_at FROM billing_routes
		WHERE tenant_id = ? AND stripe_customer = ?`, s.tenantID, customer).
		Scan(&r.StripeCustomer, &r.RouteTenantID, &r.LinkSource, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

// BillingRouteList lists the instance's customer routes by customer id,
// each with its tenant's slug (instance scope only).
func (s *Scope) BillingRouteList(ctx context.Context, p Page) ([]BillingRoute, string, error) {
	if s.tenantID != InstanceTenantID {
		return nil, "", errNotInstance
	}
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.tx.Query(ctx, `SELECT r.stripe_customer, r.route_tenant_id, t.slug, r.link_source, r.created_at, r.updated_at
		FROM billing_routes r JOIN tenants t ON t.id = r.route_tenant_id
		WHERE r.tenant_id = ? AND r.stripe_customer > ? ORDER BY r.stripe_customer LIMIT ?`, s.tenantID, after, p.Size()+1)
	items, err := Collect(rows, err, func(r Rows) (BillingRoute, error) {
		var x BillingRoute
		err := r.Scan(&x.StripeCustomer, &x.RouteTenantID, &x.RouteTenantSlug, &x.LinkSource, &x.CreatedAt, &x.UpdatedAt)
		return x, err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := PageOf(items, p.Size(), func(x BillingRoute) string { return x.StripeCustomer })
	return items, next, nil
}

// BillingRoutePut creates or replaces the route of a Stripe customer
// (instance scope only).
func (s *Scope) BillingRoutePut(ctx context.Context, r BillingRoute) error {
	if s.tenantID != InstanceTenantID {
		return errNotInstance
	}
	_, err := s.tx.Exec(ctx, `INSERT INTO billing_routes (tenant_id, stripe_customer, route_tenant_id, link_source, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, stripe_customer) DO UPDATE SET route_tenant_id = excluded.route_tenant_id,
		link_source = excluded.link_source, updated_at = excluded.updated_at`,
		s.tenantID, r.StripeCustomer, r.RouteTenantID, r.LinkSource, r.CreatedAt, r.UpdatedAt)
	return err
}

// Subscription is the billing state of one Stripe subscription. Test-mode
// subscriptions (Livemode false) are rows of their own.
type Subscription struct {
	ID                 string
	TenantID           string
	Livemode           bool
	StripeSubscription string
	StripeCustomer     string
	ContactID          string
	ContactExternalID  string // filled by reads
	Status             string
	PriceID            string
	ProductID          string
	PlanNickname       string
	Quantity           int
	CurrentPeriodEnd   *time.Time
	CancelAtPeriodEnd  bool
	CancelAt           *time.Time
	TrialEnd           *time.Time
	CanceledAt         *time.Time
	LatestInvoice      string
	PaymentStatus      string // paid or failed, from invoice events
	// StateEventID and StateEventCreated name the subscription event that
	// last set the state; PaymentEventCreated the invoice event.
	StateEventID      string
	StateEventCreated *time.Time
	// StateFetchedAt is when the fetch of the state last taken from
	// Stripe's API started (nil: never fetched).
	StateFetchedAt      *time.Time
	PaymentEventCreated *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

const subCols = `s.id, s.tenant_id, s.livemode, s.stripe_subscription, s.stripe_customer, s.contact_id, COALESCE(c.external_id, ''), s.status,
	s.price_id, s.product_id, s.plan_nickname, s.quantity, s.current_period_end, s.cancel_at_period_end, s.cancel_at, s.trial_end,
	s.canceled_at, s.latest_invoice, s.payment_status, s.state_event_id, s.state_event_created, s.payment_event_created,
	s.state_fetched_at, s.created_at, s.updated_at`

const subFrom = " FROM subscriptions s LEFT JOIN contacts c ON c.tenant_id = s.tenant_id AND c.id = s.contact_id"

func scanSub(r Row) (Subscription, error) {
	var x Subscription
	err := r.Scan(&x.ID, &x.TenantID, &x.Livemode, &x.StripeSubscription, &x.StripeCustomer, &x.ContactID, &x.ContactExternalID, &x.Status,
		&x.PriceID, &x.ProductID, &x.PlanNickname, &x.Quantity, &x.CurrentPeriodEnd, &x.CancelAtPeriodEnd, &x.CancelAt, &x.TrialEnd,
		&x.CanceledAt, &x.LatestInvoice, &x.PaymentStatus, &x.StateEventID, &x.StateEventCreated, &x.PaymentEventCreated,
		&x.StateFetchedAt,
		&x.CreatedAt, &x.UpdatedAt)
	return x, err
}

// SubscriptionGet finds a subscription by Stripe id and mode.
func (s *Scope) SubscriptionGet(ctx context.Context, livemode bool, stripeID string) (Subscription, error) {
	return scanSub(s.tx.QueryRow(ctx, "SELECT "+subCols+subFrom+" WHERE s.tenant_id = ? AND s.livemode = ? AND s.stripe_subscription = ?",
		s.tenantID, livemode, stripeID))
}

// SubscriptionLock returns the subscription row, creating an empty one
// (status "") when there is none, locked until the transaction ends, so
// that concurrent events for one subscription apply one after the other.
func (s *Scope) SubscriptionLock(ctx context.Context, livemode bool, stripeID, customer, contactID string, now time.Time) (Subscription, error) {
	if _, err := s.tx.Exec(ctx, `INSERT INTO subscriptions (id, tenant_id, livemode, stripe_subscription, stripe_customer, contact_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, livemode, stripe_subscription) DO NOTHING`,
		NewID("bsub_"), s.tenantID, livemode, stripeID, customer, contactID, now, now); err != nil {
		return Subscription{}, err
	}
	lock := ""
	if s.tx.Dialect() == Postgres {
		lock = " FOR UPDATE OF s" // SQLite has one writer: the transaction is already alone
	}
	return scanSub(s.tx.QueryRow(ctx, "SELECT "+subCols+subFrom+" WHERE s.tenant_id = ? AND s.livemode = ? AND s.stripe_subscription = ?"+lock,
		s.tenantID, livemode, stripeID))
}

// SubscriptionUpdate writes every mutable field of a subscription found by id.
func (s *Scope) SubscriptionUpdate(ctx context.Context, x Subscription) error {
	n, err := s.tx.Exec(ctx, `UPDATE subscriptions SET stripe_customer = ?, contact_id = ?, status = ?, price_id = ?, product_id = ?,
		plan_nickname = ?, quantity = ?, current_period_end = ?, cancel_at_period_end = ?, cancel_at = ?, trial_end = ?, canceled_at = ?,
		latest_invoice = ?, payment_status = ?, state_event_id = ?, state_event_created = ?, payment_event_created = ?, state_fetched_at = ?,
		updated_at = ? WHERE tenant_id = ? AND id = ?`,
		x.StripeCustomer, x.ContactID, x.Status, x.PriceID, x.ProductID, x.PlanNickname, x.Quantity, x.CurrentPeriodEnd, x.CancelAtPeriodEnd,
		x.CancelAt, x.TrialEnd, x.CanceledAt, x.LatestInvoice, x.PaymentStatus, x.StateEventID, x.StateEventCreated, x.PaymentEventCreated,
		x.StateFetchedAt, x.UpdatedAt, s.tenantID, x.ID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// SubscriptionFilter narrows a subscription listing.
type SubscriptionFilter struct {
	Livemode  bool
	Statuses  []string
	ContactID string
}

// SubscriptionList lists subscriptions by id.
func (s *Scope) SubscriptionList(ctx context.Context, p Page, f SubscriptionFilter) ([]Subscription, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q := "SELECT " + subCols + subFrom + " WHERE s.tenant_id = ? AND s.livemode = ? AND s.id > ?"
	args := []any{s.tenantID, f.Livemode, after}
	if f.ContactID != "" {
		q += " AND s.contact_id = ?"
		args = append(args, f.ContactID)
	}
	if len(f.Statuses) > 0 {
		q += " AND s.status IN (?" + MorePlaceholders(len(f.Statuses)-1) + ")"
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	q += " ORDER BY s.id LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := s.tx.Query(ctx, q, args...)
	items, err := Collect(rows, err, func(r Rows) (Subscription, error) { return scanSub(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := PageOf(items, p.Size(), func(x Subscription) string { return x.ID })
	return items, next, nil
}

// SubscriptionChange is one applied change of a subscription's state.
type SubscriptionChange struct {
	ID             string
	SubscriptionID string
	EventID        string // joist's evt_ id
	StripeEventID  string
	EventType      string
	EventCreated   time.Time
	FromStatus     string
	ToStatus       string
	Changes        json.RawMessage // {"field": [old, new], ...}
	CorrelationID  string
	CreatedAt      time.Time
}

// SubscriptionChangeAdd appends to a subscription's history.
func (s *Scope) SubscriptionChangeAdd(ctx context.Context, c SubscriptionChange) error {
	if c.ID == "" {
		c.ID = NewID("sbc_")
	}
	if c.Changes == nil {
		c.Changes = json.RawMessage("{}")
	}
	_, err := s.tx.Exec(ctx, `INSERT INTO subscription_changes (id, tenant_id, subscription_id, event_id, stripe_event_id, event_type, event_created,
		from_status, to_status, changes, correlation_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, s.tenantID, c.SubscriptionID, c.EventID, c.StripeEventID, c.EventType, c.EventCreated, c.FromStatus, c.ToStatus,
		string(c.Changes), c.CorrelationID, c.CreatedAt)
	return err
}

// SubscriptionChanges lists a subscription's history, oldest first (at most 500).
func (s *Scope) SubscriptionChanges(ctx context.Context, subscriptionID string) ([]SubscriptionChange, error) {
	rows, err := s.tx.Query(ctx, `SELECT id, subscription_id, event_id, stripe_event_id, event_type, event_created, from_status, to_status,
		changes, correlation_id, created_at FROM subscription_changes WHERE tenant_id = ? AND subscription_id = ? ORDER BY id LIMIT 500`,
		s.tenantID, subscriptionID)
	return Collect(rows, err, func(r Rows) (SubscriptionChange, error) {
		var c SubscriptionChange
		var ch []byte
		err := r.Scan(&c.ID, &c.SubscriptionID, &c.EventID, &c.StripeEventID, &c.EventType, &c.EventCreated, &c.FromStatus, &c.ToStatus,
			&ch, &c.CorrelationID, &c.CreatedAt)
		c.Changes = ch
		return c, err
	})
}
