package main_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/internal/testutil"
)

// TestFirstStartOnABusyPortLosesNothing starts joist for the first time on
// a port another process holds: it must say how to pick another port and
// create nothing, so that the next start (on a free port) still shows the
// credentials; every later start says how to get back in.
func TestFirstStartOnABusyPortLosesNothing(t *testing.T) {
	for _, d := range storetest.Stores {
		t.Run(string(d), func(t *testing.T) {
			env := storeEnv(t, d)
			busy, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer busy.Close()
			out, err := run(t, append(env, "JOIST_ADDR="+busy.Addr().String()), "serve")
			if err == nil || !strings.Contains(out, "cannot listen on "+busy.Addr().String()) || !strings.Contains(out, "JOIST_ADDR=") {
				t.Fatalf("serve on a busy port: %v\n%s", err, out)
			}
			if strings.Contains(out, "root API key") {
				t.Fatalf("serve on a busy port printed credentials it said nothing about:\n%s", out)
			}

			// The next start, on a free port, shows the credentials, and they work.
			n := startNode(t, env)
			m := n.credentials(t) // the start after a failed first start shows them
			if _, err := client.New(n.url, m[1]).CreateTenant(context.Background(), client.TenantCreate{Slug: "acme"}); err != nil {
				t.Fatalf("root key: %v", err)
			}
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-n.done:
			case <-time.After(20 * time.Second):
				t.Fatal("joist did not stop on SIGTERM")
			}

			// A start with nothing to show says how to recover.
			n2 := startNode(t, env)
			testutil.Eventually(t, 10*time.Second, func() error {
				out := n2.stdout.String()
				if strings.Contains(out, "root API key") || !strings.Contains(out, "joist operator reset-password owner@joist.local") ||
					!strings.Contains(out, "joist key create TENANT") || !strings.Contains(out, "JOIST_ROOT_KEY") {
					return fmt.Errorf("a later start does not say how to recover:\n%s", out)
				}
				return nil
			})
		})
	}
}

// TestHelpAndVersion: every command group answers --help with its usage and
// status 0, serve's flags show their types and defaults, and version names
// the module it was built from.
func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"operator", "--help"}, {"tenant", "--help"}, {"key", "--help"}, {"operator", "-h"}, {"key", "help"}} {
		out, err := run(t, nil, args...)
		if err != nil || !strings.Contains(out, "Usage:") || !strings.Contains(out, "joist "+args[0]+" create") {
			t.Errorf("joist %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	out, err := run(t, nil, "serve", "--help")
	if err != nil {
		t.Fatalf("serve --help: %v\n%s", err, out)
	}
	for _, want := range []string{"-addr string", "(default 127.0.0.1:8080)", "-session-ttl duration", "(default 12h)",
		"-max-body-bytes int", "(default 1048576)", "-queues list", "(default default=100)", "(JOIST_SESSION_TTL)"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "joist ") || !strings.Contains(out, "module github.com/joist-dev/joist") || !strings.Contains(out, "commit ") {
		t.Fatalf("version: %v %s", err, out)
	}
}

// TestLogsNameJoistsJobIDs: River's lines about a job that failed name it
// by the id the API and the admin show (job_...), not River's number.
func TestLogsNameJoistsJobIDs(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "app is down", http.StatusInternalServerError)
	}))
	defer target.Close()
	env := append(storeEnv(t, store.SQLite), "JOIST_ROOT_KEY=root-key-for-the-log-test-0123456789abcdef", "JOIST_LOG_LEVEL=info")
	n := startNode(t, env)
	ctx := context.Background()
	root := client.New(n.url, "root-key-for-the-log-test-0123456789abcdef")
	if _, err := root.CreateTenant(ctx, client.TenantCreate{Slug: "acme"}); err != nil {
		t.Fatal(err)
	}
	c := root.Tenant("acme")
	j, _, err := c.CreateJob(ctx, client.JobCreate{URL: target.URL + "/work", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		got, err := c.GetJob(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != "dead" || !strings.Contains(n.stderr.String(), "Job errored") {
			return fmt.Errorf("job is %s; log:\n%s", got.State, n.stderr)
		}
		return nil
	})
	log := n.stderr.String()
	if !regexp.MustCompile(`Job errored.* job_id=`+j.ID+` river_job_id=\d+`).MatchString(log) || regexp.MustCompile(` job_id=\d`).MatchString(log) {
		t.Fatalf("River's line about %s does not name it:\n%s", j.ID, log)
	}
}
