package contacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// The contacts system's own SQL, on both stores.

func TestContactSearchUpdateAndTimeline(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := storetest.Tenant(t, db, "clinic-a")
		b := storetest.Tenant(t, db, "clinic-b")
		c := store.Contact{ID: store.NewID(store.PrefixContact), ExternalID: "u1", Email: "Ann@Example.com", Name: "Ann Lee",
			Metadata: json.RawMessage(`{"plan":"pro"}`), CreatedAt: now(), UpdatedAt: now()}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.Tenant(a.ID).ContactInsert(ctx, c) }); err != nil {
			t.Fatal(err)
		}
		err := db.Read(ctx, func(tx *store.Tx) error {
			for _, q := range []string{"ann@", "LEE", "u1"} {
				list, _, err := contactList(ctx, tx.Tenant(a.ID), store.Page{}, q)
				if err != nil || len(list) != 1 {
					return fmt.Errorf("search %q: %v %d", q, err, len(list))
				}
			}
			list, _, err := contactList(ctx, tx.Tenant(a.ID), store.Page{}, "50%")
			if err != nil || len(list) != 0 {
				return fmt.Errorf("search with wildcard: %v %d", err, len(list))
			}
			list, _, err = contactList(ctx, tx.Tenant(b.ID), store.Page{}, "")
			if err != nil || len(list) != 0 {
				return fmt.Errorf("tenant b list: %v %d", err, len(list))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// An update changes the fields of the tenant's contact only.
		c.Name, c.UpdatedAt = "Ann Lee-Smith", now()
		if err := db.Write(ctx, func(tx *store.Tx) error { return contactUpdate(ctx, tx.Tenant(b.ID), c) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update through tenant b: %v, want ErrNotFound", err)
		}
		if err := db.Write(ctx, func(tx *store.Tx) error { return contactUpdate(ctx, tx.Tenant(a.ID), c) }); err != nil {
			t.Fatal(err)
		}

		// The timeline lists newest first, in pages, and only the tenant's.
		for i := range 3 {
			e := store.TimelineEntry{ID: store.NewID(store.PrefixTimeline), ContactID: c.ID, Kind: "test", Summary: fmt.Sprint("entry ", i), CreatedAt: now()}
			if err := db.Write(ctx, func(tx *store.Tx) error { return tx.Tenant(a.ID).TimelineAdd(ctx, e) }); err != nil {
				t.Fatal(err)
			}
		}
		var all []string
		p := store.Page{Limit: 2}
		for {
			var items []store.TimelineEntry
			var next string
			err := db.Read(ctx, func(tx *store.Tx) error {
				var err error
				items, next, err = timelineList(ctx, tx.Tenant(a.ID), c.ID, p)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range items {
				all = append(all, e.Summary)
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
		if fmt.Sprint(all) != "[entry 2 entry 1 entry 0]" {
			t.Fatalf("timeline = %v, want newest first", all)
		}
		err = db.Read(ctx, func(tx *store.Tx) error {
			items, _, err := timelineList(ctx, tx.Tenant(b.ID), c.ID, store.Page{})
			if err == nil && len(items) != 0 {
				return fmt.Errorf("tenant b reads %d timeline entries of a's contact", len(items))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestPagination(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := storetest.Tenant(t, db, "a")
		for i := range 7 {
			c := store.Contact{ID: store.NewID(store.PrefixContact), ExternalID: fmt.Sprint("u", i), CreatedAt: now(), UpdatedAt: now()}
			if err := db.Write(ctx, func(tx *store.Tx) error { return tx.Tenant(a.ID).ContactInsert(ctx, c) }); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		p := store.Page{Limit: 3}
		pages := 0
		for {
			var list []store.Contact
			var next string
			err := db.Read(ctx, func(tx *store.Tx) error {
				var err error
				list, next, err = contactList(ctx, tx.Tenant(a.ID), p, "")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, c := range list {
				if seen[c.ID] {
					t.Fatalf("contact %s on two pages", c.ID)
				}
				seen[c.ID] = true
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
		if len(seen) != 7 || pages != 3 {
			t.Fatalf("saw %d contacts in %d pages, want 7 in 3", len(seen), pages)
		}
		err := db.Read(ctx, func(tx *store.Tx) error {
			_, _, err := contactList(ctx, tx.Tenant(a.ID), store.Page{Cursor: "garbage!"}, "")
			return err
		})
		if !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}
