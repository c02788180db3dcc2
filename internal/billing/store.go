package billing

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// The billing system's storage: its own tables (billing_customers,
// billing_routes, subscriptions, subscription_changes), each query taking
// the *store.Scope and constraining on its tenant. Reads join the
// foundation's contacts and tenants for external ids and slugs.

// Customer links a Stripe customer to one of the tenant's contacts.
type Customer struct {
	TenantID       string
	StripeCustomer string
	ContactID      string
	// LinkSource is "metadata" (Stripe metadata joist_contact) or "api"
	// (PUT /v1/billing/customers/{id}); an API link is never replaced by metadata.
	LinkSource string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// customerGet finds a customer link.
func customerGet(ctx context.Context, sc *store.Scope, customer string) (Customer, error) {
	var c Customer
	err := sc.Tx().QueryRow(ctx, `SELECT tenant_id, stripe_customer, contact_id, link_source, created_at, updated_at FROM billing_customers
		WHERE tenant_id = ? AND stripe_customer = ?`, sc.TenantID(), customer).
		Scan(&c.TenantID, &c.StripeCustomer, &c.ContactID, &c.LinkSource, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

// customerPut creates or replaces a customer link, and points every
// subscription of that customer at the contact.
func customerPut(ctx context.Context, sc *store.Scope, c Customer) error {
	if _, err := sc.Tx().Exec(ctx, `INSERT INTO billing_customers (tenant_id, stripe_customer, contact_id, link_source, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, stripe_customer) DO UPDATE SET contact_id = excluded.contact_id,
		link_source = excluded.link_source, updated_at = excluded.updated_at`,
		sc.TenantID(), c.StripeCustomer, c.ContactID, c.LinkSource, c.CreatedAt, c.UpdatedAt); err != nil {
		return err
	}
	_, err := sc.Tx().Exec(ctx, "UPDATE subscriptions SET contact_id = ? WHERE tenant_id = ? AND stripe_customer = ?",
		c.ContactID, sc.TenantID(), c.StripeCustomer)
	return err
}

// Route sends an instance-level Stripe source's events about one
// Stripe customer to a tenant.
type Route struct {
	StripeCustomer  string
	RouteTenantID   string
	RouteTenantSlug string // filled by routeList
	// LinkSource is "metadata" (joist_tenant in Stripe metadata) or "api"
	// (PUT /v1/billing/customers/{id} with the root key); metadata never
	// replaces an API route.
	LinkSource string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// errNotInstance refuses routes on a tenant's own scope: only the
// instance's sources route events to other tenants.
var errNotInstance = errors.New("billing: customer routes belong to the instance tenant")

// routeGet finds the route of a Stripe customer (instance scope only).
func routeGet(ctx context.Context, sc *store.Scope, customer string) (Route, error) {
	if sc.TenantID() != store.InstanceTenantID {
		return Route{}, errNotInstance
	}
	var r Route
	err := sc.Tx().QueryRow(ctx, `SELECT stripe_customer, route_tenant_id, link_source, created_at, updated_at FROM billing_routes
		WHERE tenant_id = ? AND stripe_customer = ?`, sc.TenantID(), customer).
		Scan(&r.StripeCustomer, &r.RouteTenantID, &r.LinkSource, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

// routeList lists the instance's customer routes by customer id,
// each with its tenant's slug (instance scope only).
func routeList(ctx context.Context, sc *store.Scope, p store.Page) ([]Route, string, error) {
	if sc.TenantID() != store.InstanceTenantID {
		return nil, "", errNotInstance
	}
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	rows, err := sc.Tx().Query(ctx, `SELECT r.stripe_customer, r.route_tenant_id, t.slug, r.link_source, r.created_at, r.updated_at
		FROM billing_routes r JOIN tenants t ON t.id = r.route_tenant_id
		WHERE r.tenant_id = ? AND r.stripe_customer > ? ORDER BY r.stripe_customer LIMIT ?`, sc.TenantID(), after, p.Size()+1)
	items, err := store.Collect(rows, err, func(r store.Rows) (Route, error) {
		var x Route
		err := r.Scan(&x.StripeCustomer, &x.RouteTenantID, &x.RouteTenantSlug, &x.LinkSource, &x.CreatedAt, &x.UpdatedAt)
		return x, err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p, func(x Route) string { return x.StripeCustomer })
	return items, next, nil
}

// routePut creates or replaces the route of a Stripe customer
// (instance scope only).
func routePut(ctx context.Context, sc *store.Scope, r Route) error {
	if sc.TenantID() != store.InstanceTenantID {
		return errNotInstance
	}
	_, err := sc.Tx().Exec(ctx, `INSERT INTO billing_routes (tenant_id, stripe_customer, route_tenant_id, link_source, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, stripe_customer) DO UPDATE SET route_tenant_id = excluded.route_tenant_id,
		link_source = excluded.link_source, updated_at = excluded.updated_at`,
		sc.TenantID(), r.StripeCustomer, r.RouteTenantID, r.LinkSource, r.CreatedAt, r.UpdatedAt)
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

func scanSub(r store.Row) (Subscription, error) {
	var x Subscription
	err := r.Scan(&x.ID, &x.TenantID, &x.Livemode, &x.StripeSubscription, &x.StripeCustomer, &x.ContactID, &x.ContactExternalID, &x.Status,
		&x.PriceID, &x.ProductID, &x.PlanNickname, &x.Quantity, &x.CurrentPeriodEnd, &x.CancelAtPeriodEnd, &x.CancelAt, &x.TrialEnd,
		&x.CanceledAt, &x.LatestInvoice, &x.PaymentStatus, &x.StateEventID, &x.StateEventCreated, &x.PaymentEventCreated,
		&x.StateFetchedAt,
		&x.CreatedAt, &x.UpdatedAt)
	return x, err
}

// subscriptionGet finds a subscription by Stripe id and mode.
func subscriptionGet(ctx context.Context, sc *store.Scope, livemode bool, stripeID string) (Subscription, error) {
	return scanSub(sc.Tx().QueryRow(ctx, "SELECT "+subCols+subFrom+" WHERE s.tenant_id = ? AND s.livemode = ? AND s.stripe_subscription = ?",
		sc.TenantID(), livemode, stripeID))
}

// subscriptionLock returns the subscription row, creating an empty one
// (status "") when there is none, locked until the transaction ends, so
// that concurrent events for one subscription apply one after the other.
func subscriptionLock(ctx context.Context, sc *store.Scope, livemode bool, stripeID, customer, contactID string, now time.Time) (Subscription, error) {
	if _, err := sc.Tx().Exec(ctx, `INSERT INTO subscriptions (id, tenant_id, livemode, stripe_subscription, stripe_customer, contact_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, livemode, stripe_subscription) DO NOTHING`,
		store.NewID("bsub_"), sc.TenantID(), livemode, stripeID, customer, contactID, now, now); err != nil {
		return Subscription{}, err
	}
	lock := ""
	if sc.Tx().Dialect() == store.Postgres {
		lock = " FOR UPDATE OF s" // SQLite has one writer: the transaction is already alone
	}
	return scanSub(sc.Tx().QueryRow(ctx, "SELECT "+subCols+subFrom+" WHERE s.tenant_id = ? AND s.livemode = ? AND s.stripe_subscription = ?"+lock,
		sc.TenantID(), livemode, stripeID))
}

// subscriptionUpdate writes every mutable field of a subscription found by id.
func subscriptionUpdate(ctx context.Context, sc *store.Scope, x Subscription) error {
	n, err := sc.Tx().Exec(ctx, `UPDATE subscriptions SET stripe_customer = ?, contact_id = ?, status = ?, price_id = ?, product_id = ?,
		plan_nickname = ?, quantity = ?, current_period_end = ?, cancel_at_period_end = ?, cancel_at = ?, trial_end = ?, canceled_at = ?,
		latest_invoice = ?, payment_status = ?, state_event_id = ?, state_event_created = ?, payment_event_created = ?, state_fetched_at = ?,
		updated_at = ? WHERE tenant_id = ? AND id = ?`,
		x.StripeCustomer, x.ContactID, x.Status, x.PriceID, x.ProductID, x.PlanNickname, x.Quantity, x.CurrentPeriodEnd, x.CancelAtPeriodEnd,
		x.CancelAt, x.TrialEnd, x.CanceledAt, x.LatestInvoice, x.PaymentStatus, x.StateEventID, x.StateEventCreated, x.PaymentEventCreated,
		x.StateFetchedAt, x.UpdatedAt, sc.TenantID(), x.ID)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}

// subscriptionFilter narrows a subscription listing.
type subscriptionFilter struct {
	Livemode  bool
	Statuses  []string
	ContactID string
}

// subscriptionList lists subscriptions by id.
func subscriptionList(ctx context.Context, sc *store.Scope, p store.Page, f subscriptionFilter) ([]Subscription, string, error) {
	after, err := p.After()
	if err != nil {
		return nil, "", err
	}
	q := "SELECT " + subCols + subFrom + " WHERE s.tenant_id = ? AND s.livemode = ? AND s.id > ?"
	args := []any{sc.TenantID(), f.Livemode, after}
	if f.ContactID != "" {
		q += " AND s.contact_id = ?"
		args = append(args, f.ContactID)
	}
	if len(f.Statuses) > 0 {
		q += " AND s.status IN (?" + store.MorePlaceholders(len(f.Statuses)-1) + ")"
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	q += " ORDER BY s.id LIMIT ?"
	args = append(args, p.Size()+1)
	rows, err := sc.Tx().Query(ctx, q, args...)
	items, err := store.Collect(rows, err, func(r store.Rows) (Subscription, error) { return scanSub(r) })
	if err != nil {
		return nil, "", err
	}
	items, next := store.PageOf(items, p, func(x Subscription) string { return x.ID })
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

// subscriptionChangeAdd appends to a subscription's history.
func subscriptionChangeAdd(ctx context.Context, sc *store.Scope, c SubscriptionChange) error {
	if c.ID == "" {
		c.ID = store.NewID("sbc_")
	}
	if c.Changes == nil {
		c.Changes = json.RawMessage("{}")
	}
	_, err := sc.Tx().Exec(ctx, `INSERT INTO subscription_changes (id, tenant_id, subscription_id, event_id, stripe_event_id, event_type, event_created,
		from_status, to_status, changes, correlation_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, sc.TenantID(), c.SubscriptionID, c.EventID, c.StripeEventID, c.EventType, c.EventCreated, c.FromStatus, c.ToStatus,
		string(c.Changes), c.CorrelationID, c.CreatedAt)
	return err
}

// subscriptionChangeList lists a subscription's history, oldest first (at most 500).
func subscriptionChangeList(ctx context.Context, sc *store.Scope, subscriptionID string) ([]SubscriptionChange, error) {
	rows, err := sc.Tx().Query(ctx, `SELECT id, subscription_id, event_id, stripe_event_id, event_type, event_created, from_status, to_status,
		changes, correlation_id, created_at FROM subscription_changes WHERE tenant_id = ? AND subscription_id = ? ORDER BY id LIMIT 500`,
		sc.TenantID(), subscriptionID)
	return store.Collect(rows, err, func(r store.Rows) (SubscriptionChange, error) {
		var c SubscriptionChange
		var ch []byte
		err := r.Scan(&c.ID, &c.SubscriptionID, &c.EventID, &c.StripeEventID, &c.EventType, &c.EventCreated, &c.FromStatus, &c.ToStatus,
			&ch, &c.CorrelationID, &c.CreatedAt)
		c.Changes = ch
		return c, err
	})
}
