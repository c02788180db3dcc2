package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/webhook"
)

// event is one stored Stripe event being applied.
type event struct {
	stripeEvent
	stored  webhook.Event
	created time.Time
	// fetched is the subscription the event names as Stripe's API
	// returned it (a key is configured and the API knew it): the current
	// state, applied instead of the event's.
	fetched *stripeSubscription
	// fetchedAt is when that fetch started: a fetch that started before
	// the one already applied is older, whatever order the jobs commit in.
	fetchedAt time.Time
}

// Process applies one stored Stripe event to tenantID's billing state. It
// is safe to run twice: an event already applied (or older than the state)
// changes nothing. With a Stripe API key, the subscription the event names
// is first refetched (outside the transaction); an API failure other than
// a 404 is returned, so the job retries.
func (s *Service) Process(ctx context.Context, tenantID, eventID string) error {
	var ev event
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		ev.stored, err = s.opts.Events(ctx, tx.Tenant(tenantID), eventID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		s.log.Warn("stripe event is gone (its source was deleted?)", "tenant", tenantID, "event", eventID)
		return nil
	}
	if err != nil {
		return err
	}
	// The event's strings are the provider's text: made storable first
	// (NUL and bytes that are not UTF-8 become U+FFFD), and said so.
	body, replaced := store.SafeJSON(ev.stored.Body)
	if replaced {
		s.log.Warn("stripe event holds NUL or bytes that are not UTF-8; stored with U+FFFD in their place", "tenant", tenantID, "event", eventID)
	}
	if err := json.Unmarshal(body, &ev.stripeEvent); err != nil || ev.Type == "" || len(ev.Data.Object) == 0 {
		s.log.Warn("stripe event body is not a Stripe event; ignored", "tenant", tenantID, "event", eventID)
		return nil
	}
	ev.created = time.Unix(ev.Created, 0).UTC()
	if subID := subscriptionOf(ev.stripeEvent); subID != "" && s.refetchable(ev.Livemode) {
		start := s.now()
		sub, err := s.fetchSubscription(ctx, subID)
		switch {
		case errors.Is(err, errNoSuchSubscription):
			s.log.Info("stripe API has no such subscription; applying the event's object", "tenant", tenantID, "event", eventID, "subscription", subID)
		case err != nil:
			return err
		case sub.ID != subID:
			return fmt.Errorf("stripe API: asked for subscription %s, got %s", subID, sub.ID)
		default:
			ev.fetched, ev.fetchedAt = &sub, start
		}
	}
	result := ""
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		a := &applier{svc: s, tx: tx, source: tenantID, sc: tx.Tenant(tenantID), ev: ev}
		err := a.apply(ctx)
		result = a.result
		return err
	})
	var unrouted *UnroutedError
	switch {
	case errors.As(err, &unrouted):
		result = "unrouted"
	case err != nil:
		result = "error"
	case result == "":
		result = "unchanged"
	}
	s.events.WithLabelValues(result).Inc()
	return err
}

type applier struct {
	svc    *Service
	tx     *store.Tx
	source string       // the tenant of the event's source (the instance tenant for an instance source)
	sc     *store.Scope // the tenant the event is applied to (the source's, or the one an instance source routes it to)
	ev     event
	// result names the outcome for joist_billing_events_total: applied,
	// stale, refused or ignored ("" is unchanged).
	result string
}

// apply reads what the event names (its customer, the metadata that may
// carry joist_tenant and joist_contact), decides which tenant it applies
// to, then applies it there.
func (a *applier) apply(ctx context.Context) error {
	obj := a.ev.Data.Object
	var fCus, fSub map[string]string
	if f := a.ev.fetched; f != nil {
		fCus, fSub = f.Customer.Metadata, f.Metadata
	}
	var (
		customer string
		meta     []map[string]string // where joist_tenant / joist_contact are looked for, first wins
		run      func(contactID string) error
	)
	switch a.ev.Type {
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
		"customer.subscription.trial_will_end", "customer.subscription.paused", "customer.subscription.resumed":
		var sub stripeSubscription
		if err := json.Unmarshal(obj, &sub); err != nil || sub.ID == "" {
			return a.ignore("no subscription in the event")
		}
		if a.ev.fetched != nil {
			sub = *a.ev.fetched
		}
		customer, meta = sub.Customer.ID, []map[string]string{sub.Customer.Metadata, sub.Metadata}
		run = func(contactID string) error { return a.subscription(ctx, sub, contactID) }
	case "invoice.paid", "invoice.payment_failed":
		var inv stripeInvoice
		if err := json.Unmarshal(obj, &inv); err != nil || inv.ID == "" {
			return a.ignore("no invoice in the event")
		}
		subID, subMeta := inv.subscription()
		customer, meta = inv.Customer.ID, []map[string]string{inv.Customer.Metadata, fCus, subMeta, fSub, inv.Metadata}
		run = func(contactID string) error { return a.invoice(ctx, inv, subID, contactID) }
	case "checkout.session.completed":
		var cs stripeCheckoutSession
		if err := json.Unmarshal(obj, &cs); err != nil || cs.ID == "" {
			return a.ignore("no checkout session in the event")
		}
		customer, meta = cs.Customer.ID, []map[string]string{cs.Customer.Metadata, fCus, fSub, cs.Metadata}
		run = func(contactID string) error {
			summary := "Checkout completed"
			if cs.Subscription.ID != "" {
				summary += " for subscription " + cs.Subscription.ID
			}
			if err := a.timeline(ctx, contactID, "billing.checkout_completed", summary, "stripe_checkout_session", cs.ID); err != nil {
				return err
			}
			if a.ev.fetched != nil { // the subscription's current state, from the API
				return a.subscription(ctx, *a.ev.fetched, contactID)
			}
			return nil
		}
	case "customer.created", "customer.updated":
		var cu stripeCustomer
		if err := json.Unmarshal(obj, &cu); err != nil || cu.ID == "" {
			return a.ignore("no customer in the event")
		}
		customer, meta = cu.ID, []map[string]string{cu.Metadata}
		run = func(string) error { return nil }
	default:
		return nil // other types are stored (and forwarded) but change no billing state
	}
	ok, err := a.route(ctx, customer, firstMeta("joist_tenant", meta...))
	var unrouted *UnroutedError
	if errors.As(err, &unrouted) && strings.HasPrefix(a.ev.Type, "customer.") && !strings.HasPrefix(a.ev.Type, "customer.subscription.") {
		return nil // a customer event without joist_tenant carries nothing to apply
	}
	if !ok || err != nil {
		return err
	}
	contactID, err := a.contact(ctx, customer, firstMeta("joist_contact", meta...))
	if err != nil {
		return err
	}
	return run(contactID)
}

func (a *applier) ignore(why string) error {
	a.result = "ignored"
	a.svc.log.Warn("stripe event ignored", "tenant", a.source, "event", a.ev.stored.ID, "type", a.ev.Type, "reason", why)
	return nil
}

// UnroutedError is a stripe_event job's error when an instance source's
// event names a customer no route, metadata or API link, sends to a
// tenant yet: the job retries (the customer.created or
// checkout.session.completed event carrying joist_tenant often arrives
// later) and is dead after its last attempt, to be retried once the
// customer is routed.
type UnroutedError struct{ Customer string }

func (e *UnroutedError) Error() string {
	if e.Customer == "" {
		return "stripe event names no customer and no joist_tenant metadata, so no tenant to apply it to"
	}
	return fmt.Sprintf("stripe customer %s is not routed to a tenant: set metadata joist_tenant on the customer in Stripe, "+
		"or route it with PUT /v1/billing/customers/%s {\"tenant\": \"<slug>\"} (root key, no Joist-Tenant)", e.Customer, e.Customer)
}

// route decides the tenant the event applies to and points a.sc at it; it
// reports false (and logs) for an event that must not be applied. A
// tenant's source applies only to its own tenant: an event whose
// joist_tenant names another one is refused. An instance source routes by
// the customer's API route, else joist_tenant (remembered as the
// customer's route), else the route metadata taught before.
func (a *applier) route(ctx context.Context, customer, metaTenant string) (bool, error) {
	if a.source != store.InstanceTenantID {
		if metaTenant == "" || metaTenant == a.source {
			return true, nil
		}
		if t, err := a.tx.TenantGet(ctx, metaTenant); err == nil && t.ID == a.source {
			return true, nil
		}
		a.result = "refused"
		a.svc.log.Warn("stripe event names another tenant in joist_tenant; not applied", "tenant", a.source,
			"event", a.ev.stored.ID, "joist_tenant", metaTenant)
		return false, nil
	}
	inst := a.tx.Tenant(store.InstanceTenantID)
	var known Route
	found := false
	if customer != "" {
		var err error
		known, err = routeGet(ctx, inst, customer)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, store.ErrNotFound):
			return false, err
		}
	}
	target := ""
	switch {
	case found && known.LinkSource == "api":
		target = known.RouteTenantID
	case metaTenant != "":
		t, err := a.tx.TenantGet(ctx, metaTenant)
		if errors.Is(err, store.ErrNotFound) || (err == nil && t.ID == store.InstanceTenantID) {
			a.result = "refused"
			a.svc.log.Warn("stripe event names an unknown tenant in joist_tenant; not applied", "event", a.ev.stored.ID,
				"type", a.ev.Type, "customer", customer, "joist_tenant", metaTenant)
			return false, nil
		}
		if err != nil {
			return false, err
		}
		target = t.ID
		if customer != "" && (!found || known.RouteTenantID != target) {
			now := a.svc.now()
			if !found {
				known.CreatedAt = now
			}
			if err := routePut(ctx, inst, Route{StripeCustomer: customer, RouteTenantID: target, LinkSource: "metadata",
				CreatedAt: known.CreatedAt, UpdatedAt: now}); err != nil {
				return false, err
			}
		}
	case found:
		target = known.RouteTenantID
	default:
		return false, &UnroutedError{Customer: customer}
	}
	a.sc = a.tx.Tenant(target)
	return true, nil
}

// contact resolves a Stripe customer to a contact id ("" when none): an
// explicit link wins; else metadata joist_contact (the app's external id)
// links the customer, creating the contact when the tenant has none by
// that id yet.
func (a *applier) contact(ctx context.Context, customer, metaContact string) (string, error) {
	if customer == "" {
		return "", nil
	}
	link, err := customerGet(ctx, a.sc, customer)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	found := err == nil
	if metaContact == "" || (found && link.LinkSource == "api") || core.ValidateExternalID(metaContact) != nil {
		return link.ContactID, nil
	}
	now := a.svc.now()
	c, err := a.sc.ContactGet(ctx, metaContact)
	if errors.Is(err, store.ErrNotFound) {
		c = store.Contact{ID: store.NewID(store.PrefixContact), ExternalID: metaContact, CreatedAt: now, UpdatedAt: now}
		if err = a.sc.ContactInsert(ctx, c); err == nil {
			err = a.sc.TimelineAdd(ctx, store.TimelineEntry{ContactID: c.ID, Kind: "contact.created",
				Summary: "Created from Stripe customer " + customer + " (metadata joist_contact)", RefType: "stripe_customer", RefID: customer,
				CorrelationID: a.ev.stored.CorrelationID, CreatedAt: now})
		}
	}
	if err != nil {
		return "", err
	}
	if found && link.ContactID == c.ID {
		return c.ID, nil
	}
	if !found {
		link.CreatedAt = now
	}
	err = customerPut(ctx, a.sc, Customer{StripeCustomer: customer, ContactID: c.ID, LinkSource: "metadata",
		CreatedAt: link.CreatedAt, UpdatedAt: now})
	return c.ID, err
}

// stale reports whether an event created at t is older than the state
// last set at last (by lastEvent); a tie is applied, except a
// subscription's "created" event, which never follows another one.
func (a *applier) stale(last *time.Time, lastEvent string) bool {
	if last == nil {
		return false
	}
	if a.ev.created.Before(*last) || a.ev.ID == lastEvent {
		return true
	}
	return a.ev.created.Equal(*last) && a.ev.Type == "customer.subscription.created"
}

func (a *applier) subscription(ctx context.Context, sub stripeSubscription, contactID string) error {
	row, err := subscriptionLock(ctx, a.sc, a.ev.Livemode, sub.ID, sub.Customer.ID, contactID, a.svc.now())
	if err != nil {
		return err
	}
	// State refetched from the API is current whatever the event's age
	// (unless a fetch started later was applied already); an event's own
	// object is applied only when newer than the state.
	if a.olderFetch(row) {
		return nil
	}
	if a.ev.fetched == nil && a.stale(row.StateEventCreated, row.StateEventID) {
		a.result = "stale"
		a.svc.log.Info("older stripe event skipped", "tenant", a.sc.TenantID(), "event", a.ev.stored.ID, "type", a.ev.Type, "subscription", sub.ID)
		return nil
	}
	next := row
	a.setState(&next, sub, contactID)
	price, _ := sub.plan()
	kind := map[string]string{"customer.subscription.created": "billing.subscription_created", "customer.subscription.deleted": "billing.subscription_deleted",
		"customer.subscription.trial_will_end": "billing.trial_will_end"}[a.ev.Type]
	if kind == "" {
		kind = "billing.subscription_updated"
	}
	summary := fmt.Sprintf("Subscription %s is %s", sub.ID, sub.Status)
	if price.Nickname != "" || price.ID != "" {
		summary += " on " + firstNonEmpty(price.Nickname, price.ID)
	}
	if sub.CancelAtPeriodEnd {
		summary += ", cancels at period end"
	}
	if a.ev.Type == "customer.subscription.trial_will_end" && next.TrialEnd != nil {
		summary = fmt.Sprintf("Trial of subscription %s ends %s", sub.ID, next.TrialEnd.Format(time.RFC3339))
	}
	return a.save(ctx, row, next, kind, summary)
}

// olderFetch reports (and logs) a state refetched from the API by a fetch
// that started before the one whose state is stored: two jobs of one
// subscription may commit in the reverse order of their fetches, and the
// earlier fetch may have read an older state.
func (a *applier) olderFetch(row Subscription) bool {
	if a.ev.fetched == nil || row.StateFetchedAt == nil || !a.ev.fetchedAt.Before(*row.StateFetchedAt) {
		return false
	}
	a.result = "stale"
	a.svc.log.Info("state fetched before the stored one; not applied", "tenant", a.sc.TenantID(), "event", a.ev.stored.ID,
		"type", a.ev.Type, "subscription", row.StripeSubscription)
	return true
}

// setState sets the subscription's state from sub, and which event set
// it: the triggering event, unless it is older than the one recorded (a
// refetched state applied for an older event keeps the newer event, so
// that event-based ordering still holds without the API).
func (a *applier) setState(next *Subscription, sub stripeSubscription, contactID string) {
	price, qty := sub.plan()
	next.Status, next.PriceID, next.ProductID, next.PlanNickname, next.Quantity = sub.Status, price.ID, price.Product.ID, price.Nickname, qty
	next.CurrentPeriodEnd, next.CancelAtPeriodEnd, next.CancelAt = sub.periodEnd(), sub.CancelAtPeriodEnd, unix(sub.CancelAt)
	next.TrialEnd, next.CanceledAt = unix(sub.TrialEnd), unix(sub.CanceledAt)
	if sub.Customer.ID != "" {
		next.StripeCustomer = sub.Customer.ID
	}
	if contactID != "" {
		next.ContactID = contactID
	}
	if sub.LatestInvoice.ID != "" {
		next.LatestInvoice = sub.LatestInvoice.ID
	}
	if a.ev.fetched != nil {
		at := a.ev.fetchedAt
		next.StateFetchedAt = &at
	}
	if next.StateEventCreated == nil || !a.ev.created.Before(*next.StateEventCreated) {
		created := a.ev.created
		next.StateEventID, next.StateEventCreated = a.ev.ID, &created
	}
}

func (a *applier) invoice(ctx context.Context, inv stripeInvoice, subID, contactID string) error {
	kind, status, summary := "billing.invoice_paid", "paid", "Invoice "+inv.ID+" paid"
	if a.ev.Type == "invoice.payment_failed" {
		kind, status, summary = "billing.invoice_payment_failed", "failed", "Payment of invoice "+inv.ID+" failed"
	}
	if subID == "" { // a one-off invoice: nothing to keep, but the contact sees it
		return a.timeline(ctx, contactID, kind, summary, "stripe_invoice", inv.ID)
	}
	row, err := subscriptionLock(ctx, a.sc, a.ev.Livemode, subID, inv.Customer.ID, contactID, a.svc.now())
	if err != nil {
		return err
	}
	next := row
	if a.ev.fetched != nil && !a.olderFetch(row) { // the subscription's current state, from the API
		a.setState(&next, *a.ev.fetched, contactID)
	}
	if a.stale(row.PaymentEventCreated, "") {
		a.result = "stale"
		a.svc.log.Info("older stripe event skipped", "tenant", a.sc.TenantID(), "event", a.ev.stored.ID, "type", a.ev.Type, "subscription", subID)
		if a.ev.fetched == nil {
			return nil
		}
		return a.save(ctx, row, next, "billing.subscription_updated", fmt.Sprintf("Subscription %s is %s", subID, next.Status))
	}
	next.PaymentStatus, next.LatestInvoice = status, inv.ID
	if contactID != "" {
		next.ContactID = contactID
	}
	created := a.ev.created
	next.PaymentEventCreated = &created
	return a.save(ctx, row, next, kind, summary+" (subscription "+subID+")")
}

// save writes the new state, its history entry and the contact's timeline
// entry when anything a user sees changed.
func (a *applier) save(ctx context.Context, old, next Subscription, kind, summary string) error {
	now := a.svc.now()
	next.UpdatedAt = now
	if err := subscriptionUpdate(ctx, a.sc, next); err != nil {
		return err
	}
	changes := diff(old, next)
	if len(changes) == 0 && kind != "billing.trial_will_end" {
		return nil
	}
	a.result = "applied"
	cj, _ := json.Marshal(changes)
	if err := subscriptionChangeAdd(ctx, a.sc, SubscriptionChange{SubscriptionID: next.ID, EventID: a.ev.stored.ID, StripeEventID: a.ev.ID,
		EventType: a.ev.Type, EventCreated: a.ev.created, FromStatus: old.Status, ToStatus: next.Status, Changes: cj,
		CorrelationID: a.ev.stored.CorrelationID, CreatedAt: now}); err != nil {
		return err
	}
	return a.timeline(ctx, next.ContactID, kind, summary, "subscription", next.StripeSubscription)
}

func (a *applier) timeline(ctx context.Context, contactID, kind, summary, refType, refID string) error {
	if contactID == "" {
		return nil
	}
	if !a.ev.Livemode {
		summary = "[test mode] " + summary
	}
	return a.sc.TimelineAdd(ctx, store.TimelineEntry{ContactID: contactID, Kind: kind, Summary: summary, RefType: refType, RefID: refID,
		CorrelationID: a.ev.stored.CorrelationID, CreatedAt: a.svc.now()})
}

// diff lists the user-visible fields that changed, as [old, new].
func diff(o, n Subscription) map[string][2]any {
	out := map[string][2]any{}
	add := func(name string, x, y any) {
		if fmt.Sprint(x) != fmt.Sprint(y) {
			out[name] = [2]any{x, y}
		}
	}
	add("status", o.Status, n.Status)
	add("price_id", o.PriceID, n.PriceID)
	add("product_id", o.ProductID, n.ProductID)
	add("plan_nickname", o.PlanNickname, n.PlanNickname)
	add("quantity", o.Quantity, n.Quantity)
	add("current_period_end", timeOrNil(o.CurrentPeriodEnd), timeOrNil(n.CurrentPeriodEnd))
	add("cancel_at_period_end", o.CancelAtPeriodEnd, n.CancelAtPeriodEnd)
	add("cancel_at", timeOrNil(o.CancelAt), timeOrNil(n.CancelAt))
	add("trial_end", timeOrNil(o.TrialEnd), timeOrNil(n.TrialEnd))
	add("canceled_at", timeOrNil(o.CanceledAt), timeOrNil(n.CanceledAt))
	add("payment_status", o.PaymentStatus, n.PaymentStatus)
	add("latest_invoice", o.LatestInvoice, n.LatestInvoice)
	add("stripe_customer", o.StripeCustomer, n.StripeCustomer)
	add("contact_id", o.ContactID, n.ContactID)
	return out
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
