package jobs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/tenants"
)

// TestJobStartsAtCommit: with the engine's poll an hour apart, jobs
// enqueued one after another still run, so what starts them is the
// commit of the transaction that enqueued them (River's NOTIFY on
// PostgreSQL, joist's after-commit wake-up on SQLite), not the poll. The
// first job could be found by the engine's first fetch at start; the
// later ones cannot.
func TestJobStartsAtCommit(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, err := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		rcv := newReceiver(t)
		for i := range 3 {
			j, _, err := env.App.Jobs.Create(ctx, root, tn.ID, jobs.PushInput{URL: rcv.srv.URL + "/hook", Body: json.RawMessage(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			waitState(t, env.App.Jobs, tn.ID, j.ID, "completed")
			if rcv.count() != i+1 {
				t.Fatalf("deliveries %d, want %d", rcv.count(), i+1)
			}
		}
	}, func(c *config.Config) { c.JobPollInterval = time.Hour })
}
