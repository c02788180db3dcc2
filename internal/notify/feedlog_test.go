package notify

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// TestFeedAppendMonotonic: concurrent changes to one contact's feed from
// two connection pools (two nodes) get distinct, gap-free sequence
// numbers, each logged once; another contact's sequence is its own.
func TestFeedAppendMonotonic(t *testing.T) {
	t.Parallel()
	storetest.EachStore(t, func(t *testing.T, opts store.Options) {
		ctx := context.Background()
		var dbs []*store.DB
		for range 2 {
			db, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if _, err := db.Migrate(ctx, store.CoreMigrations(), Migrations()); err != nil {
				t.Fatal(err)
			}
			dbs = append(dbs, db)
		}
		const each = 20
		var mu sync.Mutex
		seen := map[int64]bool{}
		var wg sync.WaitGroup
		for _, db := range dbs {
			for range each {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := db.Write(ctx, func(tx *store.Tx) error {
						c, err := feedAppend(ctx, tx, "tn_a", "ct_1", FeedNew, "ntf_x", time.Now())
						if err == nil {
							mu.Lock()
							if seen[c.Seq] {
								t.Errorf("seq %d twice", c.Seq)
							}
							seen[c.Seq] = true
							mu.Unlock()
						}
						return err
					})
					if err != nil {
						t.Error(err)
					}
				}()
			}
		}
		wg.Wait()
		for i := int64(1); i <= 2*each; i++ {
			if !seen[i] {
				t.Fatalf("seq %d missing: %v", i, seen)
			}
		}
		var other FeedChange
		err := dbs[0].Write(ctx, func(tx *store.Tx) (err error) {
			other, err = feedAppend(ctx, tx, "tn_a", "ct_2", FeedState, "ntf_y", time.Now())
			return err
		})
		if err != nil || other.Seq != 1 {
			t.Fatalf("another contact's first change: %+v %v", other, err)
		}
		var logged int
		err = dbs[1].Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM feed_log WHERE tenant_id = ? AND contact_id = ?`, "tn_a", "ct_1").Scan(&logged)
		})
		if err != nil || logged != 2*each {
			t.Fatalf("logged %d, %v", logged, err)
		}
	})
}
