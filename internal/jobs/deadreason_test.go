package jobs_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/jobs"
)

// TestDeadJobSaysWhy: a job that fails its last attempt is dead with a
// reason naming the last error, in the API and the admin; a retry clears it.
func TestDeadJobSaysWhy(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := admintest.MkTenant(t, env, "acme")
		tg := admintest.NewTarget(t)
		dead := deadJob(t, env, tn.ID, tg)
		want := "max_attempts exhausted: target answered 500: app says Internal Server Error"
		if dead.DeadReason != want {
			t.Fatalf("dead reason %q, want %q", dead.DeadReason, want)
		}
		owner := admintest.NewClient(t, env)
		owner.LoginOwner()
		admintest.Want(t, "dead list", owner.Get("/admin/tenants/acme/jobs?state=dead"), http.StatusOK, "max_attempts exhausted")

		if _, err := env.App.Jobs.Retry(context.Background(), admintest.CLI(), tn.ID, dead.ID); err != nil {
			t.Fatal(err)
		}
		if j := waitJob(t, env, tn.ID, dead.ID, "completed"); j.DeadReason != "" {
			t.Fatalf("retried job keeps dead reason %q", j.DeadReason)
		}
	})
}

func TestDeadReasonExhaustedIsBounded(t *testing.T) {
	r := jobs.DeadReasonExhausted(strings.Repeat("é", 400))
	if len(r) > 504 || !strings.HasSuffix(r, "…") || !strings.HasPrefix(r, "max_attempts exhausted: éé") || strings.ContainsRune(r, '\uFFFD') {
		t.Fatalf("bounded reason: %d bytes %q", len(r), r)
	}
}
