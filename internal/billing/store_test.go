package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// TestStore runs the billing system's queries on both stores: customer
// links, instance routes, subscriptions (lock-or-create, update, get, list
// with paging and filters), their history, and tenant confinement.
func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		var acme, other store.Tenant
		var ann, bob store.Contact
		acme = store.Tenant{ID: store.NewID(store.PrefixTenant), Slug: "acme", Name: "Acme", CreatedAt: base, UpdatedAt: base}
		other = store.Tenant{ID: store.NewID(store.PrefixTenant), Slug: "other", Name: "Other", CreatedAt: base, UpdatedAt: base}
		ann = store.Contact{ID: store.NewID("ct_"), ExternalID: "ann", CreatedAt: base, UpdatedAt: base}
		bob = store.Contact{ID: store.NewID("ct_"), ExternalID: "bob", CreatedAt: base, UpdatedAt: base}
		if err := db.Write(ctx, func(tx *store.Tx) error {
			for _, tn := range []store.Tenant{acme, other} {
				if err := tx.TenantInsert(ctx, tn); err != nil {
					return err
				}
			}
			for _, c := range []store.Contact{ann, bob} {
				if err := tx.Tenant(acme.ID).ContactInsert(ctx, c); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		write := func(tenantID string, f func(sc *store.Scope) error) error {
			return db.Write(ctx, func(tx *store.Tx) error { return f(tx.Tenant(tenantID)) })
		}
		read := func(tenantID string, f func(sc *store.Scope) error) error {
			return db.Read(ctx, func(tx *store.Tx) error { return f(tx.Tenant(tenantID)) })
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}

		// Subscriptions: locking creates an empty row once; an update
		// writes every field; test mode is a row of its own.
		end := base.Add(30 * 24 * time.Hour)
		var live, test Subscription
		must(write(acme.ID, func(sc *store.Scope) error {
			var err error
			if live, err = subscriptionLock(ctx, sc, true, "sub_1", "cus_1", "", base); err != nil {
				return err
			}
			if live.Status != "" || live.TenantID != acme.ID || live.StripeCustomer != "cus_1" || !live.Livemode {
				return fmt.Errorf("new row: %+v", live)
			}
			again, err := subscriptionLock(ctx, sc, true, "sub_1", "cus_other", "", base.Add(time.Hour))
			if err != nil || again.ID != live.ID || again.StripeCustomer != "cus_1" {
				return fmt.Errorf("second lock: %+v %v", again, err)
			}
			if test, err = subscriptionLock(ctx, sc, false, "sub_1", "cus_1", "", base); err != nil || test.ID == live.ID {
				return fmt.Errorf("test-mode row: %+v %v", test, err)
			}
			live.Status, live.PriceID, live.ProductID, live.PlanNickname, live.Quantity = "active", "price_1", "prod_1", "Pro", 3
			live.CurrentPeriodEnd, live.CancelAtPeriodEnd, live.LatestInvoice, live.PaymentStatus = &end, true, "in_1", "paid"
			live.StateEventID, live.StateEventCreated, live.StateFetchedAt, live.ContactID = "evt_9", &base, &base, ann.ID
			live.UpdatedAt = base.Add(time.Minute)
			return subscriptionUpdate(ctx, sc, live)
		}))
		must(read(acme.ID, func(sc *store.Scope) error {
			got, err := subscriptionGet(ctx, sc, true, "sub_1")
			if err != nil {
				return err
			}
			if got.ID != live.ID || got.Status != "active" || got.PriceID != "price_1" || got.ProductID != "prod_1" || got.PlanNickname != "Pro" ||
				got.Quantity != 3 || got.CurrentPeriodEnd == nil || !got.CurrentPeriodEnd.Equal(end) || !got.CancelAtPeriodEnd ||
				got.LatestInvoice != "in_1" || got.PaymentStatus != "paid" || got.StateEventID != "evt_9" || got.StateEventCreated == nil ||
				got.StateFetchedAt == nil || got.CancelAt != nil || got.ContactID != ann.ID || got.ContactExternalID != ann.ExternalID ||
				!got.UpdatedAt.Equal(base.Add(time.Minute)) {
				return fmt.Errorf("live sub_1: %+v", got)
			}
			if tm, err := subscriptionGet(ctx, sc, false, "sub_1"); err != nil || tm.Status != "" || tm.ID != test.ID {
				return fmt.Errorf("test-mode sub_1: %+v %v", tm, err)
			}
			return nil
		}))

		// More live subscriptions for the listing: bob's and unlinked ones.
		ids := []string{live.ID}
		for i, st := range []string{"trialing", "canceled", "active", "past_due"} {
			must(write(acme.ID, func(sc *store.Scope) error {
				s, err := subscriptionLock(ctx, sc, true, fmt.Sprintf("sub_%d", i+2), "cus_2", "", base)
				if err != nil {
					return err
				}
				s.Status = st
				if i%2 == 0 {
					s.ContactID = bob.ID
				}
				ids = append(ids, s.ID)
				return subscriptionUpdate(ctx, sc, s)
			}))
		}
		slices.Sort(ids)
		listAll := func(tenantID string, limit int, f subscriptionFilter) []Subscription {
			t.Helper()
			var out []Subscription
			p := store.Page{Limit: limit}
			for range 20 {
				var items []Subscription
				var next string
				must(read(tenantID, func(sc *store.Scope) error {
					var err error
					items, next, err = subscriptionList(ctx, sc, p, f)
					return err
				}))
				if len(items) > limit {
					t.Fatalf("page of %d, limit %d", len(items), limit)
				}
				out = append(out, items...)
				if next == "" {
					return out
				}
				p.Cursor = next
			}
			t.Fatal("listing does not end")
			return nil
		}
		subIDs := func(l []Subscription) []string {
			out := []string{}
			for _, s := range l {
				out = append(out, s.ID)
			}
			return out
		}
		if got := subIDs(listAll(acme.ID, 2, subscriptionFilter{Livemode: true})); !slices.Equal(got, ids) {
			t.Errorf("live, pages of 2: %v, want %v", got, ids)
		}
		if got := subIDs(listAll(acme.ID, 2, subscriptionFilter{Livemode: false})); !slices.Equal(got, []string{test.ID}) {
			t.Errorf("test mode: %v, want %v", got, test.ID)
		}
		active := listAll(acme.ID, 1, subscriptionFilter{Livemode: true, Statuses: []string{"active", "past_due"}})
		for _, s := range active {
			if s.Status != "active" && s.Status != "past_due" {
				t.Errorf("status filter listed %s", s.Status)
			}
		}
		if len(active) != 3 {
			t.Errorf("active or past_due: %d, want 3", len(active))
		}
		bobs := listAll(acme.ID, 5, subscriptionFilter{Livemode: true, ContactID: bob.ID})
		if len(bobs) != 2 || bobs[0].ContactExternalID != bob.ExternalID {
			t.Errorf("bob's: %+v", bobs)
		}
		if l := listAll(other.ID, 5, subscriptionFilter{Livemode: true}); len(l) != 0 {
			t.Errorf("another tenant lists acme's subscriptions: %v", subIDs(l))
		}

		// History, oldest first.
		must(write(acme.ID, func(sc *store.Scope) error {
			for i := range 3 {
				if err := subscriptionChangeAdd(ctx, sc, SubscriptionChange{ID: fmt.Sprintf("sbc_%d", i), SubscriptionID: live.ID, EventID: "evt_x",
					StripeEventID: fmt.Sprintf("evt_s%d", i), EventType: "customer.subscription.updated", EventCreated: base,
					FromStatus: "trialing", ToStatus: "active", Changes: json.RawMessage(`{"status":["trialing","active"]}`),
					CorrelationID: "req_1", CreatedAt: base}); err != nil {
					return err
				}
			}
			return nil
		}))
		must(read(acme.ID, func(sc *store.Scope) error {
			h, err := subscriptionChangeList(ctx, sc, live.ID)
			if err != nil || len(h) != 3 || h[0].ID != "sbc_0" || h[2].StripeEventID != "evt_s2" || h[0].ToStatus != "active" ||
				h[0].CorrelationID != "req_1" || string(h[0].Changes) == "" {
				return fmt.Errorf("history: %+v %v", h, err)
			}
			var ch map[string][2]string
			if err := json.Unmarshal(h[0].Changes, &ch); err != nil || ch["status"][1] != "active" {
				return fmt.Errorf("changes %s: %v", h[0].Changes, err)
			}
			return nil
		}))

		// Customer links: a put points the customer's subscriptions at the contact.
		must(write(acme.ID, func(sc *store.Scope) error {
			return customerPut(ctx, sc, Customer{StripeCustomer: "cus_2", ContactID: ann.ID, LinkSource: "api", CreatedAt: base, UpdatedAt: base})
		}))
		must(read(acme.ID, func(sc *store.Scope) error {
			c, err := customerGet(ctx, sc, "cus_2")
			if err != nil || c.ContactID != ann.ID || c.LinkSource != "api" || c.TenantID != acme.ID {
				return fmt.Errorf("cus_2: %+v %v", c, err)
			}
			return nil
		}))
		if anns := listAll(acme.ID, 10, subscriptionFilter{Livemode: true, ContactID: ann.ID}); len(anns) != 5 {
			t.Errorf("after linking cus_2 to ann: %d of her subscriptions, want 5", len(anns))
		}
		must(write(acme.ID, func(sc *store.Scope) error {
			return customerPut(ctx, sc, Customer{StripeCustomer: "cus_2", ContactID: bob.ID, LinkSource: "metadata", CreatedAt: base, UpdatedAt: end})
		}))
		must(read(acme.ID, func(sc *store.Scope) error {
			c, err := customerGet(ctx, sc, "cus_2")
			if err != nil || c.ContactID != bob.ID || c.LinkSource != "metadata" || !c.UpdatedAt.Equal(end) {
				return fmt.Errorf("cus_2 relinked: %+v %v", c, err)
			}
			return nil
		}))

		// Another tenant's scope finds, changes and links nothing of acme's.
		must(write(other.ID, func(sc *store.Scope) error {
			if _, err := subscriptionGet(ctx, sc, true, "sub_1"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("other's get: %v", err)
			}
			if _, err := customerGet(ctx, sc, "cus_2"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("other's customer get: %v", err)
			}
			if h, err := subscriptionChangeList(ctx, sc, live.ID); err != nil || len(h) != 0 {
				return fmt.Errorf("other's history: %v %v", h, err)
			}
			x := live
			x.Status = "canceled"
			if err := subscriptionUpdate(ctx, sc, x); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("other's update: %v", err)
			}
			return customerPut(ctx, sc, Customer{StripeCustomer: "cus_1", ContactID: "ct_elsewhere", LinkSource: "api", CreatedAt: base, UpdatedAt: base})
		}))
		must(read(acme.ID, func(sc *store.Scope) error {
			s, err := subscriptionGet(ctx, sc, true, "sub_1")
			if err != nil || s.Status != "active" || s.ContactID != ann.ID {
				return fmt.Errorf("acme's sub_1 after the other tenant's writes: %+v %v", s, err)
			}
			return nil
		}))

		// Routes belong to the instance: refused on a tenant's scope;
		// listed by customer with the routed tenant's slug.
		if err := write(acme.ID, func(sc *store.Scope) error {
			return routePut(ctx, sc, Route{StripeCustomer: "cus_1", RouteTenantID: acme.ID, LinkSource: "api", CreatedAt: base, UpdatedAt: base})
		}); !errors.Is(err, errNotInstance) {
			t.Fatalf("route on a tenant's scope: %v", err)
		}
		must(write(store.InstanceTenantID, func(sc *store.Scope) error {
			for i, tn := range []store.Tenant{acme, other, acme} {
				if err := routePut(ctx, sc, Route{StripeCustomer: fmt.Sprintf("cus_%d", 3-i), RouteTenantID: tn.ID, LinkSource: "metadata",
					CreatedAt: base, UpdatedAt: base}); err != nil {
					return err
				}
			}
			// Replacing cus_3's route.
			return routePut(ctx, sc, Route{StripeCustomer: "cus_3", RouteTenantID: other.ID, LinkSource: "api", CreatedAt: base, UpdatedAt: end})
		}))
		must(read(store.InstanceTenantID, func(sc *store.Scope) error {
			r, err := routeGet(ctx, sc, "cus_3")
			if err != nil || r.RouteTenantID != other.ID || r.LinkSource != "api" || !r.UpdatedAt.Equal(end) {
				return fmt.Errorf("cus_3 route: %+v %v", r, err)
			}
			var got []string
			p := store.Page{Limit: 2}
			for {
				l, next, err := routeList(ctx, sc, p)
				if err != nil {
					return err
				}
				for _, r := range l {
					got = append(got, r.StripeCustomer+"->"+r.RouteTenantSlug)
				}
				if next == "" {
					break
				}
				p.Cursor = next
			}
			if want := []string{"cus_1->acme", "cus_2->other", "cus_3->other"}; !slices.Equal(got, want) {
				return fmt.Errorf("routes %v, want %v", got, want)
			}
			return nil
		}))
		must(read(acme.ID, func(sc *store.Scope) error {
			if _, err := routeGet(ctx, sc, "cus_3"); !errors.Is(err, errNotInstance) {
				return fmt.Errorf("route get on a tenant's scope: %v", err)
			}
			if _, _, err := routeList(ctx, sc, store.Page{}); !errors.Is(err, errNotInstance) {
				return fmt.Errorf("route list on a tenant's scope: %v", err)
			}
			return nil
		}))
	}, Migrations())
}
