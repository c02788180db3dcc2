package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/notify"
	"github.com/joist-dev/joist/internal/store"
)

// TestFeedLogRetention: the janitor's round deletes feed log entries
// older than the retention (7 days) and keeps the newer ones, which a
// resuming stream still replays; on both stores.
func TestFeedLogRetention(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		now := time.Now()
		err := env.App.DB.Write(ctx, func(tx *store.Tx) error {
			for i, at := range []time.Time{now.Add(-9 * 24 * time.Hour), now.Add(-8 * 24 * time.Hour), now.Add(-6 * 24 * time.Hour), now} {
				if _, err := notify.FeedAppend(ctx, tx, "tn_x", "ct_a", notify.FeedNew, "ntf_"+string(rune('a'+i)), at); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := env.App.Feed.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
		var left []int64
		err = env.App.DB.Read(ctx, func(tx *store.Tx) error {
			rows, err := tx.Query(ctx, `SELECT seq FROM feed_log WHERE tenant_id = 'tn_x' ORDER BY seq`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var s int64
				if err := rows.Scan(&s); err != nil {
					return err
				}
				left = append(left, s)
			}
			return rows.Err()
		})
		if err != nil || len(left) != 2 || left[0] != 3 || left[1] != 4 {
			t.Fatalf("left after the purge: %v %v", left, err)
		}
	})
}
