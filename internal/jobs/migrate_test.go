package jobs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
)

// TestRiverGINPendingListTuned: on PostgreSQL, River's GIN indexes merge
// their pending list in 64 kB steps (a 4 MB merge stalled one insert in a
// hundred for ~100 ms under load; see docs/benchmarks.md).
func TestRiverGINPendingListTuned(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		if env.Dialect != store.Postgres {
			t.Skip("a PostgreSQL index setting")
		}
		for _, ix := range []string{"river_job_args_index", "river_job_metadata_index"} {
			var opts string
			err := env.App.DB.Read(context.Background(), func(tx *store.Tx) error {
				return tx.QueryRow(context.Background(), `SELECT coalesce(array_to_string(c.reloptions, ','), '') FROM pg_class c
					WHERE c.relname = ? AND c.relnamespace = current_schema()::regnamespace`, ix).Scan(&opts)
			})
			if err != nil {
				t.Fatalf("%s: %v", ix, err)
			}
			if !strings.Contains(opts, "gin_pending_list_limit=64") {
				t.Fatalf("%s options %q, want gin_pending_list_limit=64", ix, opts)
			}
		}
	})
}
