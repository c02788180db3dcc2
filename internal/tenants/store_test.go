package tenants

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// The tenants system's own SQL (key management), on both stores.
func TestKeySQLStaysInItsTenant(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := storetest.Tenant(t, db, "a")
		b := storetest.Tenant(t, db, "b")
		now := time.Now().UTC().Truncate(time.Microsecond)
		var ids []string
		for i := range 3 {
			k := store.APIKey{ID: store.NewID(store.PrefixKey), Name: "k", Prefix: "jk_" + string(rune('a'+i)), Hash: store.NewID("h_"), CreatedBy: "test", CreatedAt: now}
			if err := db.Write(ctx, func(tx *store.Tx) error { return keyInsert(ctx, tx.Tenant(a.ID), k) }); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, k.ID)
		}
		err := db.Write(ctx, func(tx *store.Tx) error {
			if _, err := keyGet(ctx, tx.Tenant(b.ID), ids[0]); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("tenant b reads a's key: %v", err)
			}
			if err := keyRevoke(ctx, tx.Tenant(b.ID), ids[0], now); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("tenant b revokes a's key: %v", err)
			}
			if err := keyRevoke(ctx, tx.Tenant(a.ID), ids[0], now); err != nil {
				return err
			}
			// Revoking twice keeps the first time.
			if err := keyRevoke(ctx, tx.Tenant(a.ID), ids[0], now.Add(time.Hour)); err != nil {
				return err
			}
			k, err := keyGet(ctx, tx.Tenant(a.ID), ids[0])
			if err != nil {
				return err
			}
			if k.RevokedAt == nil || !k.RevokedAt.Equal(now) || k.TenantID != a.ID {
				t.Errorf("revoked key = %+v, want revoked at %v", k, now)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		p := store.Page{Limit: 2}
		for {
			var items []store.APIKey
			var next string
			err := db.Read(ctx, func(tx *store.Tx) error {
				var err error
				items, next, err = keyList(ctx, tx.Tenant(a.ID), p)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range items {
				got = append(got, k.ID)
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
		if len(got) != 3 || got[0] != ids[0] || got[2] != ids[2] {
			t.Fatalf("keys listed %v, want %v", got, ids)
		}
		err = db.Read(ctx, func(tx *store.Tx) error {
			items, _, err := keyList(ctx, tx.Tenant(b.ID), store.Page{})
			if err == nil && len(items) != 0 {
				t.Errorf("tenant b lists %d keys", len(items))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
