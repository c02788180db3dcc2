// Command emailbench measures joist's transactional email end to end:
// `joist serve` as a separate process with the job engine on and
// JOIST_EMAIL_PROVIDER=smtp pointing at an SMTP sink in this process, loaded
// with template sends over the API, beside a bare baseline in the same run
// that DKIM-signs the same kind of message (go-msgauth, RSA-2048) and sends
// it with go-smtp's client to the same sink at the same concurrency; it
// prints the ratio.
//
// The joist side creates a tenant, a sending domain (POST /v1/domains, so
// joist holds an RSA-2048 DKIM key and signs every message) and a template
// (PUT /v1/email/templates/receipt), then -c senders POST /v1/emails with
// the template and data (rendered by joist) for -dur. The sink records when
// each message arrives by its Message-ID, which joist sets to the email id
// at the sending domain, so each message is matched to the 202 that
// accepted it. Reported: messages/s accepted and delivered, p50/p99 from
// accepted to delivered, and every message checked as DKIM-signed. The
// baseline's latency is from the start of its send to the sink's arrival.
//
//	go run ./bench/emailbench -dur 10s
//	go run ./bench/emailbench -store postgres -url postgres://... -c 16
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"github.com/joist-dev/joist/bench/internal/benchkit"
)

var (
	binPath  = flag.String("bin", "", "joist binary to run (default: go build ./cmd/joist into a temporary directory)")
	kind     = flag.String("store", "sqlite", "sqlite or postgres")
	pgURL    = flag.String("url", os.Getenv("JOIST_TEST_DATABASE_URL"), "PostgreSQL URL for -store postgres (a fresh schema is made in it)")
	conc     = flag.Int("c", 16, "concurrent senders on each side")
	dur      = flag.Duration("dur", 10*time.Second, "time each side sends for")
	drainMax = flag.Duration("drain-timeout", 2*time.Minute, "bound on waiting for joist to deliver what it accepted")
	keep     = flag.Bool("keep", false, "keep the data directory (or PostgreSQL schema)")
	cpuProf  = flag.String("cpuprofile", "", "write a CPU profile of joist serve during the load to this file (through JOIST_PPROF_ADDR)")
)

const (
	rootKey = "emailbench-root-key-0123456789abcdef"
	domain  = "bench.test"
)

func main() {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

// side is one side's measurement.
type side struct {
	sent, delivered int
	rate            float64 // accepted (joist) or sent (baseline) per second
	deliveredRate   float64 // delivered per second, first send to last arrival
	lat             []time.Duration
}

func (s side) String() string {
	slices.Sort(s.lat)
	return fmt.Sprintf("  %d messages, %.1f/s sent or accepted, %.1f/s delivered; p50 %.1f ms, p99 %.1f ms to the sink\n",
		s.delivered, s.rate, s.deliveredRate, benchkit.PctMS(s.lat, 50), benchkit.PctMS(s.lat, 99))
}

func run(ctx context.Context) error {
	tmp, err := os.MkdirTemp("", "emailbench")
	if err != nil {
		return err
	}
	defer func() {
		if !*keep {
			os.RemoveAll(filepath.Join(tmp, "data"))
			os.Remove(filepath.Join(tmp, "joist"))
		}
	}()
	fmt.Printf("emailbench: store=%s c=%d dur=%s; %s; %s\n", *kind, *conc, *dur, benchkit.Machine(), runtime.Version())
	bin, err := benchkit.BuildJoist(ctx, *binPath, tmp)
	if err != nil {
		return err
	}
	sink, err := newSink()
	if err != nil {
		return err
	}
	defer sink.srv.Close()

	base, err := baseline(ctx, sink)
	if err != nil {
		return err
	}
	fmt.Printf("baseline (dkim.Sign RSA-2048 + go-smtp client, one connection per message):\n%s", base)
	j, err := runJoist(ctx, bin, tmp, sink)
	if err != nil {
		return err
	}
	fmt.Printf("joist serve (%s, template sends, DKIM RSA-2048 by joist):\n%s", *kind, j)
	fmt.Printf("ratio joist/baseline: %.3fx delivered messages/s (%.3fx accepted); p50 %.1f vs %.1f ms, p99 %.1f vs %.1f ms\n",
		j.deliveredRate/base.deliveredRate, j.rate/base.deliveredRate, benchkit.PctMS(j.lat, 50), benchkit.PctMS(base.lat, 50), benchkit.PctMS(j.lat, 99), benchkit.PctMS(base.lat, 99))
	fmt.Printf("machine after the run: %s\n", benchkit.Machine())
	return nil
}

// sink is a go-smtp server on 127.0.0.1 that records when each message
// arrives, by Message-ID, and whether it is DKIM-signed.
type sink struct {
	srv  *smtp.Server
	addr string

	mu       sync.Mutex
	arrived  map[string]time.Time
	dups     int
	unsigned int
}

func newSink() (*sink, error) {
	k := &sink{arrived: map[string]time.Time{}}
	k.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sinkSession{k}, nil }))
	k.srv.Domain = "sink.test"
	k.srv.ReadTimeout, k.srv.WriteTimeout = 30*time.Second, 30*time.Second
	k.srv.MaxMessageBytes = 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	k.addr = ln.Addr().String()
	go k.srv.Serve(ln) //nolint:errcheck
	return k, nil
}

func (k *sink) at(id string) (time.Time, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.arrived[id]
	return t, ok
}

type sinkSession struct{ k *sink }

func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (sinkSession) Reset()                               {}
func (sinkSession) Logout() error                        { return nil }

func (s sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	now := time.Now()
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unparsable message"}
	}
	id := strings.Trim(m.Header.Get("Message-Id"), "<> ")
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	if _, ok := s.k.arrived[id]; ok {
		s.k.dups++
		return nil
	}
	s.k.arrived[id] = now
	if !strings.Contains(m.Header.Get("Dkim-Signature"), "a=rsa-sha256") {
		s.k.unsigned++
	}
	return nil
}

// baseline signs and sends a pre-rendered message from -c senders for -dur,
// each message with its own Message-ID, one SMTP connection per message as
// joist opens.
func baseline(ctx context.Context, k *sink) (side, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return side{}, err
	}
	opts := &dkim.SignOptions{Domain: domain, Selector: "bench", Signer: key,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"}}
	body := "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi Ada, thanks for your order 12345 of 42.00 EUR.\r\n" +
		"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hi Ada,</p><p>thanks for your order <b>12345</b> of 42.00 EUR.</p>\r\n--b--\r\n"
	var (
		seq   atomic.Int64
		mu    sync.Mutex
		start = map[string]time.Time{}
		errs  atomic.Int64
		wg    sync.WaitGroup
	)
	t0 := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(t0) < *dur && ctx.Err() == nil {
				id := fmt.Sprintf("base-%d@%s", seq.Add(1), domain)
				raw := "From: Bench <noreply@" + domain + ">\r\nTo: ada@example.com\r\nSubject: Receipt for order 12345\r\n" +
					"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: <" + id + ">\r\nMIME-Version: 1.0\r\n" +
					"Content-Type: multipart/alternative; boundary=b\r\n\r\n" + body
				began := time.Now()
				var signed bytes.Buffer
				if err := dkim.Sign(&signed, strings.NewReader(raw), opts); err != nil {
					errs.Add(1)
					continue
				}
				if err := smtpSend(k.addr, &signed); err != nil {
					errs.Add(1)
					continue
				}
				mu.Lock()
				start[id] = began
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	s := side{sent: len(start), rate: float64(len(start)) / elapsed.Seconds()}
	var last time.Time
	for id, b := range start {
		if at, ok := k.at(id); ok {
			s.delivered++
			s.lat = append(s.lat, at.Sub(b))
			if at.After(last) {
				last = at
			}
		}
	}
	s.deliveredRate = float64(s.delivered) / last.Sub(t0).Seconds()
	if n := errs.Load(); n > 0 {
		return s, fmt.Errorf("baseline: %d sends failed", n)
	}
	return s, nil
}

// smtpSend is one SMTP conversation, as joist's SMTP provider has it.
func smtpSend(addr string, msg io.Reader) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if err := c.Mail("noreply@"+domain, nil); err != nil {
		return err
	}
	if err := c.Rcpt("ada@example.com", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// runJoist starts joist serve, sets up a tenant, a domain and a template,
// sends for -dur, waits until the sink has every accepted email, and stops it.
func runJoist(ctx context.Context, bin, tmp string, k *sink) (side, error) {
	env := []string{"JOIST_DATA=" + filepath.Join(tmp, "data"), "JOIST_ROOT_KEY=" + rootKey,
		"JOIST_OWNER_EMAIL=owner@example.com", "JOIST_OWNER_PASSWORD=emailbench owner password",
		"JOIST_EMAIL_PROVIDER=smtp", "JOIST_SMTP_URL=smtp://" + k.addr + "?tls=none"}
	pprofAddr := ""
	if *cpuProf != "" {
		var err error
		if pprofAddr, err = benchkit.FreeAddr(); err != nil {
			return side{}, err
		}
		env = append(env, "JOIST_PPROF_ADDR="+pprofAddr)
	}
	switch *kind {
	case "sqlite":
	case "postgres":
		_, schema, cleanup, err := benchkit.PostgresSchema(ctx, *pgURL, "emailbench", *keep)
		if err != nil {
			return side{}, err
		}
		defer cleanup()
		env = append(env, "JOIST_DATABASE_URL="+*pgURL, "JOIST_DATABASE_SCHEMA="+schema,
			"JOIST_SECRET_KEY="+benchkit.SecretKey)
	default:
		return side{}, fmt.Errorf("unknown -store %q: sqlite or postgres", *kind)
	}
	lp := filepath.Join(tmp, "joist.log") // kept
	j, err := benchkit.StartJoist(ctx, bin, env, lp)
	if err != nil {
		return side{}, err
	}
	defer func() {
		j.Stop()
		fmt.Printf("joist log: %s\n", lp)
	}()
	base := j.Base
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conc}}
	api := func(method, path string, body any, hdr ...string) (int, []byte, error) {
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(b))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+rootKey)
		req.Header.Set("Content-Type", "application/json")
		if path != "/v1/tenants" {
			req.Header.Set("Joist-Tenant", "bench")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		return resp.StatusCode, out, err
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/tenants", map[string]any{"slug": "bench"}},
		{"POST", "/v1/domains", map[string]any{"name": domain, "provider": "smtp"}},
		{"PUT", "/v1/email/templates/receipt", map[string]any{"default_locale": "en", "variants": map[string]any{"en": map[string]any{
			"subject": "Receipt for order {{.data.order}}",
			"html":    `<p>Hi {{.data.name}},</p><p>thanks for your order <b>{{.data.order}}</b> of {{.data.total}}.</p>`,
			"text":    "Hi {{.data.name}}, thanks for your order {{.data.order}} of {{.data.total}}."}}}},
	} {
		if status, b, err := api(c.method, c.path, c.body); err != nil || status/100 != 2 {
			return side{}, fmt.Errorf("%s %s: %d %v %s", c.method, c.path, status, err, b)
		}
	}

	var (
		seq      atomic.Int64
		mu       sync.Mutex
		accepted = map[string]time.Time{} // Message-ID -> when the 202 came
		errs     atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	profDone := make(chan error, 1)
	if pprofAddr != "" {
		go func() {
			profDone <- benchkit.Profile(ctx, pprofAddr, max(1, int((*dur-time.Second)/time.Second)), *cpuProf)
		}()
	} else {
		profDone <- nil
	}
	t0 := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(t0) < *dur && ctx.Err() == nil {
				n := seq.Add(1)
				status, b, err := api("POST", "/v1/emails", map[string]any{"template": "receipt", "from": "Bench <noreply@" + domain + ">",
					"to": fmt.Sprintf("user%d@example.com", n), "data": map[string]any{"name": "Ada", "order": n, "total": "42.00 EUR"}},
					"Idempotency-Key", fmt.Sprint("bench-", n))
				var e struct{ ID string }
				if err == nil && status == http.StatusAccepted && json.Unmarshal(b, &e) == nil && e.ID != "" {
					mu.Lock()
					accepted[e.ID+"@"+domain] = time.Now()
					mu.Unlock()
					continue
				}
				errs.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %v %.300s", status, err, b))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	if err := <-profDone; err != nil {
		return side{}, err
	}
	if n := errs.Load(); n > 0 {
		return side{}, fmt.Errorf("joist: %d sends failed, the first: %v", n, firstErr.Load())
	}
	s := side{sent: len(accepted), rate: float64(len(accepted)) / elapsed.Seconds()}
	var last time.Time
	for drain := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		s.delivered, s.lat, last = 0, s.lat[:0], time.Time{}
		for id, acc := range accepted {
			if at, ok := k.at(id); ok {
				s.delivered++
				s.lat = append(s.lat, at.Sub(acc))
				if at.After(last) {
					last = at
				}
			}
		}
		if s.delivered == s.sent {
			break
		}
		if time.Since(drain) > *drainMax || ctx.Err() != nil {
			return s, fmt.Errorf("joist: %d of %d accepted emails not at the sink %s after the load", s.sent-s.delivered, s.sent, *drainMax)
		}
	}
	s.deliveredRate = float64(s.delivered) / last.Sub(t0).Seconds()
	k.mu.Lock()
	fmt.Printf("sink: %d duplicate messages, %d without an RSA DKIM signature (joist and baseline)\n", k.dups, k.unsigned)
	k.mu.Unlock()
	fmt.Printf("joist delivered the last accepted email %.1fs after the load ended\n", last.Sub(t0.Add(elapsed)).Seconds())
	return s, nil
}
