package jobs_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/apitest/openapicheck"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
)

func apiClient(t *testing.T, env *apptest.Env, slug string) *client.Client {
	chk := openapicheck.New(t, apptest.OpenAPI(t))
	return client.New(env.URL, env.RootKey, &http.Client{Transport: chk.Transport(nil), Timeout: 30 * time.Second}).Tenant(slug)
}

// TestPushToMetadataRefusedWhenSaved: with nothing configured, a job to a
// cloud metadata address (in any of its forms) is refused with 400
// host_not_allowed naming the host, and nothing is enqueued.
func TestPushToMetadataRefusedWhenSaved(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		if _, err := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"}); err != nil {
			t.Fatal(err)
		}
		c := apiClient(t, env, "acme")
		before := env.Count(t, "jobs")
		for u, host := range map[string]string{"http://169.254.169.254/latest/meta-data/iam/security-credentials/": "169.254.169.254",
			"http://[::ffff:169.254.169.254]/": "::ffff:169.254.169.254", "http://[fd00:ec2::254]/": "fd00:ec2::254",
			"http://100.100.100.200/latest/meta-data": "100.100.100.200", "http://0.0.0.0:8080/": "0.0.0.0", "http://[::]:8080/": `"::"`,
			"http://[fe80::1]/": "fe80::1"} {
			_, _, err := c.CreateJob(ctx, client.JobCreate{URL: u})
			var e *client.Error
			if !errors.As(err, &e) || e.Status != 400 || e.Code != "host_not_allowed" || !strings.Contains(e.Detail, host) || !strings.Contains(e.Detail, "JOIST_EGRESS_ALLOW") {
				t.Errorf("job to %s: %v, want 400 host_not_allowed naming %s", u, err, host)
			}
		}
		if n := env.Count(t, "jobs"); n != before {
			t.Fatalf("%d jobs enqueued by refused requests", n-before)
		}
	})
}

// TestPushRefusedAtDialTime: a destination whose name resolves to a
// refused address passes when saved, and its first attempt is refused:
// the job is dead at once with dead_reason destination_refused and an
// attempt that says why, and the target is never reached. Naming the host
// in JOIST_EGRESS_ALLOW lets it through.
func TestPushRefusedAtDialTime(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, err := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		rcv := newReceiver(t)
		// The receiver listens on 127.0.0.1; "localhost" resolves there.
		u := strings.Replace(rcv.srv.URL, "127.0.0.1", "localhost", 1) + "/hook"
		j, _, err := apiClient(t, env, "acme").CreateJob(ctx, client.JobCreate{URL: u, MaxAttempts: 5})
		if err != nil {
			t.Fatalf("a host name is checked when dialled, not when saved: %v", err)
		}
		dead := waitState(t, env.App.Jobs, tn.ID, j.ID, "dead")
		if dead.DeadReason != jobs.DeadRefused || len(dead.Attempts) != 1 || !strings.Contains(dead.Attempts[0].Error, "JOIST_EGRESS_DENY_PRIVATE") ||
			!strings.Contains(dead.Attempts[0].Error, `"localhost"`) {
			t.Fatalf("refused job: reason %q, attempts %+v", dead.DeadReason, dead.Attempts)
		}
		if rcv.count() != 0 {
			t.Fatal("the refused destination was reached")
		}
		// The same job, once the operator names the host, is delivered.
		env = env.Restart(t, func(c *config.Config) { c.EgressAllow = []string{"localhost"} })
		if _, err := env.App.Jobs.Retry(ctx, root, tn.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		done := waitState(t, env.App.Jobs, tn.ID, j.ID, "completed")
		if rcv.count() != 1 || done.DeadReason != "" {
			t.Fatalf("after allowing: %d deliveries, dead_reason %q", rcv.count(), done.DeadReason)
		}
	}, func(c *config.Config) { c.EgressDenyPrivate = true })
}

// TestAllowedHostsEnforcedWhenJobRuns: a job enqueued before
// JOIST_PUSH_ALLOWED_HOSTS was set, retried after, is refused when it
// runs, not delivered.
func TestAllowedHostsEnforcedWhenJobRuns(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		tn, err := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		rcv := newReceiver(t)
		j, _, err := env.App.Jobs.Create(ctx, root, tn.ID, jobs.PushInput{URL: rcv.srv.URL + "/hook", Delay: "1h"})
		if err != nil {
			t.Fatal(err)
		}
		env = env.Restart(t, func(c *config.Config) { c.PushAllowedHosts = []string{"app.internal"} })
		if _, err := env.App.Jobs.Retry(ctx, root, tn.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		dead := waitState(t, env.App.Jobs, tn.ID, j.ID, "dead")
		if dead.DeadReason != jobs.DeadRefused || len(dead.Attempts) != 1 ||
			!strings.Contains(dead.Attempts[0].Error, `host "127.0.0.1" is not in JOIST_PUSH_ALLOWED_HOSTS (app.internal)`) {
			t.Fatalf("job outside the allowed hosts: reason %q, attempts %+v", dead.DeadReason, dead.Attempts)
		}
		if rcv.count() != 0 {
			t.Fatal("a host outside JOIST_PUSH_ALLOWED_HOSTS was reached")
		}
	})
}

// TestRedirectToMetadataRefused: the app's answer cannot send a job to the
// metadata address (and the job does not read its answer back).
func TestRedirectToMetadataRefused(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, store.SQLite)
	ctx := context.Background()
	tn, _ := env.App.Tenants.Create(ctx, root, tenants.Input{Slug: "acme"})
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	j, _, err := env.App.Jobs.Create(ctx, root, tn.ID, jobs.PushInput{URL: redirect.URL, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	dead := waitState(t, env.App.Jobs, tn.ID, j.ID, "dead")
	if dead.DeadReason != jobs.DeadRefused || len(dead.Attempts) != 1 || dead.Attempts[0].ResponseBody != "" ||
		!strings.Contains(dead.Attempts[0].Error, "redirect to http://169.254.169.254/latest/meta-data/") {
		t.Fatalf("redirect to metadata: reason %q, attempts %+v", dead.DeadReason, dead.Attempts)
	}
}
