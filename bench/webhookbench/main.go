// Command webhookbench measures joist's inbound webhook path beside a bare
// net/http handler, on the same machine in the same run, and prints events/s,
// p50/p99 latency and the ratio at each concurrency.
//
//   - joist: app.New on a fresh SQLite database (WAL, synchronous=FULL: an
//     answer means the commit is on disk) or a fresh PostgreSQL schema, the
//     whole HTTP handler in front (POST /in/{tenant}/{source}). Each request
//     is a signed GitHub delivery with a new X-GitHub-Delivery: its HMAC is
//     verified on the raw bytes, the event is inserted with ON CONFLICT DO
//     NOTHING on (source, delivery id) and its forward job (an HTTP-push job
//     to a no-op receiver in this process) is inserted in the same
//     transaction, and the answer is written after the commit. By default
//     the job engine is not started, so the figure is ingest alone ("each
//     including its processing job's insert"); with -work the engine runs
//     and forwards every event while the load runs.
//   - baseline: a bare net/http handler on another listener that reads the
//     same body and answers the same small JSON.
//
// Both sides are driven by the same load generator (the same signed
// requests, one keep-alive connection per concurrent sender) for -dur after
// -warmup. The deliveries are signed before each measurement (-presign) and
// written as raw HTTP/1.1 (-client raw), so the generator, which shares the
// cores with the server, takes as little of them as it can. After the run
// every event answered 200 must be stored once.
//
//	go run ./bench/webhookbench -store sqlite
//	go run ./bench/webhookbench -store postgres -url postgres://...
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/joist-dev/joist/internal/app"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/webhook"
)

var (
	kind    = flag.String("store", "sqlite", "sqlite or postgres")
	pgURL   = flag.String("url", os.Getenv("JOIST_TEST_DATABASE_URL"), "PostgreSQL URL for -store postgres")
	concs   = flag.String("conc", "50,200", "concurrent connections, comma-separated")
	dur     = flag.Duration("dur", 5*time.Second, "measured time per side and concurrency")
	warmup  = flag.Duration("warmup", time.Second, "unmeasured time before each measurement")
	size    = flag.Int("size", 1024, "body size in bytes (a GitHub push payload padded to this size)")
	work    = flag.Bool("work", false, "start the job engine: forwards are delivered to the no-op receiver during the load")
	noFwd   = flag.Bool("no-forward", false, "source without forward_url: no job is inserted")
	sides   = flag.String("sides", "baseline,joist", "which sides to run")
	cpuProf = flag.String("cpuprofile", "", "write a CPU profile of the joist side to PREFIX.CONC.pprof")
	verbose = flag.Bool("v", false, "log joist's warnings")
	client  = flag.String("client", "raw", "load generator: raw (pre-built HTTP/1.1 requests on one keep-alive connection per sender) or net/http (http.Client)")
	presign = flag.Int("presign", 60000, "deliveries built and signed before each measurement (the senders sign on the fly once they are used up); 0 signs every request on the fly")
)

const secret = "webhookbench-github-secret"

func main() {
	flag.Parse()
	if *client != "raw" && *client != "net/http" {
		log.Fatalf("-client %q: raw or net/http", *client)
	}
	ctx := context.Background()
	var levels []int
	for _, s := range strings.Split(*concs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("-conc %q: want numbers like 50,200", *concs)
		}
		levels = append(levels, n)
	}

	// A no-op receiver for the forwards.
	fwdLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	var forwarded atomic.Int64
	go http.Serve(fwdLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { //nolint:errcheck
		_, _ = io.Copy(io.Discard, r.Body)
		forwarded.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))

	a, durability, cleanup := openApp(ctx)
	defer cleanup()
	tn, err := a.Tenants.Create(ctx, rootActor, tenants.Input{Slug: "bench"})
	if err != nil {
		log.Fatal(err)
	}
	fwdURL := "http://" + fwdLn.Addr().String() + "/hooks"
	if *noFwd {
		fwdURL = ""
	}
	if _, _, err := a.Webhooks.PutSource(ctx, rootActor, tn.ID, "gh", webhook.SourceInput{Provider: "github",
		Secrets: []webhook.SecretInput{{Secret: secret}}, ForwardURL: fwdURL}); err != nil {
		log.Fatal(err)
	}
	joistLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if *work {
		if err := a.Start(ctx, joistLn); err != nil {
			log.Fatal(err)
		}
		defer a.Stop()
	} else {
		// The same handler and server settings as app.Start, without the
		// job engine (and the other background services).
		srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
		go srv.Serve(joistLn) //nolint:errcheck
		defer srv.Close()
		defer a.Stop()
	}
	joistURL := "http://" + joistLn.Addr().String() + "/in/bench/gh"

	baseLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(baseLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { //nolint:errcheck
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"evt_0123456789abcdefghijklmn","duplicate":false}` + "\n"))
	}))
	baseURL := "http://" + baseLn.Addr().String() + "/in/bench/gh"

	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, cpu, _ = strings.Cut(l, ": ")
				break
			}
		}
	}
	jobsMode := "forward job inserted, job engine stopped"
	switch {
	case *noFwd:
		jobsMode = "no forward_url, no job"
	case *work:
		jobsMode = "forward job inserted and worked (no-op receiver) during the load"
	}
	fmt.Printf("webhookbench: store=%s body=%dB dur=%s warmup=%s GOMAXPROCS=%d cpu=%q %s\n", *kind, *size, *dur, *warmup, runtime.GOMAXPROCS(0), cpu, runtime.Version())
	fmt.Printf("durability: %s; jobs: %s; %d deliveries pre-signed per measurement; client %s\n", durability, jobsMode, *presign, *client)

	var seq atomic.Int64
	accepted := 0
	for _, c := range levels {
		var base, joist result
		if strings.Contains(*sides, "baseline") {
			base = drive(baseURL, c, &seq, "")
			fmt.Printf("conc=%-4d baseline net/http: %s\n", c, base)
		}
		if strings.Contains(*sides, "joist") {
			prof := ""
			if *cpuProf != "" {
				prof = fmt.Sprintf("%s.%d.pprof", *cpuProf, c)
			}
			joist = drive(joistURL, c, &seq, prof)
			accepted += joist.accepted
			fmt.Printf("conc=%-4d joist ingest:       %s\n", c, joist)
		}
		if base.n > 0 && joist.n > 0 {
			fmt.Printf("conc=%-4d ratio joist/baseline: %.3fx events/s; p99 %.1f ms vs %.1f ms\n", c, joist.rate()/base.rate(),
				ms(joist.p99), ms(base.p99))
		}
	}

	// Every event answered 200 (not duplicate) is stored once, with a job.
	var events, jobsN int
	err = a.DB.Read(ctx, func(tx *store.Tx) error {
		var err error
		if events, err = tx.CountRows(ctx, "webhook_events"); err != nil {
			return err
		}
		jobsN, err = tx.CountRows(ctx, "jobs")
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("check: %d events accepted, %d stored, %d jobs; %d forwards received\n", accepted, events, jobsN, forwarded.Load())
	if events != accepted || (!*noFwd && jobsN != accepted) {
		log.Fatalf("stored events/jobs do not match the accepted answers")
	}
}

var rootActor = auth.Actor{Type: auth.ActorRoot, ID: "root:webhookbench", AllTenants: true}

// openApp builds joist on a fresh database and says how durable a commit is.
func openApp(ctx context.Context) (*app.App, string, func()) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	dir, err := os.MkdirTemp("", "webhookbench")
	if err != nil {
		log.Fatal(err)
	}
	cleanup := []func(){func() { os.RemoveAll(dir) }}
	cfg.DataDir = dir
	cfg.RootKey = "root_" + auth.RandomToken(32)
	cfg.OwnerEmail, cfg.OwnerPassword = "owner@example.com", "correct horse battery staple"
	durability := "SQLite WAL, synchronous=FULL (the store's writer; an answer means the commit is fsynced), file " + filepath.Join(dir, "joist.db")
	switch *kind {
	case "sqlite":
	case "postgres":
		if *pgURL == "" {
			log.Fatal("-url or JOIST_TEST_DATABASE_URL is required for -store postgres")
		}
		pool, err := pgxpool.New(ctx, *pgURL)
		if err != nil {
			log.Fatal(err)
		}
		schema := fmt.Sprintf("webhookbench_%d", time.Now().UnixNano())
		if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			log.Fatal(err)
		}
		var fsync, sc string
		_ = pool.QueryRow(ctx, "SHOW fsync").Scan(&fsync)
		_ = pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&sc)
		durability = fmt.Sprintf("PostgreSQL fsync=%s synchronous_commit=%s", fsync, sc)
		cleanup = append(cleanup, func() {
			_, _ = pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			pool.Close()
		})
		cfg.DatabaseURL, cfg.DatabaseSchema = *pgURL, schema
		cfg.SecretKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	default:
		log.Fatalf("unknown -store %q: sqlite or postgres", *kind)
	}
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	level := slog.LevelError + 1
	if *verbose {
		level = slog.LevelWarn
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	if err != nil {
		log.Fatal(err)
	}
	return a, durability, func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
}

type result struct {
	n, accepted int
	errs        int
	took        time.Duration
	p50, p99    time.Duration
	max         time.Duration
	signedLive  int // requests signed during the run (the pre-signed ones used up)
}

func (r result) rate() float64 { return float64(r.n) / r.took.Seconds() }

func (r result) String() string {
	live := ""
	if r.signedLive > 0 {
		live = fmt.Sprintf(", %d signed during the run", r.signedLive)
	}
	return fmt.Sprintf("%7.0f events/s  p50 %6.2f ms  p99 %6.2f ms  max %7.1f ms  (%d requests, %d errors%s)",
		r.rate(), ms(r.p50), ms(r.p99), ms(r.max), r.n, r.errs, live)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// payload is a GitHub push body padded to -size bytes.
func payload(id string) []byte {
	b := []byte(`{"ref":"refs/heads/main","before":"` + strings.Repeat("a", 40) + `","after":"` + strings.Repeat("b", 40) +
		`","delivery":"` + id + `","repository":{"full_name":"acme/app"},"pusher":{"name":"bench"},"commits":[{"message":"`)
	pad := max(*size-len(b)-4, 0)
	b = append(b, bytes.Repeat([]byte("x"), pad)...)
	return append(b, `"}]}`...)
}

// delivery is one signed GitHub delivery.
type delivery struct {
	id, sig string
	body    []byte
}

func sign(seq *atomic.Int64) delivery {
	id := fmt.Sprintf("bench-%012d", seq.Add(1))
	body := payload(id)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return delivery{id: id, body: body, sig: "sha256=" + hex.EncodeToString(m.Sum(nil))}
}

// deliveries hands out pre-signed deliveries, then signs new ones. The load
// generator runs in the same process as joist, on the same cores: building
// and signing each body (and the garbage that leaves) while the server runs
// would take CPU from the server and count against it.
type deliveries struct {
	list []delivery
	i    atomic.Int64
}

func presigned(n int, seq *atomic.Int64) *deliveries {
	p := &deliveries{list: make([]delivery, n)}
	for i := range p.list {
		p.list[i] = sign(seq)
	}
	runtime.GC()
	return p
}

func (p *deliveries) next(seq *atomic.Int64) delivery {
	if i := p.i.Add(1) - 1; i < int64(len(p.list)) {
		return p.list[i]
	}
	return sign(seq)
}

func stdPost(hc *http.Client, url string, d delivery) (int, []byte, error) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(d.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/bench")
	req.Header.Set("X-GitHub-Delivery", d.id)
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Hook-ID", "123456")
	req.Header.Set("X-Hub-Signature-256", d.sig)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// rawConn is one sender's keep-alive HTTP/1.1 connection, written to and
// read from directly: the same bytes on the wire as net/http's client (the
// same request line, headers and body), without its per-request header
// maps and the two goroutines per connection it hands each request
// through. The load generator shares the cores with the server it
// measures, so its own CPU counts against the server (net/http's client
// took ~15% of the process's CPU at 200 connections).
type rawConn struct {
	c   net.Conn
	br  *bufio.Reader
	buf []byte
}

func (r *rawConn) close() {
	if r.c != nil {
		r.c.Close()
		r.c = nil
	}
}

func (r *rawConn) post(rawURL string, d delivery) (int, []byte, error) {
	u, err := neturl.Parse(rawURL)
	if err != nil {
		return 0, nil, err
	}
	if r.c == nil {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			return 0, nil, err
		}
		r.c, r.br = c, bufio.NewReader(c)
	}
	b := r.buf[:0]
	b = append(b, "POST "+u.RequestURI()+" HTTP/1.1\r\nHost: "+u.Host+"\r\nUser-Agent: GitHub-Hookshot/bench\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(d.body)), 10)
	b = append(b, "\r\nContent-Type: application/json\r\nX-Github-Delivery: "+d.id+
		"\r\nX-Github-Event: push\r\nX-Github-Hook-Id: 123456\r\nX-Hub-Signature-256: "+d.sig+"\r\nAccept-Encoding: gzip\r\n\r\n"...)
	b = append(b, d.body...)
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

// drive runs conc senders against url for warmup + dur; only requests
// started after the warmup are measured. Each request is a new delivery.
// With prof, a CPU profile of the measured window is written there.
func drive(url string, conc int, seq *atomic.Int64, prof string) result {
	pool := presigned(*presign, seq)
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	start := time.Now()
	measureFrom := start.Add(*warmup)
	end := measureFrom.Add(*dur)
	var mu sync.Mutex
	var lat []time.Duration
	var accepted, errs int
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			myAcc, myErrs := 0, 0
			rc := &rawConn{}
			defer rc.close()
			for {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				d := pool.next(seq)
				t1 := time.Now()
				var status int
				var b []byte
				var err error
				if *client == "raw" {
					status, b, err = rc.post(url, d)
				} else {
					status, b, err = stdPost(hc, url, d)
				}
				ok := err == nil && status == http.StatusOK && bytes.Contains(b, []byte(`"duplicate":false`))
				if !ok && myErrs == 0 {
					log.Printf("%s: %d %s %v", url, status, b, err)
				}
				took := time.Since(t1)
				if ok {
					myAcc++
				}
				if t0.Before(measureFrom) {
					continue
				}
				if !ok {
					myErrs++
					continue
				}
				mine = append(mine, took)
			}
			mu.Lock()
			lat = append(lat, mine...)
			accepted += myAcc
			errs += myErrs
			mu.Unlock()
		}()
	}
	if prof != "" {
		time.Sleep(time.Until(measureFrom))
		f, err := os.Create(prof)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	wg.Wait()
	slices.Sort(lat)
	r := result{n: len(lat), accepted: accepted, errs: errs, took: *dur, signedLive: max(int(pool.i.Load())-len(pool.list), 0)}
	if len(lat) > 0 {
		r.p50, r.p99, r.max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	return r
}
