package email

import (
	"context"
	"errors"
	"testing"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// TestDomainStore: a domain name has one owner across tenants; a tenant
// finds its own domains and the instance's, never another tenant's; keys
// change status; deleting a domain deletes its keys.
func TestDomainStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := storetest.Tenant(t, db, "acme").ID, storetest.Tenant(t, db, "bravo").ID
		key := func(id, sel, status string) DKIMKey {
			return DKIMKey{ID: id, Selector: sel, Algorithm: AlgRSA, PublicKey: "cHVi", PrivateKey: "v1:sealed", Status: status, CreatedAt: base}
		}
		write := func(tenant string, f func(q scope) error) error {
			return db.Write(ctx, func(tx *store.Tx) error { return f(scope{tx.Tenant(tenant)}) })
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(write(a, func(q scope) error {
			return q.domainInsert(ctx, Domain{ID: "dom_a", Name: "acme.example", Provider: "smtp", CreatedAt: base, UpdatedAt: base,
				Keys: []DKIMKey{key("dk_1", "joist1", KeyActive)}})
		}))
		must(write(store.InstanceTenantID, func(q scope) error {
			return q.domainInsert(ctx, Domain{ID: "dom_i", Name: "shared.example", Provider: "resend", CreatedAt: base, UpdatedAt: base})
		}))
		// Another owner claiming the name: a conflict, nothing stored.
		err := write(b, func(q scope) error {
			return q.domainInsert(ctx, Domain{ID: "dom_b", Name: "acme.example", Provider: "smtp", CreatedAt: base, UpdatedAt: base})
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second owner: %v, want ErrConflict", err)
		}
		must(db.Read(ctx, func(tx *store.Tx) error {
			if _, err := (scope{tx.Tenant(b)}).domainGet(ctx, "acme.example"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("B sees A's domain: %v", err)
			}
			if l, err := (scope{tx.Tenant(b)}).domainList(ctx); err != nil || len(l) != 0 {
				t.Fatalf("B's list: %v %v", l, err)
			}
			if _, err := domainOwned(ctx, tx, b, "acme.example"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("B may send as A's domain: %v", err)
			}
			if d, err := domainOwned(ctx, tx, b, "shared.example"); err != nil || d.TenantID != store.InstanceTenantID {
				t.Fatalf("B cannot use the instance's domain: %+v %v", d, err)
			}
			d, err := domainOwned(ctx, tx, a, "acme.example")
			if err != nil || d.ID != "dom_a" || len(d.Keys) != 1 || d.Keys[0].Selector != "joist1" || d.Keys[0].ActivatedAt != nil {
				t.Fatalf("A's domain: %+v %v", d, err)
			}
			return nil
		}))
		must(write(a, func(q scope) error {
			k := key("dk_2", "joist2", KeyPending)
			k.DomainID = "dom_a"
			if err := q.keyInsert(ctx, k); err != nil {
				return err
			}
			if err := q.keySetStatus(ctx, "dk_1", KeyRetired, base); err != nil {
				return err
			}
			return q.keySetStatus(ctx, "dk_2", KeyActive, base)
		}))
		// B cannot touch A's keys or domain.
		if err := write(b, func(q scope) error { return q.keySetStatus(ctx, "dk_2", KeyRetired, base) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("B changed A's key: %v", err)
		}
		if err := write(b, func(q scope) error { return q.domainDelete(ctx, "dom_a") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("B deleted A's domain: %v", err)
		}
		must(db.Read(ctx, func(tx *store.Tx) error {
			d, err := scope{tx.Tenant(a)}.domainGet(ctx, "acme.example")
			if err != nil || len(d.Keys) != 2 || d.Keys[0].Status != KeyActive || d.Keys[1].Status != KeyRetired || d.Keys[1].RetiredAt == nil {
				t.Fatalf("after rotation: %+v %v", d.Keys, err)
			}
			return nil
		}))
		must(write(a, func(q scope) error { return q.domainDelete(ctx, "dom_a") }))
		if n := storetest.Count(t, db, "email_dkim_keys"); n != 0 {
			t.Fatalf("%d keys left after the domain was deleted", n)
		}
	}, Migrations())
}
