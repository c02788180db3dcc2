package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/billing"
	"github.com/joist-dev/joist/internal/store"
)

// Billing state from Stripe (see internal/billing) shown on the contact page
// (a "Subscriptions" card) and the tenant page (counts by status), when
// Options.Billing is set. The dashboard only shows it: billing state changes
// through Stripe events.

const (
	// contactSubsMax is how many live (and test-mode) subscriptions the
	// contact page shows.
	contactSubsMax = 20
	// contactHistoryMax is how many of a subscription's latest changes it shows.
	contactHistoryMax = 5
	// tenantSubsMax is how many live subscriptions the tenant summary counts.
	tenantSubsMax = 10000
)

// subscriptionRow is a subscription on the contact page with its latest changes.
type subscriptionRow struct {
	store.Subscription
	History []subscriptionChangeRow // newest first
}

// Badge is the badge class of the subscription's status.
func (s subscriptionRow) Badge() string { return statusBadge(s.Status) }

// Plan is the plan's nickname, else its price id.
func (s subscriptionRow) Plan() string {
	if s.PlanNickname != "" {
		return s.PlanNickname
	}
	return s.PriceID
}

func statusBadge(status string) string {
	switch status {
	case "active", "trialing":
		return "ok"
	case "past_due", "unpaid", "incomplete_expired", "canceled":
		return "revoked"
	}
	return ""
}

// subscriptionChangeRow is one change of a subscription's history.
type subscriptionChangeRow struct {
	store.SubscriptionChange
	Fields string // the fields the change touched, comma-separated
}

// contactBilling is the contact page's Subscriptions card.
type contactBilling struct {
	Subscriptions []subscriptionRow
}

// contactSubscriptions are the contact's subscriptions, live first, then
// test-mode, each with its latest changes; nil when billing is off.
func (a *Admin) contactSubscriptions(ctx context.Context, op *Op, tenantID, externalID string) (*contactBilling, error) {
	if a.opts.Billing == nil {
		return nil, nil
	}
	out := &contactBilling{}
	for _, testmode := range []bool{false, true} {
		subs, _, err := a.opts.Billing.List(ctx, op.Actor, tenantID, store.Page{Limit: contactSubsMax},
			billing.Filter{Contact: externalID, Testmode: testmode})
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			_, hist, err := a.opts.Billing.Get(ctx, op.Actor, tenantID, s.StripeSubscription, testmode)
			if err != nil {
				return nil, err
			}
			out.Subscriptions = append(out.Subscriptions, subscriptionRow{Subscription: s, History: latestChanges(hist, contactHistoryMax)})
		}
	}
	return out, nil
}

// latestChanges are the last n of hist (oldest first), newest first.
func latestChanges(hist []store.SubscriptionChange, n int) []subscriptionChangeRow {
	if len(hist) > n {
		hist = hist[len(hist)-n:]
	}
	out := make([]subscriptionChangeRow, 0, len(hist))
	for i := len(hist) - 1; i >= 0; i-- {
		var fields map[string]json.RawMessage
		_ = json.Unmarshal(hist[i].Changes, &fields)
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		slices.Sort(names)
		out = append(out, subscriptionChangeRow{SubscriptionChange: hist[i], Fields: strings.Join(names, ", ")})
	}
	return out
}

// subscriptionSummary counts a tenant's live subscriptions by status.
type subscriptionSummary struct {
	Total     int
	ByStatus  []statusCount // in billing.Statuses order, only those present
	Truncated bool          // more than tenantSubsMax: the counts are of the first ones
}

type statusCount struct {
	Status string
	Count  int
	Badge  string
}

// tenantSubscriptions counts the tenant's live subscriptions by status; nil
// when billing is off.
func (a *Admin) tenantSubscriptions(ctx context.Context, op *Op, tenantID string) (*subscriptionSummary, error) {
	if a.opts.Billing == nil || !op.Can(auth.PermRead) {
		return nil, nil
	}
	counts := map[string]int{}
	sum := &subscriptionSummary{}
	p := store.Page{Limit: 500}
	for {
		subs, next, err := a.opts.Billing.List(ctx, op.Actor, tenantID, p, billing.Filter{})
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			counts[s.Status]++
		}
		sum.Total += len(subs)
		if next == "" {
			break
		}
		if sum.Total >= tenantSubsMax {
			sum.Truncated = true
			break
		}
		p.Cursor = next
	}
	for _, st := range append(slices.Clone(billing.Statuses), "") {
		if n := counts[st]; n > 0 {
			name := st
			if name == "" {
				name = "unknown" // a row created by an invoice event before any subscription event
			}
			sum.ByStatus = append(sum.ByStatus, statusCount{Status: name, Count: n, Badge: statusBadge(st)})
		}
	}
	return sum, nil
}

// tenantOverview is the tenant page with its subscriptions summary (the
// instance's page: its Stripe customer routes instead).
type tenantOverview struct {
	tenantData
	Subscriptions *subscriptionSummary
	Routes        []store.BillingRoute
	RoutesNext    string
}

// Subscriptions of a bare tenantData (the page shown again after a failed
// key creation) is none: the summary is left out there.
func (tenantData) Subscriptions() *subscriptionSummary { return nil }

// Routes and RoutesNext of a bare tenantData are none, likewise.
func (tenantData) Routes() []store.BillingRoute { return nil }

// RoutesNext of a bare tenantData is none.
func (tenantData) RoutesNext() string { return "" }

// tenantOverviewPage is GET /admin/tenants/{tenant}: the tenant page plus,
// with billing, the subscriptions summary.
func (a *Admin) tenantOverviewPage(w http.ResponseWriter, r *http.Request, op *Op) error {
	d, err := a.tenantData(r, op)
	if err != nil {
		return err
	}
	if d.Tenant.ID == store.InstanceTenantID {
		ov := tenantOverview{tenantData: d}
		if a.opts.Billing != nil {
			var next string
			ov.Routes, next, err = a.opts.Billing.ListRoutes(r.Context(), op.Actor, store.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
			if err != nil {
				return err
			}
			ov.RoutesNext = nextURL(r, next)
		}
		return a.Render(w, r, op, http.StatusOK, "tenant.html", ov)
	}
	subs, err := a.tenantSubscriptions(r.Context(), op, d.Tenant.ID)
	if err != nil {
		return err
	}
	return a.Render(w, r, op, http.StatusOK, "tenant.html", tenantOverview{tenantData: d, Subscriptions: subs})
}
