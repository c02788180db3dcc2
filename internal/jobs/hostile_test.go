package jobs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
)

// TestTargetAnswerThatIsNotText: a target answering NUL bytes and invalid
// UTF-8 has its answer recorded as safe text (replaced, and said so) in the
// attempt and in River's error list (jsonb on PostgreSQL refuses \u0000),
// and the job goes on to its next attempt, on both stores.
func TestTargetAnswerThatIsNotText(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, err := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte("bad\x00answer \xff\xfe from caf\xe9"))
				return
			}
			w.Write([]byte("ok\x00"))
		}))
		t.Cleanup(srv.Close)
		j, _, err := env.App.Jobs.Create(ctx, root, tn.ID, jobs.PushInput{URL: srv.URL, MaxAttempts: 3})
		if err != nil {
			t.Fatal(err)
		}
		done := waitState(t, env.App.Jobs, tn.ID, j.ID, "completed")
		if len(done.Attempts) != 2 {
			t.Fatalf("attempts %+v, want 2", done.Attempts)
		}
		first, second := done.Attempts[0], done.Attempts[1]
		if !strings.HasPrefix(first.ResponseBody, "bad\uFFFDanswer \uFFFD\uFFFD from caf\uFFFD") || !strings.Contains(first.ResponseBody, "replaced 4 byte(s)") {
			t.Fatalf("first answer stored as %q", first.ResponseBody)
		}
		if !store.ValidText(first.Error) || first.Status != 500 {
			t.Fatalf("first attempt: %+v", first)
		}
		if !strings.HasPrefix(second.ResponseBody, "ok\uFFFD") {
			t.Fatalf("second answer stored as %q", second.ResponseBody)
		}
	})
}
