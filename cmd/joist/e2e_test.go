package main_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/internal/testutil"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "joist-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "joist")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build joist: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is a joist subprocess.
type node struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// storeEnv returns the environment selecting a fresh database of dialect d
// (on PostgreSQL it skips the test without a server, or fails it with CI=true).
func storeEnv(t *testing.T, d store.Dialect) []string {
	t.Helper()
	o := storetest.Options(t, d)
	if d == store.SQLite {
		return []string{"JOIST_DATA=" + filepath.Dir(o.SQLitePath)}
	}
	return []string{"JOIST_DATA=" + t.TempDir(), "JOIST_DATABASE_URL=" + o.URL, "JOIST_DATABASE_SCHEMA=" + o.Schema,
		"JOIST_SECRET_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}
}

func run(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func startNode(t *testing.T, env []string) *node {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(append(os.Environ(), env...), "JOIST_ADDR="+addr)
	n := &node{cmd: cmd, url: "http://" + addr, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = n.stdout, n.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(n.done) }()
	t.Cleanup(func() { n.kill() })
	testutil.Eventually(t, 30*time.Second, func() error {
		select {
		case <-n.done:
			t.Fatalf("joist exited at start:\n%s\n%s", n.stdout, n.stderr)
		default:
		}
		resp, err := http.Get(n.url + "/readyz")
		if err != nil {
			return fmt.Errorf("joist did not become ready: %v\n%s", err, n.stderr)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("joist did not become ready: /readyz is %d\n%s", resp.StatusCode, n.stderr)
		}
		return nil
	})
	return n
}

func (n *node) kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// credentials waits for the root key and owner password a first start
// prints, and returns rootKeyRE's match. joist prints them before it
// listens, but the copy from its stdout pipe may lag behind /readyz on a
// loaded machine.
func (n *node) credentials(t *testing.T) []string {
	t.Helper()
	var m []string
	testutil.Eventually(t, 10*time.Second, func() error {
		m = rootKeyRE.FindStringSubmatch(n.stdout.String())
		if m == nil || !ownerPwRE.MatchString(n.stdout.String()) {
			return fmt.Errorf("the start did not print the credentials:\n%s", n.stdout)
		}
		return nil
	})
	return m
}

var rootKeyRE = regexp.MustCompile(`root API key:\s+(jk_\w+)`)
var ownerPwRE = regexp.MustCompile(`owner password:\s+(\w+)`)

func TestServeFirstStartAndGracefulShutdown(t *testing.T) {
	for _, d := range storetest.Stores {
		t.Run(string(d), func(t *testing.T) {
			env := storeEnv(t, d)
			n := startNode(t, env)
			m := n.credentials(t)
			root := m[1]
			c := client.New(n.url, root)
			if _, err := c.CreateTenant(context.Background(), client.TenantCreate{Slug: "acme"}); err != nil {
				t.Fatal(err)
			}
			// SIGTERM: graceful exit with status 0.
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-n.done:
			case <-time.After(20 * time.Second):
				t.Fatal("joist did not stop on SIGTERM")
			}
			if code := n.cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("exit code %d after SIGTERM:\n%s", code, n.stderr)
			}
			// Second start: nothing printed, the generated root key still works.
			n2 := startNode(t, env)
			if strings.Contains(n2.stdout.String(), "root API key") {
				t.Fatalf("second start printed credentials again:\n%s", n2.stdout)
			}
			if _, err := client.New(n2.url, root).GetTenant(context.Background(), "acme"); err != nil {
				t.Fatalf("root key after restart: %v", err)
			}
		})
	}
}

func TestBootstrapCommands(t *testing.T) {
	for _, d := range storetest.Stores {
		t.Run(string(d), func(t *testing.T) {
			env := storeEnv(t, d)
			out, err := run(t, env, "migrate")
			if err != nil || !strings.Contains(out, "applied core/0001_core.sql") {
				t.Fatalf("migrate: %v\n%s", err, out)
			}
			out, err = run(t, env, "migrate")
			if err != nil || !strings.Contains(out, "up to date") {
				t.Fatalf("second migrate: %v\n%s", err, out)
			}
			if out, err = run(t, env, "tenant", "create", "acme", "Acme Inc"); err != nil || !strings.Contains(out, "created tenant tn_") {
				t.Fatalf("tenant create: %v\n%s", err, out)
			}
			if out, err = run(t, env, "tenant", "create", "acme"); err == nil || !strings.Contains(out, "already exists") {
				t.Fatalf("duplicate tenant: %v\n%s", err, out)
			}
			out, err = run(t, env, "key", "create", "acme", "ci")
			key := regexp.MustCompile(`jk_\w+`).FindString(out)
			if err != nil || key == "" {
				t.Fatalf("key create: %v\n%s", err, out)
			}
			if out, err = run(t, append(env, "JOIST_NEW_PASSWORD=a long enough password"), "operator", "create", "sam@example.com", "support", "--tenants", "acme"); err != nil || !strings.Contains(out, "role support") {
				t.Fatalf("operator create: %v\n%s", err, out)
			}
			if out, err = run(t, env, "operator", "create", "x@example.com", "wizard"); err == nil || !strings.Contains(out, "owner, admin, support, viewer") {
				t.Fatalf("bad role: %v\n%s", err, out)
			}
			out, err = run(t, env, "operator", "reset-password", "sam@example.com")
			if err != nil || !strings.Contains(out, "new password (shown only now): ") {
				t.Fatalf("reset-password: %v\n%s", err, out)
			}
			if out, err = run(t, env, "operator", "reset-password", "nobody@example.com"); err == nil || !strings.Contains(out, "no operator") {
				t.Fatalf("reset unknown: %v\n%s", err, out)
			}
			if out, err = run(t, env, "version"); err != nil || !strings.HasPrefix(out, "joist ") {
				t.Fatalf("version: %v %s", err, out)
			}
			if out, err = run(t, env, "frobnicate"); err == nil || !strings.Contains(out, "unknown command") {
				t.Fatalf("unknown command: %v %s", err, out)
			}
			if out, err = run(t, append(env, "JOIST_ROOT_KEY=short"), "serve"); err == nil || !strings.Contains(out, "JOIST_ROOT_KEY") {
				t.Fatalf("bad config must name the setting: %v %s", err, out)
			}
			// The key made by the CLI works against a server, and its creation was audited.
			n := startNode(t, env)
			c := client.New(n.url, key)
			if _, _, err := c.UpsertContact(context.Background(), "u1", client.ContactUpsert{}); err != nil {
				t.Fatalf("CLI key: %v", err)
			}
			al, err := c.ListAudit(context.Background(), client.AuditListOptions{Action: "key.create"})
			if err != nil || len(al.Data) != 1 || al.Data[0].ActorType != "cli" {
				t.Fatalf("audit of CLI key: %v %+v", err, al)
			}
		})
	}
}

// TestKill9KeepsAcknowledgedWrites writes contacts from many goroutines,
// kills joist with SIGKILL mid-load, restarts it, and checks that every
// write answered 2xx is there.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	for _, d := range storetest.Stores {
		t.Run(string(d), func(t *testing.T) {
			env := append(storeEnv(t, d), "JOIST_ROOT_KEY=root-key-for-the-crash-test-0123456789")
			n := startNode(t, env)
			root := client.New(n.url, "root-key-for-the-crash-test-0123456789")
			ctx := context.Background()
			if _, err := root.CreateTenant(ctx, client.TenantCreate{Slug: "crash"}); err != nil {
				t.Fatal(err)
			}
			c := root.Tenant("crash")
			var mu sync.Mutex
			acked := []string{}
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for w := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						id := fmt.Sprintf("w%d-%d", w, i)
						if _, _, err := c.UpsertContact(ctx, id, client.ContactUpsert{Name: client.String(id)}); err != nil {
							return // the server died under us
						}
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
					}
				}()
			}
			time.Sleep(1500 * time.Millisecond)
			n.kill()
			close(stop)
			wg.Wait()
			if len(acked) < 50 {
				t.Fatalf("only %d writes acknowledged before the kill; the load did not run", len(acked))
			}
			n2 := startNode(t, env)
			c2 := client.New(n2.url, "root-key-for-the-crash-test-0123456789").Tenant("crash")
			have := map[string]bool{}
			lo := client.ContactListOptions{ListOptions: client.ListOptions{Limit: 500}}
			for {
				l, err := c2.ListContacts(ctx, lo)
				if err != nil {
					t.Fatal(err)
				}
				for _, ct := range l.Data {
					have[ct.ExternalID] = true
				}
				if l.NextCursor == "" {
					break
				}
				lo.Cursor = l.NextCursor
			}
			lost := 0
			for _, id := range acked {
				if !have[id] {
					lost++
				}
			}
			t.Logf("%s: %d writes acknowledged before kill -9, %d stored after restart, %d lost", d, len(acked), len(have), lost)
			if lost > 0 {
				t.Fatalf("%d acknowledged writes lost after kill -9", lost)
			}
		})
	}
}

// TestTwoNodesShareOnePostgres starts two processes on one database at once.
func TestTwoNodesShareOnePostgres(t *testing.T) {
	storetest.PostgresURL(t)
	env := append(storeEnv(t, store.Postgres), "JOIST_ROOT_KEY=root-key-shared-by-both-nodes-0123456789")
	var nodes [2]*node
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); nodes[i] = startNode(t, env) }()
	}
	wg.Wait()
	ctx := context.Background()
	c0 := client.New(nodes[0].url, "root-key-shared-by-both-nodes-0123456789")
	c1 := client.New(nodes[1].url, "root-key-shared-by-both-nodes-0123456789")
	k, err := c0.CreateTenant(ctx, client.TenantCreate{Slug: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := c0.CreateKey(ctx, k.ID, "n0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(nodes[1].url, key.Key).ListContacts(ctx, client.ContactListOptions{}); err != nil {
		t.Fatalf("key made on node 0 refused by node 1: %v", err)
	}
	if _, err := c1.RevokeKey(ctx, k.ID, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(nodes[0].url, key.Key).ListContacts(ctx, client.ContactListOptions{}); err == nil {
		t.Fatal("key revoked on node 1 still accepted by node 0")
	}
	// Both nodes bootstrapped concurrently: exactly one owner exists.
	out := nodes[0].stdout.String() + nodes[1].stdout.String()
	if strings.Count(out, "owner email:") != 1 {
		t.Fatalf("owner created %d times:\n%s", strings.Count(out, "owner email:"), out)
	}
}
