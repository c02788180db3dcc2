// Command notifybench measures joist's notifications end to end, with
// `joist serve` as a separate process on either store:
//
//   - fan-out: one event to -n recipients (10,000), the time from the POST
//     until GET /v1/events/{id} says done, when every in-app record exists
//     and every push delivery is queued (the fan-out writes the
//     notification, its deliveries and the push job in one chunk
//     transaction). Measured twice: the first event with inline recipient
//     objects (the fan-out creates the contacts), then, after an FCM device
//     is registered for every contact, a second event to the existing ids
//     (every push delivery queued). Push goes to an FCM stand-in in this
//     process (JOIST_FCM_*), which also times when the last push arrives.
//     Baseline: a bare single-transaction bulk insert, from this process,
//     of rows of the same shape (a notification, its in_app and push
//     deliveries and a feed log entry per recipient, with the same unique
//     keys and indexes) into the same kind of store (a SQLite file with
//     joist's pragmas beside its data; a schema of the same PostgreSQL).
//   - stream: -clients (1,000) contacts, each with a contact token and an
//     open GET /v1/feed/stream, then -events events to all of them: per
//     client, the time from the POST to its `notification` event (p50,
//     p99, max), and joist's RSS growth per open stream. Baseline: a bare
//     net/http SSE server in a separate process (this binary re-executed)
//     that broadcasts a POSTed message to every open stream, measured the
//     same way. With -store postgres -nodes 2, a second joist node shares
//     the database and half of the clients connect to it (LISTEN/NOTIFY).
//
// Everything listens on 127.0.0.1; the tool stops by itself (-timeout)
// and removes its temporary directory and PostgreSQL schemas.
//
//	go run ./bench/notifybench
//	go run ./bench/notifybench -store postgres -url postgres://... -nodes 2
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite"

	"github.com/joist-dev/joist/bench/internal/benchkit"
)

var (
	binPath  = flag.String("bin", "", "joist binary to run (default: go build ./cmd/joist into a temporary directory)")
	kind     = flag.String("store", "sqlite", "sqlite or postgres")
	pgURL    = flag.String("url", os.Getenv("JOIST_TEST_DATABASE_URL"), "PostgreSQL URL for -store postgres (a fresh schema is made in it)")
	nRcpt    = flag.Int("n", 10000, "recipients of the fan-out event")
	nClients = flag.Int("clients", 1000, "connected stream clients")
	nEvents  = flag.Int("events", 3, "events posted to the stream clients")
	nodes    = flag.Int("nodes", 1, "joist nodes for the stream part (2 needs -store postgres)")
	parts    = flag.String("parts", "fanout,stream", "what to measure: fanout, stream or both")
	timeout  = flag.Duration("timeout", 10*time.Minute, "the whole run stops after this")
	keep     = flag.Bool("keep", false, "keep the data directory (or PostgreSQL schema)")
	cpuProf  = flag.String("cpuprofile", "", "write a CPU profile of joist serve over the first fan-out event to this file (through JOIST_PPROF_ADDR)")
	profSecs = flag.Int("cpuprofile-seconds", 8, "length of that profile")
)

const (
	rootKey = "notifybench-root-key-0123456789abcdef"
	baseEnv = "NOTIFYBENCH_SSE_BASELINE" // set: run as the baseline SSE server
)

func main() {
	if os.Getenv(baseEnv) != "" {
		sseBaselineServer()
		return
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	err := run(ctx)
	cancel()
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	raiseNoFile()
	tmp, err := os.MkdirTemp("", "notifybench")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(tmp)
	}
	fmt.Printf("notifybench: store=%s n=%d clients=%d events=%d nodes=%d; %s; %s\n", *kind, *nRcpt, *nClients, *nEvents, *nodes, benchkit.Machine(), runtime.Version())
	bin, err := benchkit.BuildJoist(ctx, *binPath, tmp)
	if err != nil {
		return err
	}
	fcm, err := newFCM()
	if err != nil {
		return err
	}
	defer fcm.srv.Close()

	env := []string{"JOIST_ROOT_KEY=" + rootKey, "JOIST_OWNER_EMAIL=owner@example.com", "JOIST_OWNER_PASSWORD=notifybench owner password",
		"JOIST_FCM_CREDENTIALS=" + string(fcm.creds), "JOIST_FCM_API_BASE=" + fcm.base, "JOIST_FCM_TOKEN_URL=" + fcm.base + "/token"}
	var pool *pgxpool.Pool
	switch *kind {
	case "sqlite":
		if *nodes != 1 {
			return errors.New("-nodes 2 needs -store postgres (SQLite is one node)")
		}
		env = append(env, "JOIST_DATA="+filepath.Join(tmp, "data"))
	case "postgres":
		var schema string
		var cleanup func()
		if pool, schema, cleanup, err = benchkit.PostgresSchema(ctx, *pgURL, "notifybench", *keep); err != nil {
			return err
		}
		defer cleanup()
		env = append(env, "JOIST_DATA="+filepath.Join(tmp, "data"), "JOIST_DATABASE_URL="+*pgURL, "JOIST_DATABASE_SCHEMA="+schema, "JOIST_SECRET_KEY="+benchkit.SecretKey)
	default:
		return fmt.Errorf("unknown -store %q: sqlite or postgres", *kind)
	}

	pprofAddr := ""
	if *cpuProf != "" {
		if pprofAddr, err = benchkit.FreeAddr(); err != nil {
			return err
		}
	}
	j, err := benchkit.StartJoist(ctx, bin, append(env, "JOIST_PPROF_ADDR="+pprofAddr), filepath.Join(tmp, "joist1.log"))
	if err != nil {
		return err
	}
	defer j.Stop()
	c := newClient(j.Base)
	if _, err := c.do(ctx, "POST", "/v1/tenants", map[string]any{"slug": "bench"}, nil); err != nil {
		return err
	}
	if strings.Contains(*parts, "fanout") {
		if err := fanout(ctx, c, fcm, tmp, pool, pprofAddr); err != nil {
			return err
		}
	}
	if strings.Contains(*parts, "stream") {
		// A fresh process for the streams, so the fan-out's heap does not
		// blur the memory per connection.
		j.Stop()
		if j, err = benchkit.StartJoist(ctx, bin, env, filepath.Join(tmp, "joist1-stream.log")); err != nil {
			return err
		}
		defer j.Stop()
		c = newClient(j.Base)
		all := []*benchkit.Joist{j}
		for i := 1; i < *nodes; i++ {
			jn, err := benchkit.StartJoist(ctx, bin, env, filepath.Join(tmp, fmt.Sprintf("joist%d.log", i+1)))
			if err != nil {
				return err
			}
			defer jn.Stop()
			all = append(all, jn)
		}
		if err := streams(ctx, c, all); err != nil {
			return err
		}
	}
	fmt.Printf("machine after the run: %s\n", benchkit.Machine())
	return nil
}

// ---- joist, the API client, the FCM stand-in -------------------------------

type client struct {
	base string
	hc   *http.Client
}

func newClient(base string) *client {
	return &client{base: base, hc: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
}

// do calls the API as the root key on tenant bench and decodes a 2xx
// answer into out (when not nil).
func (c *client) do(ctx context.Context, method, path string, body, out any, hdr ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+rootKey)
	req.Header.Set("Content-Type", "application/json")
	if path != "/v1/tenants" {
		req.Header.Set("Joist-Tenant", "bench")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s %.300s", method, path, resp.Status, b)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

// parallel runs f(0..n-1) on w workers; the first error stops it.
func parallel(ctx context.Context, n, w int, f func(i int) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || first.Load() != nil || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return ctx.Err()
}

// fcmStandIn answers FCM HTTP v1 over plain HTTP on 127.0.0.1: the token
// exchange (any assertion; this bench checks throughput, the push
// package's tests check the JWTs) and messages:send, counting messages.
type fcmStandIn struct {
	srv   *http.Server
	base  string
	creds []byte
	count atomic.Int64
}

func newFCM() (*fcmStandIn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fcmStandIn{base: "http://" + ln.Addr().String()}
	key, err := rsaPEM()
	if err != nil {
		return nil, err
	}
	f.creds, _ = json.Marshal(map[string]string{"type": "service_account", "project_id": "notifybench", "private_key_id": "k1",
		"private_key": key, "client_email": "push@notifybench.iam.gserviceaccount.com", "client_id": "1", "token_uri": f.base + "/token"})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"ya29.notifybench","expires_in":3600,"token_type":"Bearer"}`)
	})
	mux.HandleFunc("POST /v1/projects/{project}/{rest}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n := f.count.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"name":"projects/notifybench/messages/%d"}`, n)
	})
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(ln) //nolint:errcheck
	return f, nil
}

// ---- small helpers -----------------------------------------------------------

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// rssKiB sums VmRSS of the processes.
func rssKiB(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// raiseNoFile raises this process's open-file limit to its hard limit;
// the joist processes it starts inherit it.
func raiseNoFile() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// rsaPEM is a fresh RSA-2048 key in PKCS#8 PEM, the service account's.
func rsaPEM() (string, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}
