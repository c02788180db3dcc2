// Command servebench measures joist the way users run it: `joist serve` as
// a separate process with every system on (the job engine delivering webhook
// forwards and HTTP-push jobs to a receiver in this process, a schedule
// firing every second), loaded over real HTTP from this process, beside a
// bare net/http server that is a separate process too (this binary
// re-executed), and prints the ratio.
//
// joist is built (or taken from -bin) and started on a free 127.0.0.1 port
// with a fresh data directory (SQLite) or a fresh PostgreSQL schema, a fixed
// root key, and its output in a log file; the tool creates a tenant, a
// tenant key, a GitHub webhook source forwarding to the receiver, and the
// schedule over the API. -c senders, each on its own keep-alive connection,
// send a -mix of signed GitHub deliveries with new delivery ids (POST
// /in/bench/gh), HTTP-push jobs to the receiver (POST /v1/jobs) and contact
// upserts (PUT /v1/contacts/{id}) for -warmup, then -dur measured:
// requests/s, p50/p99 and errors (any non-2xx) per kind, and the CPU time
// of each process. Then: the receiver's rate while loaded, how long the
// engine takes to deliver the rest, a check through the API that each
// delivery answered 200 is stored once and delivered and each accepted job
// completed, and joist's ERROR and WARN log lines. The children are stopped
// (SIGTERM, then SIGKILL) on every exit path, Ctrl-C included.
//
// No figures are recorded yet (docs/benchmarks.md, "joist serve under mixed load").
//
//	go run ./bench/servebench -dur 20s
//	go run ./bench/servebench -store postgres -url postgres://... -c 64
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/joist-dev/joist/bench/internal/benchkit"
	"github.com/joist-dev/joist/client"
)

var (
	binPath  = flag.String("bin", "", "joist binary to run (default: go build ./cmd/joist into a temporary directory)")
	kind     = flag.String("store", "sqlite", "sqlite or postgres")
	pgURL    = flag.String("url", os.Getenv("JOIST_TEST_DATABASE_URL"), "PostgreSQL URL for -store postgres (a fresh schema is made in it)")
	conc     = flag.Int("c", 32, "concurrent senders, one keep-alive connection each")
	dur      = flag.Duration("dur", 20*time.Second, "measured time per side")
	warmup   = flag.Duration("warmup", 2*time.Second, "unmeasured load before each measurement")
	mixFlag  = flag.String("mix", "webhook=60,job=30,contact=10", "request mix, kind=weight comma-separated (kinds: webhook, job, contact)")
	size     = flag.Int("size", 1024, "webhook body size in bytes")
	sched    = flag.Bool("schedule", true, "a schedule pushing to the receiver every second")
	drainMax = flag.Duration("drain-timeout", 3*time.Minute, "bound on waiting for the engine to deliver what was accepted")
	sides    = flag.String("sides", "baseline,joist", "which sides to run")
	keep     = flag.Bool("keep", false, "keep the data directory (or PostgreSQL schema)")
)

const (
	secret  = "servebench-github-secret"
	rootKey = "servebench-root-key-0123456789abcdef"
)

var kinds = []string{"webhook", "job", "contact"}

func main() {
	// Hidden: the baseline side is this binary re-executed as a bare server.
	if len(os.Args) == 3 && os.Args[1] == "-serve-baseline" {
		serveBaseline(os.Args[2])
		return
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

func serveBaseline(addr string) {
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); os.Exit(0) }() // the parent is gone
	srv := &http.Server{Addr: addr, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"evt_0123456789abcdefghijklmn","duplicate":false}` + "\n"))
		})}
	log.Fatal(srv.ListenAndServe())
}

func run(ctx context.Context) error {
	weights, err := parseMix(*mixFlag)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "servebench")
	if err != nil {
		return err
	}
	defer func() {
		if !*keep {
			os.RemoveAll(filepath.Join(tmp, "data"))
			os.Remove(filepath.Join(tmp, "joist"))
		}
	}()
	fmt.Printf("servebench: store=%s c=%d dur=%s warmup=%s mix=%s body=%dB; %s; %s\n",
		*kind, *conc, *dur, *warmup, *mixFlag, *size, benchkit.Machine(), runtime.Version())

	bin := *binPath
	if strings.Contains(*sides, "joist") {
		if bin, err = benchkit.BuildJoist(ctx, bin, tmp); err != nil {
			return err
		}
	}

	rcv := newReceiver()
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	rsrv := &http.Server{Handler: rcv, IdleTimeout: 2 * time.Minute}
	go rsrv.Serve(rln) //nolint:errcheck
	defer rsrv.Close()
	rcvURL := "http://" + rln.Addr().String()

	var base, joist *result
	if strings.Contains(*sides, "baseline") {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		addr, err := benchkit.FreeAddr()
		if err != nil {
			return err
		}
		cmd := exec.Command(self, "-serve-baseline", addr)
		stdin, err := cmd.StdinPipe() // closed when this process ends, however it ends
		if err != nil {
			return err
		}
		defer stdin.Close()
		p, err := startProc(cmd, nil)
		if err != nil {
			return err
		}
		defer p.stop()
		if err := p.waitReady(ctx, "http://"+addr+"/", 10*time.Second); err != nil {
			return err
		}
		base = drive(ctx, addr, "baseline-key", rcvURL, weights, rcv, p.cmd.Process.Pid)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.stop()
		fmt.Printf("baseline (bare net/http, separate process):\n%s", base)
	}
	if strings.Contains(*sides, "joist") {
		if joist, err = runJoist(ctx, bin, tmp, rcv, rcvURL, weights); err != nil {
			return err
		}
	}
	if base != nil && joist != nil {
		fmt.Println("ratio joist/baseline:")
		for _, k := range append([]string{"all"}, kinds...) {
			b, j := base.kinds[k], joist.kinds[k]
			if b == nil || j == nil || b.n() == 0 || j.n() == 0 {
				continue
			}
			fmt.Printf("  %-8s %.3fx requests/s; p50 %.2f vs %.2f ms, p99 %.2f vs %.2f ms\n", k,
				j.rate(*dur)/b.rate(*dur), ms(j.pct(50)), ms(b.pct(50)), ms(j.pct(99)), ms(b.pct(99)))
		}
	}
	return nil
}

// runJoist starts joist serve, sets it up, loads it, waits for the engine
// to deliver what was accepted, checks it, and stops it.
func runJoist(ctx context.Context, bin, tmp string, rcv *receiver, rcvURL string, weights []int) (*result, error) {
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	env := []string{"JOIST_ADDR=" + addr, "JOIST_DATA=" + filepath.Join(tmp, "data"), "JOIST_ROOT_KEY=" + rootKey,
		"JOIST_OWNER_EMAIL=owner@example.com", "JOIST_OWNER_PASSWORD=servebench owner password"}
	switch *kind {
	case "sqlite":
		fmt.Println("durability: SQLite WAL, synchronous=FULL, data dir " + filepath.Join(tmp, "data"))
	case "postgres":
		pool, schema, cleanup, err := benchkit.PostgresSchema(ctx, *pgURL, "servebench", *keep)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		var fsync, sc string
		_ = pool.QueryRow(ctx, "SHOW fsync").Scan(&fsync)
		_ = pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&sc)
		fmt.Printf("durability: PostgreSQL fsync=%s synchronous_commit=%s, schema %s\n", fsync, sc, schema)
		env = append(env, "JOIST_DATABASE_URL="+*pgURL, "JOIST_DATABASE_SCHEMA="+schema,
			"JOIST_SECRET_KEY="+benchkit.SecretKey)
	default:
		return nil, fmt.Errorf("unknown -store %q: sqlite or postgres", *kind)
	}
	lp := filepath.Join(tmp, "joist.log") // kept
	logf, err := os.Create(lp)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	defer reportLog(lp)
	p, err := startProc(exec.Command(bin, "serve"), env, logf)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	base := "http://" + addr
	if err := p.waitReady(ctx, base+"/readyz", 60*time.Second); err != nil {
		b, _ := os.ReadFile(lp)
		return nil, fmt.Errorf("%w; its log ends:\n%s", err, b[max(len(b)-2000, 0):])
	}

	hc := &http.Client{Timeout: 30 * time.Second}
	root := client.New(base, rootKey, hc)
	if _, err := root.CreateTenant(ctx, client.TenantCreate{Slug: "bench"}); err != nil {
		return nil, err
	}
	k, err := root.CreateKey(ctx, "bench", "servebench")
	if err != nil {
		return nil, err
	}
	tc := client.New(base, k.Key, hc)
	if _, _, err := tc.PutWebhookSource(ctx, "gh", client.WebhookSourcePut{Provider: "github",
		Secrets: []client.WebhookSecret{{Secret: secret}}, ForwardURL: rcvURL + "/fwd"}); err != nil {
		return nil, err
	}
	if *sched {
		if _, _, err := tc.PutSchedule(ctx, "tick", client.SchedulePut{Cron: "@every 1s", Job: client.ScheduleJob{URL: rcvURL + "/sched"}}); err != nil {
			return nil, err
		}
	}

	res := drive(ctx, addr, k.Key, rcvURL, weights, rcv, p.cmd.Process.Pid)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	fmt.Printf("joist serve (%s, every system on):\n%s", *kind, res)
	if *sched {
		if _, err := tc.DeleteSchedule(ctx, "tick"); err != nil {
			fmt.Println("delete schedule:", err)
		}
	}

	// Delivery: the receiver's counts while loaded, then the drain.
	fmt.Printf("delivery while loaded: %.0f forwards+jobs/s received (accepted %.0f/s); %d accepted not yet delivered at load end\n",
		float64(res.rcvInWindow)/dur.Seconds(), float64(res.acceptedInWindow)/dur.Seconds(), rcv.missing(res))
	t0 := time.Now()
	for n := rcv.missing(res); n > 0; n = rcv.missing(res) {
		if time.Since(t0) > *drainMax || ctx.Err() != nil {
			return res, fmt.Errorf("drain: after %s, %d of %d accepted forwards and jobs not delivered",
				time.Since(t0).Round(time.Millisecond), n, len(res.deliveries)+len(res.jobIDs))
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("drain: %d forwards and %d jobs all delivered %s after the load ended; %d schedule pushes, %d repeated pushes\n",
		len(res.deliveries), len(res.jobIDs), time.Since(t0).Round(time.Millisecond), rcv.sched.Load(), rcv.repeats.Load())

	if err := check(ctx, tc, res); err != nil {
		return res, err
	}
	t1 := time.Now()
	code := p.stop()
	fmt.Printf("joist stopped in %s, exit code %d\n", time.Since(t1).Round(time.Millisecond), code)
	return res, nil
}

// check verifies through the API that each delivery answered 200 is stored
// once and delivered and each accepted job completed.
func check(ctx context.Context, tc *client.Client, res *result) error {
	// Wait for jobs still moving (the last schedule tick, a completion being recorded).
	for t0 := time.Now(); time.Since(t0) < 30*time.Second; time.Sleep(100 * time.Millisecond) {
		l, err := tc.ListJobs(ctx, client.JobListOptions{ListOptions: client.ListOptions{Limit: 1},
			JobFilter: client.JobFilter{States: []string{"scheduled", "available", "running", "retrying"}}})
		if err != nil || len(l.Data) == 0 {
			break
		}
	}
	events := map[string][]string{} // delivery id -> statuses of its events
	err := pages(func(o client.ListOptions) (*client.List[client.WebhookEvent], error) {
		return tc.ListWebhookEvents(ctx, client.WebhookEventListOptions{ListOptions: o})
	}, func(e client.WebhookEvent) { events[e.ProviderEventID] = append(events[e.ProviderEventID], e.Status) })
	if err != nil {
		return err
	}
	jobState := map[string]string{}
	err = pages(func(o client.ListOptions) (*client.List[client.Job], error) {
		return tc.ListJobs(ctx, client.JobListOptions{ListOptions: o})
	}, func(j client.Job) { jobState[j.ID] = j.State })
	if err != nil {
		return err
	}
	bad := map[string]int{}
	for id := range res.deliveries {
		switch st := events[id]; {
		case len(st) == 0:
			bad["webhook not stored"]++
		case len(st) > 1:
			bad["webhook stored more than once"]++
		case st[0] != "delivered":
			bad["webhook "+st[0]]++
		}
	}
	for id := range res.jobIDs {
		if s := jobState[id]; s != "completed" {
			bad["job "+cmp.Or(s, "not listed")]++
		}
	}
	fmt.Printf("check: %d deliveries answered 200 (%d events stored in all), %d jobs accepted (%d jobs listed in all): ",
		len(res.deliveries), len(events), len(res.jobIDs), len(jobState))
	if len(bad) > 0 {
		fmt.Println("FAILED")
		return fmt.Errorf("check failed: %v", bad)
	}
	fmt.Println("all stored once, delivered and completed")
	return nil
}

// pages calls list with each page's cursor until the last page.
func pages[T any](list func(client.ListOptions) (*client.List[T], error), each func(T)) error {
	for o := (client.ListOptions{Limit: 500}); ; {
		l, err := list(o)
		if err != nil {
			return err
		}
		for _, x := range l.Data {
			each(x)
		}
		if o.Cursor = l.NextCursor; o.Cursor == "" {
			return nil
		}
	}
}

// receiver is the app joist pushes to: forwards on /fwd, jobs on /job,
// schedule runs on /sched. It counts each job id (Joist-Job-Id) once, and
// keeps the delivery ids of forwards.
type receiver struct {
	mu              sync.Mutex
	ids             map[string]bool // "fwd:" + delivery id, "job:" + job id
	fwd, job, sched atomic.Int64
	repeats         atomic.Int64
}

func newReceiver() *receiver { return &receiver{ids: map[string]bool{}} }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	key, ctr := "", &r.sched
	switch req.URL.Path {
	case "/fwd":
		key, ctr = "fwd:"+req.Header.Get("Joist-Provider-X-Github-Delivery"), &r.fwd
	case "/job":
		key, ctr = "job:"+req.Header.Get("Joist-Job-Id"), &r.job
	}
	if key != "" {
		r.mu.Lock()
		again := r.ids[key]
		r.ids[key] = true
		r.mu.Unlock()
		if again {
			r.repeats.Add(1)
			ctr = nil
		}
	}
	if ctr != nil {
		ctr.Add(1)
	}
	w.WriteHeader(http.StatusOK)
}

// missing counts the accepted forwards and jobs not received yet.
func (r *receiver) missing(res *result) (n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range res.deliveries {
		if !r.ids["fwd:"+id] {
			n++
		}
	}
	for id := range res.jobIDs {
		if !r.ids["job:"+id] {
			n++
		}
	}
	return n
}

// proc is a child process; stop is idempotent and always reaps it.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
	code int
}

func startProc(cmd *exec.Cmd, env []string, out ...io.Writer) (*proc, error) {
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if len(out) > 0 {
		cmd.Stdout, cmd.Stderr = out[0], out[0]
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// stop sends SIGTERM, then SIGKILL after 30 s, and returns the exit code.
func (p *proc) stop() int {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			fmt.Fprintf(os.Stderr, "%s did not stop on SIGTERM within 30s: killed\n", p.cmd.Path)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		p.code = p.cmd.ProcessState.ExitCode()
	})
	return p.code
}

func (p *proc) waitReady(ctx context.Context, url string, limit time.Duration) error {
	var last string
	for t0 := time.Now(); time.Since(t0) < limit && ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited at start (%s)", p.cmd.Path, p.cmd.ProcessState)
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = resp.Status
	}
	return fmt.Errorf("%s not ready after %s: %s", url, limit, last)
}

// stats are one kind's measured requests.
type stats struct {
	lat  []time.Duration
	errs int
}

func (s *stats) n() int                       { return len(s.lat) }
func (s *stats) rate(d time.Duration) float64 { return float64(len(s.lat)) / d.Seconds() }
func (s *stats) pct(p int) time.Duration      { return benchkit.Pct(s.lat, p) }
func (s *stats) add(o *stats)                 { s.lat = append(s.lat, o.lat...); s.errs += o.errs }
func ms(d time.Duration) float64              { return float64(d) / float64(time.Millisecond) }

type result struct {
	kinds            map[string]*stats // and "all"
	deliveries       map[string]bool   // delivery ids answered 200, not duplicate
	jobIDs           map[string]bool   // job ids answered 202
	rcvInWindow      int64             // forwards and jobs the receiver got in the measured window
	acceptedInWindow int64
	serverCPU        time.Duration // CPU time of the server process in the measured window
	genCPU           time.Duration // and of this process (load generator and receiver)
}

func (r *result) String() string {
	var b strings.Builder
	for _, k := range append(slices.Clone(kinds), "all") {
		s := r.kinds[k]
		if s.n() == 0 {
			fmt.Fprintf(&b, "  %-8s no successful requests, %d errors\n", k, s.errs)
			continue
		}
		fmt.Fprintf(&b, "  %-8s %7.0f requests/s  p50 %6.2f ms  p99 %7.2f ms  (%d ok, %d errors)\n",
			k, s.rate(*dur), ms(s.pct(50)), ms(s.pct(99)), s.n(), s.errs)
	}
	if all := r.kinds["all"]; all.n() > 0 {
		fmt.Fprintf(&b, "  CPU: server %.0f%% of a core (%.0f µs per request), servebench %.0f%%\n", 100*r.serverCPU.Seconds()/dur.Seconds(),
			float64(r.serverCPU.Microseconds())/float64(all.n()), 100*r.genCPU.Seconds()/dur.Seconds())
	}
	return b.String()
}

// drive runs the senders against addr (served by process pid) for warmup +
// dur; only requests started after the warmup are measured. The receiver's
// count and both processes' CPU time are sampled at the start and end of
// the measured window.
func drive(ctx context.Context, addr, key, rcvURL string, weights []int, rcv *receiver, pid int) *result {
	res := &result{kinds: map[string]*stats{"all": {}}, deliveries: map[string]bool{}, jobIDs: map[string]bool{}}
	for _, k := range kinds {
		res.kinds[k] = &stats{}
	}
	start := time.Now()
	from, end := start.Add(*warmup), start.Add(*warmup+*dur)
	var seq, accepted, printed atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	sleep := func(t time.Time) {
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(t)):
		}
	}
	go func() { // samples the measured window
		defer wg.Done()
		sleep(from)
		r0, a0 := rcv.fwd.Load()+rcv.job.Load(), accepted.Load()
		s0, g0 := cpuTime(strconv.Itoa(pid)), cpuTime("self")
		sleep(end)
		res.rcvInWindow, res.acceptedInWindow = rcv.fwd.Load()+rcv.job.Load()-r0, accepted.Load()-a0
		res.serverCPU, res.genCPU = cpuTime(strconv.Itoa(pid))-s0, cpuTime("self")-g0
	}()
	for i := range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			mine := map[string]*stats{}
			for _, k := range kinds {
				mine[k] = &stats{}
			}
			var dels, jobs []string
			rc := &rawConn{addr: addr}
			defer rc.close()
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				k, req, id := build(rng, &seq, key, rcvURL, weights)
				t1 := time.Now()
				status, body, err := rc.do(req)
				took := time.Since(t1)
				ok := err == nil && status >= 200 && status < 300
				if ok && k == "webhook" && !bytes.Contains(body, []byte(`"duplicate":true`)) {
					dels = append(dels, id)
					accepted.Add(1)
				}
				if ok && k == "job" {
					var j struct{ ID string }
					_ = json.Unmarshal(body, &j)
					jobs = append(jobs, j.ID)
					accepted.Add(1)
				}
				if !ok && printed.Add(1) <= 5 {
					log.Printf("%s %s: %d %v %.300s", k, addr, status, err, body)
				}
				if t0.Before(from) {
					continue
				}
				if ok {
					mine[k].lat = append(mine[k].lat, took)
				} else {
					mine[k].errs++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, k := range kinds {
				res.kinds[k].add(mine[k])
				res.kinds["all"].add(mine[k])
			}
			for _, d := range dels {
				res.deliveries[d] = true
			}
			for _, j := range jobs {
				res.jobIDs[j] = true
			}
		}()
	}
	wg.Wait()
	for _, s := range res.kinds {
		slices.Sort(s.lat)
	}
	return res
}

// request is one HTTP/1.1 request: the head without Host and
// Content-Length, and the body.
type request struct {
	head string
	body []byte
}

// build draws a kind from the weights and builds its request; id is the
// delivery id of a webhook.
func build(rng *rand.Rand, seq *atomic.Int64, key, rcvURL string, weights []int) (string, request, string) {
	n := seq.Add(1)
	w := rng.IntN(weights[len(weights)-1])
	k := kinds[slices.IndexFunc(weights, func(c int) bool { return w < c })]
	auth := "Authorization: Bearer " + key + "\r\nContent-Type: application/json\r\n"
	switch k {
	case "webhook":
		id := fmt.Sprintf("sb-%d-%d", time.Now().UnixNano(), n)
		body := payload(id)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		return k, request{"POST /in/bench/gh HTTP/1.1\r\nContent-Type: application/json\r\nUser-Agent: GitHub-Hookshot/bench\r\n" +
			"X-GitHub-Delivery: " + id + "\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=" + hex.EncodeToString(m.Sum(nil)) + "\r\n", body}, id
	case "job":
		return k, request{"POST /v1/jobs HTTP/1.1\r\n" + auth, fmt.Appendf(nil, `{"url":%q,"body":{"n":%d}}`, rcvURL+"/job", n)}, ""
	default:
		c := rng.IntN(1000)
		return k, request{fmt.Sprintf("PUT /v1/contacts/c%d HTTP/1.1\r\n%s", c, auth),
			fmt.Appendf(nil, `{"email":"c%d@example.com","name":"Contact %d","metadata":{"seq":%d}}`, c, c, n)}, ""
	}
}

// payload is a GitHub push body padded to -size bytes.
func payload(id string) []byte {
	b := []byte(`{"ref":"refs/heads/main","after":"` + strings.Repeat("b", 40) + `","delivery":"` + id +
		`","repository":{"full_name":"acme/app"},"pusher":{"name":"bench"},"commits":[{"message":"`)
	b = append(b, bytes.Repeat([]byte("x"), max(*size-len(b)-4, 0))...)
	return append(b, `"}]}`...)
}

// rawConn is one sender's keep-alive connection, written to directly: the
// load generator shares the cores with the servers it measures, and
// net/http's client (header maps, two goroutines per connection) takes a
// noticeable share of them (see bench/webhookbench).
type rawConn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
	buf  []byte
}

func (r *rawConn) close() {
	if r.c != nil {
		r.c.Close()
		r.c = nil
	}
}

func (r *rawConn) do(q request) (int, []byte, error) {
	if r.c == nil {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			return 0, nil, err
		}
		r.c, r.br = c, bufio.NewReader(c)
	}
	b := append(r.buf[:0], q.head...)
	b = append(b, "Host: "+r.addr+"\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(q.body)), 10)
	b = append(append(b, "\r\n\r\n"...), q.body...)
	r.buf = b
	_ = r.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := r.c.Write(b); err != nil {
		r.close()
		return 0, nil, err
	}
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		r.close()
		return 0, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		r.close()
	}
	return resp.StatusCode, body, err
}

// parseMix turns "webhook=60,job=30,contact=10" into cumulative weights in
// the order of kinds.
func parseMix(s string) ([]int, error) {
	w := make([]int, len(kinds))
	for _, part := range strings.Split(s, ",") {
		name, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		i := slices.Index(kinds, name)
		n, err := strconv.Atoi(v)
		if i < 0 || err != nil || n < 0 {
			return nil, fmt.Errorf("-mix %q: want kind=weight with kinds webhook, job, contact", s)
		}
		w[i] = n
	}
	for i := 1; i < len(w); i++ {
		w[i] += w[i-1]
	}
	if w[len(w)-1] == 0 {
		return nil, fmt.Errorf("-mix %q: all weights are 0", s)
	}
	return w, nil
}

// reportLog prints how many ERROR and WARN lines joist logged, and the first.
func reportLog(path string) {
	b, _ := os.ReadFile(path)
	var bad []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			bad = append(bad, l)
		}
	}
	fmt.Printf("joist log %s: %d ERROR/WARN lines\n", path, len(bad))
	for _, l := range bad[:min(len(bad), 10)] {
		fmt.Printf("  %.400s\n", l)
	}
}

// cpuTime is the user+system CPU time of process pid ("self" for this one),
// from /proc (zero elsewhere); clock ticks are 1/100 s on Linux.
func cpuTime(pid string) time.Duration {
	b, _ := os.ReadFile("/proc/" + pid + "/stat")
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])) // after the command name
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return time.Duration(u+s) * 10 * time.Millisecond
}
