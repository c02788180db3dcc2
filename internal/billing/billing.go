// Package billing keeps billing state from Stripe: every new event of a
// Stripe webhook source enqueues a stripe_event job in the ingest
// transaction; its worker reads the stored event and applies it to the
// subscription it names (status, plan, period end, cancel at period end,
// trial end, last payment), mapped to a contact through Stripe metadata
// joist_contact or an explicit link. An instance source's event applies to
// the tenant its customer is routed to (an explicit route, else metadata
// joist_tenant, remembered per customer). Events are applied in the order of
// their Stripe `created`, whatever order they arrive in, or, with a Stripe
// API key configured, the subscription is refetched from the API and its
// current state applied; test-mode events keep state apart from live state. docs/billing.md is the user's guide.
package billing

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/egress"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/webhook"
)

// EventReader reads a tenant's stored webhook event (as received; its
// status is not needed) by joist's event id, store.ErrNotFound once it is
// no longer stored. The webhook system gives it (webhook.StoredEvent), so
// billing never reads a webhook table.
type EventReader func(ctx context.Context, sc *store.Scope, id string) (webhook.Event, error)

// Options configure the service.
type Options struct {
	// Events reads the stored event a stripe_event job names (required).
	Events EventReader
	// MaxAttempts of a stripe_event job (default 10).
	MaxAttempts int
	// StripeAPIKey, when set, makes the worker refetch the subscription an
	// event names from Stripe's API and apply that (current) state.
	StripeAPIKey string
	// StripeAPIBase is the API's base URL (default https://api.stripe.com).
	StripeAPIBase string
	// HTTPClient calls the API (default: the guarded client for operator
	// destinations, with a 20s timeout).
	HTTPClient *http.Client
}

// Service applies Stripe events and serves billing state.
type Service struct {
	core *core.Service
	jobs *jobs.Service
	db   *store.DB
	log  *slog.Logger
	opts Options
	now  func() time.Time
	http *http.Client
	// events counts applied Stripe events by result.
	events *prometheus.CounterVec
}

// New builds the service on d (d.Metrics receives
// joist_billing_events_total) and registers the stripe_event worker; call
// it before the job engine starts. c checks access and writes audit
// entries; js enqueues the jobs. The service is the Stripe provider's
// built-in webhook handler (EnqueueTx): app registers it with the webhook
// system.
func New(d core.Deps, c *core.Service, js *jobs.Service, opts Options) *Service {
	d = d.For("billing")
	if opts.Events == nil {
		panic("billing: Options.Events is required (webhook.StoredEvent)")
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 10
	}
	if opts.StripeAPIBase == "" {
		opts.StripeAPIBase = "https://api.stripe.com"
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = d.Egress.Client(egress.Operator)
		opts.HTTPClient.Timeout = 20 * time.Second
	}
	s := &Service{core: c, jobs: js, db: d.DB, log: d.Log, opts: opts, now: d.Now, http: opts.HTTPClient,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joist_billing_events_total",
			Help: "Stripe events processed by the billing handler, by result: applied (state changed), unchanged, stale (older than the state), " +
				"refused (joist_tenant names another or no tenant), unrouted (an instance source's customer has no tenant yet; retried), ignored (not a Stripe object), error.",
		}, []string{"result"})}
	d.Register(s.events)
	jobs.AddWorker(js.Engine(), &worker{svc: s})
	return s
}

// StripeEventArgs is the built-in job applying one stored Stripe event.
// TenantID is the tenant of the event's source: the event applies to that
// tenant's billing state, or, for an instance source, to the tenant the
// event's customer is routed to (see route in apply.go).
type StripeEventArgs struct {
	TenantID string `json:"tenant_id"`
	EventID  string `json:"event_id"` // joist's evt_ id of the stored event
}

// Kind names the job.
func (StripeEventArgs) Kind() string { return "stripe_event" }

// EnqueueTx enqueues the billing job of a newly stored event of tenantID's
// Stripe source src, inside the ingest transaction: the Stripe provider's
// built-in handler (a webhook.Handler).
func (s *Service) EnqueueTx(ctx context.Context, tx *store.Tx, tenantID string, src webhook.SourceRecord, ev webhook.Event) error {
	_, err := s.jobs.EnqueueTx(ctx, tx, tenantID, StripeEventArgs{TenantID: tenantID, EventID: ev.ID},
		&river.InsertOpts{MaxAttempts: s.opts.MaxAttempts}, ev.CorrelationID)
	return err
}

type worker struct {
	river.WorkerDefaults[StripeEventArgs]
	svc *Service
}

func (w *worker) Work(ctx context.Context, job *river.Job[StripeEventArgs]) error {
	return w.svc.Process(ctx, job.Args.TenantID, job.Args.EventID)
}

// Statuses are Stripe's subscription statuses.
var Statuses = []string{"incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid", "paused"}

// Filter narrows a listing.
type Filter struct {
	Statuses []string
	Contact  string // the contact's external id
	Testmode bool   // list test-mode subscriptions instead of live ones
}

// List lists the tenant's subscriptions.
func (s *Service) List(ctx context.Context, a auth.Actor, tenantID string, p store.Page, f Filter) ([]Subscription, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	for _, st := range f.Statuses {
		if !slices.Contains(Statuses, st) {
			return nil, "", core.Invalid("invalid_status", "status %q is not one of %s", st, strings.Join(Statuses, ", "))
		}
	}
	var out []Subscription
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		sf := subscriptionFilter{Livemode: !f.Testmode, Statuses: f.Statuses}
		if f.Contact != "" {
			c, err := sc.ContactGet(ctx, f.Contact)
			if errors.Is(err, store.ErrNotFound) {
				out = []Subscription{}
				return nil
			}
			if err != nil {
				return err
			}
			sf.ContactID = c.ID
		}
		var err error
		out, next, err = subscriptionList(ctx, sc, p, sf)
		return err
	})
	return out, next, err
}

// Get returns one subscription with its history.
func (s *Service) Get(ctx context.Context, a auth.Actor, tenantID, stripeID string, testmode bool) (Subscription, []SubscriptionChange, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return Subscription{}, nil, err
	}
	var sub Subscription
	var hist []SubscriptionChange
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		var err error
		if sub, err = subscriptionGet(ctx, sc, !testmode, stripeID); err != nil {
			return err
		}
		hist, err = subscriptionChangeList(ctx, sc, sub.ID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		mode := "live"
		if testmode {
			mode = "test-mode"
		}
		return sub, nil, core.NotFound("no %s subscription %q", mode, stripeID)
	}
	return sub, hist, err
}

// CustomerLink is a Stripe customer's link to a contact.
type CustomerLink struct {
	Customer
	ContactExternalID string
}

// validStripeID checks an id from a path: Stripe ids are short and plain.
func validStripeID(id, prefix string) bool {
	if !strings.HasPrefix(id, prefix) || len(id) > 255 || len(id) == len(prefix) {
		return false
	}
	for _, r := range id {
		if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) || r > unicode.MaxASCII {
			return false
		}
	}
	return true
}

// LinkCustomer links a Stripe customer to one of the tenant's contacts
// (an explicit link, which Stripe metadata never replaces). Audited.
func (s *Service) LinkCustomer(ctx context.Context, a auth.Actor, tenantID, customer, contact string) (CustomerLink, bool, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermContactsWrite); err != nil {
		return CustomerLink{}, false, err
	}
	if err := validCustomerLink(customer, contact); err != nil {
		return CustomerLink{}, false, err
	}
	var out CustomerLink
	var created bool
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		out, created, err = s.linkTx(ctx, tx, a, tenantID, customer, contact)
		return err
	})
	return out, created, err
}

func validCustomer(customer string) error {
	if !validStripeID(customer, "cus_") {
		return core.Invalid("invalid_customer", "%q is not a Stripe customer id such as cus_NffrFeUfNV2Hib", customer)
	}
	return nil
}

func validCustomerLink(customer, contact string) error {
	if err := validCustomer(customer); err != nil {
		return err
	}
	if contact == "" {
		return nil
	}
	return core.ValidateExternalID(contact)
}

func (s *Service) linkTx(ctx context.Context, tx *store.Tx, a auth.Actor, tenantID, customer, contact string) (CustomerLink, bool, error) {
	sc := tx.Tenant(tenantID)
	c, err := sc.ContactGet(ctx, contact)
	if errors.Is(err, store.ErrNotFound) {
		return CustomerLink{}, false, core.NotFound("contact %q not found; create it with PUT /v1/contacts/%s first", contact, contact)
	}
	if err != nil {
		return CustomerLink{}, false, err
	}
	now := s.now()
	created := false
	old, err := customerGet(ctx, sc, customer)
	switch {
	case errors.Is(err, store.ErrNotFound):
		created, old.CreatedAt = true, now
	case err != nil:
		return CustomerLink{}, false, err
	}
	out := CustomerLink{Customer: Customer{TenantID: tenantID, StripeCustomer: customer, ContactID: c.ID,
		LinkSource: "api", CreatedAt: old.CreatedAt, UpdatedAt: now}, ContactExternalID: c.ExternalID}
	if err := customerPut(ctx, sc, out.Customer); err != nil {
		return CustomerLink{}, false, err
	}
	return out, created, s.core.Audit(ctx, tx, a, tenantID, "billing_customer.link", "billing_customer", customer,
		map[string]string{"contact": c.ExternalID, "previous_contact_id": old.ContactID})
}

// CustomerRoute is where the instance's Stripe sources apply a customer's
// events, and (when one was given) the customer's contact there.
type CustomerRoute struct {
	Route
	Tenant store.Tenant
	Link   *CustomerLink
}

// RouteCustomer routes the instance's Stripe sources' events about a
// customer to a tenant (an explicit route, which joist_tenant metadata
// never replaces) and, with contact, links the customer to that tenant's
// contact in the same transaction. Only actors who reach every tenant
// (the root key) route. Audited on the instance and, for the link, on the
// tenant.
func (s *Service) RouteCustomer(ctx context.Context, a auth.Actor, customer, tenant, contact string) (CustomerRoute, bool, error) {
	if !a.AllTenants {
		return CustomerRoute{}, false, core.Forbidden("routing a Stripe customer to a tenant needs the root key (no Joist-Tenant)")
	}
	if err := validCustomerLink(customer, contact); err != nil {
		return CustomerRoute{}, false, err
	}
	if tenant == "" {
		return CustomerRoute{}, false, core.Invalid("missing_tenant",
			"tenant is required: the slug or id of the tenant whose billing state this customer's events update")
	}
	var out CustomerRoute
	var created bool
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.TenantGet(ctx, tenant)
		if errors.Is(err, store.ErrNotFound) || (err == nil && t.ID == store.InstanceTenantID) {
			return core.NotFound("tenant %q not found", tenant)
		}
		if err != nil {
			return err
		}
		inst := tx.Tenant(store.InstanceTenantID)
		now := s.now()
		old, err := routeGet(ctx, inst, customer)
		switch {
		case errors.Is(err, store.ErrNotFound):
			created, old.CreatedAt = true, now
		case err != nil:
			return err
		}
		out = CustomerRoute{Route: Route{StripeCustomer: customer, RouteTenantID: t.ID, LinkSource: "api",
			CreatedAt: old.CreatedAt, UpdatedAt: now}, Tenant: t}
		if err := routePut(ctx, inst, out.Route); err != nil {
			return err
		}
		if err := s.core.Audit(ctx, tx, a, store.InstanceTenantID, "billing_customer.route", "billing_customer", customer,
			map[string]string{"tenant_id": t.ID, "previous_tenant_id": old.RouteTenantID}); err != nil {
			return err
		}
		if contact == "" {
			return nil
		}
		l, _, err := s.linkTx(ctx, tx, a, t.ID, customer, contact)
		out.Link = &l
		return err
	})
	return out, created, err
}

// GetCustomer returns how a Stripe customer maps on tenantID: its contact
// link there or, on the instance, its route (with the routed tenant).
func (s *Service) GetCustomer(ctx context.Context, a auth.Actor, tenantID, customer string) (CustomerLink, *CustomerRoute, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return CustomerLink{}, nil, err
	}
	if err := validCustomer(customer); err != nil {
		return CustomerLink{}, nil, err
	}
	var link CustomerLink
	var route *CustomerRoute
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if tenantID == store.InstanceTenantID {
			r, err := routeGet(ctx, tx.Tenant(tenantID), customer)
			if err != nil {
				return err
			}
			t, err := tx.TenantGet(ctx, r.RouteTenantID)
			if err != nil {
				return err
			}
			route = &CustomerRoute{Route: r, Tenant: t}
			return nil
		}
		sc := tx.Tenant(tenantID)
		c, err := customerGet(ctx, sc, customer)
		if err != nil {
			return err
		}
		link = CustomerLink{Customer: c}
		if c.ContactID == "" {
			return nil
		}
		ct, err := sc.ContactGetByID(ctx, c.ContactID)
		link.ContactExternalID = ct.ExternalID
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		what := "linked to a contact"
		if tenantID == store.InstanceTenantID {
			what = "routed to a tenant"
		}
		return link, nil, core.NotFound("Stripe customer %q is not %s", customer, what)
	}
	return link, route, err
}

// ListRoutes lists the instance's Stripe customer routes (actors who reach
// every tenant only).
func (s *Service) ListRoutes(ctx context.Context, a auth.Actor, p store.Page) ([]Route, string, error) {
	if !a.AllTenants {
		return nil, "", core.Forbidden("the instance's customer routes are visible to those who reach every tenant")
	}
	var out []Route
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = routeList(ctx, tx.Tenant(store.InstanceTenantID), p)
		return err
	})
	return out, next, err
}
