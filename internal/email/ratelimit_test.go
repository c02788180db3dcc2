package email

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// TestRateLimitShared: two nodes (two connections pools to one database,
// each with its own limiter and nothing shared in memory) taking slots at
// once never get two slots closer than 1/rate apart, on both stores; a
// slot further than maxRateWait is refused with the wait as Retry-After.
func TestRateLimitShared(t *testing.T) {
	t.Parallel()
	storetest.EachStore(t, func(t *testing.T, opts store.Options) {
		ctx := context.Background()
		var nodes []*rateLimiter
		for range 2 {
			db, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if _, err := db.Migrate(ctx, store.CoreMigrations(), Migrations()); err != nil {
				t.Fatal(err)
			}
			nodes = append(nodes, newRateLimiter(db, "resend", 5, time.Now))
		}
		const perNode = 15
		var mu sync.Mutex
		var slots []time.Time
		var wg sync.WaitGroup
		start := time.Now()
		for _, l := range nodes {
			for range perNode {
				wg.Add(1)
				go func() {
					defer wg.Done()
					slot, ok, err := l.take(ctx)
					if err != nil || !ok {
						t.Errorf("take: %v %v", ok, err)
						return
					}
					mu.Lock()
					slots = append(slots, slot)
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		if len(slots) != 2*perNode {
			t.Fatalf("%d slots", len(slots))
		}
		slices.SortFunc(slots, func(a, b time.Time) int { return a.Compare(b) })
		for i := 1; i < len(slots); i++ {
			if gap := slots[i].Sub(slots[i-1]); gap < 200*time.Millisecond {
				t.Fatalf("slots %d and %d are %s apart; at 5/s they must be 200ms apart", i-1, i, gap)
			}
		}
		// 30 requests at 5/s span 5.8 s from the first slot, not less.
		if span := slots[len(slots)-1].Sub(slots[0]); span < 5800*time.Millisecond || slots[0].Before(start.Add(-time.Second)) {
			t.Fatalf("span %s", span)
		}

		// Fill the next minute, then the next take is refused with the wait.
		// The clock stands still, so a slow machine taking seconds over the
		// 61 takes cannot shrink the wait the test expects.
		frozen := time.Now()
		fast := newRateLimiter(nodes[0].db, "postmark", 1, func() time.Time { return frozen })
		for range 61 {
			if _, ok, err := fast.take(ctx); err != nil || !ok {
				t.Fatalf("take: %v %v", ok, err)
			}
		}
		err := fast.wait(ctx)
		se, isSend := err.(*SendError)
		if !isSend || se.Permanent || se.RetryAfter < 55*time.Second {
			t.Fatalf("beyond a minute: %#v", err)
		}
		// The other provider's slots are its own.
		if slot, ok, err := nodes[1].take(ctx); err != nil || !ok || slot.Sub(slots[len(slots)-1]) != 200*time.Millisecond {
			t.Fatalf("resend after postmark filled up: %v %v %v", slot, ok, err)
		}
	})
}
