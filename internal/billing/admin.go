package billing

import (
	"embed"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/joist-dev/joist/internal/admin"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
)

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
	Subscription
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
	SubscriptionChange
	Fields string // the fields the change touched, comma-separated
}

// contactBilling is the contact page's Subscriptions card.
type contactBilling struct {
	Subscriptions []subscriptionRow
}

//go:embed pages
var pagesFS embed.FS

// AdminSection is billing's part of the dashboard: a Subscriptions card on
// the contact page (the contact's subscriptions with their latest changes),
// one on the tenant page (live subscriptions counted by status), and on the
// instance's page the Stripe customer routes. The dashboard only shows
// billing state: it changes through Stripe events.
func (s *Service) AdminSection() admin.SectionFunc {
	return func(a *admin.Admin) admin.Section {
		return admin.Section{Name: "billing", Templates: admin.Sub(pagesFS, "pages"), Panels: []admin.Panel{
			{Page: admin.PanelContact, Template: "contact_subscriptions.html", Data: s.contactPanel},
			{Page: admin.PanelTenant, Template: "tenant_subscriptions.html", Data: s.tenantPanel},
			{Page: admin.PanelTenant, Template: "instance_routes.html", Data: s.instancePanel},
		}}
	}
}

// contactPanel gives the contact's subscriptions, live first, then
// test-mode, each with its latest changes.
func (s *Service) contactPanel(r *http.Request, op *admin.Op, t store.Tenant, c *store.Contact) (any, error) {
	ctx := r.Context()
	out := &contactBilling{}
	for _, testmode := range []bool{false, true} {
		subs, _, err := s.List(ctx, op.Actor, t.ID, store.Page{Limit: contactSubsMax},
			Filter{Contact: c.ExternalID, Testmode: testmode})
		if err != nil {
			return nil, err
		}
		for _, sub := range subs {
			_, hist, err := s.Get(ctx, op.Actor, t.ID, sub.StripeSubscription, testmode)
			if err != nil {
				return nil, err
			}
			out.Subscriptions = append(out.Subscriptions, subscriptionRow{Subscription: sub, History: latestChanges(hist, contactHistoryMax)})
		}
	}
	return out, nil
}

// latestChanges are the last n of hist (oldest first), newest first.
func latestChanges(hist []SubscriptionChange, n int) []subscriptionChangeRow {
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
	ByStatus  []statusCount // in Statuses order, only those present
	Truncated bool          // more than tenantSubsMax: the counts are of the first ones
}

type statusCount struct {
	Status string
	Count  int
	Badge  string
}

// tenantPanel counts a tenant's live subscriptions by status (none on the
// instance's page).
func (s *Service) tenantPanel(r *http.Request, op *admin.Op, t store.Tenant, _ *store.Contact) (any, error) {
	if t.ID == store.InstanceTenantID || !op.Can(auth.PermRead) {
		return nil, nil
	}
	counts := map[string]int{}
	sum := &subscriptionSummary{}
	p := store.Page{Limit: 500}
	for {
		subs, next, err := s.List(r.Context(), op.Actor, t.ID, p, Filter{})
		if err != nil {
			return nil, err
		}
		for _, sub := range subs {
			counts[sub.Status]++
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
	for _, st := range append(slices.Clone(Statuses), "") {
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

// instanceRoutes is the instance page's card of Stripe customer routes.
type instanceRoutes struct {
	Routes     []Route
	RoutesNext string
}

// instancePanel lists the Stripe customer routes on the instance's page.
func (s *Service) instancePanel(r *http.Request, op *admin.Op, t store.Tenant, _ *store.Contact) (any, error) {
	if t.ID != store.InstanceTenantID {
		return nil, nil
	}
	routes, next, err := s.ListRoutes(r.Context(), op.Actor, store.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return nil, err
	}
	return instanceRoutes{Routes: routes, RoutesNext: admin.NextURL(r, next)}, nil
}
