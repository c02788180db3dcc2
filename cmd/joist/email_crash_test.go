package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/joist-dev/joist/client"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
)

// smtpSink is a go-smtp server on 127.0.0.1 that accepts every message
// and counts them per Message-ID (without angle brackets). It records a
// message when its DATA ends and answers 250 100 ms later.
type smtpSink struct {
	addr string

	mu    sync.Mutex
	byID  map[string]int
	total int
	open  int // SMTP sessions open now
}

func newSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	k := &smtpSink{byID: map[string]int{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		k.mu.Lock()
		k.open++
		k.mu.Unlock()
		return &sinkSession{k: k}, nil
	}))
	srv.Domain = "sink.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return k
}

// counts returns a copy of the per-Message-ID counts, the messages
// received and the sessions open.
func (k *smtpSink) counts() (map[string]int, int, int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := make(map[string]int, len(k.byID))
	for id, n := range k.byID {
		m[id] = n
	}
	return m, k.total, k.open
}

type sinkSession struct {
	k      *smtpSink
	closed bool
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Reset()                               {}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unparsable message: " + err.Error()}
	}
	id := strings.Trim(m.Header.Get("Message-Id"), "<> ")
	s.k.mu.Lock()
	s.k.byID[id]++
	s.k.total++
	s.k.mu.Unlock()
	// A relay takes a moment to queue a message and answer: long enough
	// that sends are in flight at the kill, some of them already recorded.
	time.Sleep(100 * time.Millisecond)
	return nil
}

func (s *sinkSession) Logout() error {
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.k.open--
	}
	return nil
}

// emailWorkers is JOIST_QUEUES's default queue size in the crash test: the
// most send jobs that run at once, so the most SMTP sends in flight at the
// kill.
const emailWorkers = 16

// TestEmailSurvivesKill9 sends 400 emails through POST /v1/emails from 8
// clients, each with its own Idempotency-Key, to an SMTP relay (a go-smtp
// sink on 127.0.0.1, ?tls=none), kills joist with SIGKILL once 40% are
// answered, restarts it on the same data, and lets the clients resend what
// failed with the same key. A key whose request was in flight at the kill
// answers 409 idempotency_in_progress until its pending claim is a minute
// old (store.PendingClaimTimeout); the clients retry it, as the answer
// says, so this test takes a little over a minute per store. Then every email answered 202 ends `sent` and
// reached the relay, one email per key (a key retried after the restart
// answers the same id), and the relay got no message joist did not store.
//
// Delivery is at least once: a message the relay accepted just before the
// kill, whose `sent` status joist had not yet written, is sent again when
// River rescues its job. SMTP has no way to deduplicate it (the copy
// carries the same Message-ID, so mailbox providers that dedup on it will).
// Such duplicates are counted and must be at most the sends in flight at
// the kill: one per worker of the queue (emailWorkers); a rescued job of
// an email already `sent` sends nothing.
func TestEmailSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: about 70 s per store")
	}
	for _, d := range storetest.Stores {
		t.Run(string(d), func(t *testing.T) {
			crashEmail(t, d, 400)
		})
	}
}

// emailRow is what the crash test reads of an email.
type emailRow struct {
	ID        string
	Status    string
	MessageID string `json:"message_id"`
}

func crashEmail(t *testing.T, d store.Dialect, total int) {
	const rootKey = "root-key-for-the-email-crash-test-0123456789"
	ctx := context.Background()
	sink := newSMTPSink(t)
	// JOIST_JOB_MAX_TIMEOUT=3s: sends left running by the killed process
	// are rescued after 3s + 15s (plus River's rescuer period).
	env := append(storeEnv(t, d), "JOIST_ROOT_KEY="+rootKey, "JOIST_JOB_MAX_TIMEOUT=3s",
		fmt.Sprintf("JOIST_QUEUES=default=%d", emailWorkers),
		"JOIST_EMAIL_PROVIDER=smtp", "JOIST_SMTP_URL=smtp://"+sink.addr+"?tls=none")

	first := startNode(t, env)
	if _, err := client.New(first.url, rootKey).CreateTenant(ctx, client.TenantCreate{Slug: "crash"}); err != nil {
		t.Fatal(err)
	}
	w := newWHNode(first, rootKey, "crash")
	if status, b, err := w.api("POST", "/v1/domains", map[string]any{"name": "crash.test", "provider": "smtp"}); err != nil || status != http.StatusCreated {
		t.Fatalf("POST /v1/domains: %d %v %s", status, err, b)
	}
	// post sends email i with its Idempotency-Key.
	post := func(i int) (int, []byte, error) {
		body, _ := json.Marshal(map[string]any{"from": "Crash <noreply@crash.test>", "to": fmt.Sprintf("user%d@example.com", i),
			"subject": fmt.Sprintf("crash test %d", i), "text": "Your code is " + fmt.Sprint(100000+i), "tags": []string{"crash"}})
		req, err := http.NewRequest("POST", w.cur.Load().url+"/v1/emails", bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+rootKey)
		req.Header.Set("Joist-Tenant", "crash")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("crash-%05d", i))
		return w.do(req)
	}

	var (
		mu       sync.Mutex
		acked    = make(map[int]string, total) // send -> email id answered
		failures atomic.Int64
		blocked  sync.Map // sends answered 409 idempotency_in_progress
		next     atomic.Int64
		done     atomic.Int64
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				for {
					if time.Since(start) > 90*time.Second {
						return // reported below as too few acknowledged
					}
					status, b, err := post(i)
					if err == nil && status == http.StatusAccepted {
						var e emailRow
						if err := json.Unmarshal(b, &e); err != nil || !strings.HasPrefix(e.ID, "em_") {
							t.Errorf("202 without an email id: %s", b)
							return
						}
						mu.Lock()
						if prev, ok := acked[i]; ok && prev != e.ID {
							t.Errorf("send %d answered with two email ids: %s and %s", i, prev, e.ID)
						}
						acked[i] = e.ID
						mu.Unlock()
						done.Add(1)
						break
					}
					if err == nil && status == http.StatusConflict && bytes.Contains(b, []byte(`"idempotency_in_progress"`)) {
						// The killed process claimed the key and died: the
						// claim is taken over after store.PendingClaimTimeout.
						blocked.Store(i, true)
						time.Sleep(500 * time.Millisecond)
						continue
					}
					if err == nil && status != http.StatusServiceUnavailable && status/100 != 5 {
						t.Errorf("send %d: %d %s", i, status, b)
						return
					}
					failures.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}

	deadline := time.Now().Add(30 * time.Second)
	for done.Load() < int64(total)*4/10 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d sends answered in 30s", done.Load(), total)
		}
		time.Sleep(2 * time.Millisecond)
	}
	killed := w.cur.Load()
	atKill, relayedAtKill, openAtKill := sink.counts()
	killed.kill()
	killedAt := time.Now()
	t.Logf("%s: kill -9 at %.1fs: %d sends answered, %d messages at the relay, %d SMTP sessions open",
		d, time.Since(start).Seconds(), done.Load(), relayedAtKill, openAtKill)
	w.cur.Store(startNode(t, env))
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(acked) != total {
		t.Fatalf("only %d of %d emails acknowledged within 90s (%d failed requests)", len(acked), total, failures.Load())
	}
	nBlocked := 0
	blocked.Range(func(any, any) bool { nBlocked++; return true })
	t.Logf("%s: every send answered 202 %.1fs after the kill; %d keys in flight at the kill answered 409 idempotency_in_progress until their claim was taken over (%s)",
		d, time.Since(killedAt).Seconds(), nBlocked, store.PendingClaimTimeout)

	// A POST retried with the same key after the restart answers the
	// same email, never a second one.
	for i := 0; i < total; i += 7 {
		status, b, err := post(i)
		var e emailRow
		if err == nil {
			err = json.Unmarshal(b, &e)
		}
		if err != nil || status != http.StatusAccepted || e.ID != acked[i] {
			t.Fatalf("send %d retried after the restart: %d %v %s; first answered %s", i, status, err, b, acked[i])
		}
	}

	// Every acknowledged email ends sent and reaches the relay. Sends the
	// killed process left running are rescued by River 18-49 s after they
	// were attempted (docs/benchmarks.md, jobs crash test).
	var (
		rows     []emailRow
		byID     map[string]emailRow
		statuses map[string]int
		got      map[string]int
		missing  int
	)
	drainBy := time.Now().Add(60 * time.Second)
	for {
		var err error
		if rows, err = listAll[emailRow](w, "/v1/emails"); err != nil {
			t.Fatal(err)
		}
		byID, statuses = map[string]emailRow{}, map[string]int{}
		for _, e := range rows {
			byID[e.ID] = e
			statuses[e.Status]++
		}
		got, _, _ = sink.counts()
		missing = 0
		for _, id := range acked {
			if e, ok := byID[id]; !ok || e.Status != "sent" || got[e.MessageID] == 0 {
				missing++
			}
		}
		if missing == 0 && statuses["sent"] == len(rows) {
			break
		}
		if time.Now().After(drainBy) {
			t.Fatalf("after 60s: %d acknowledged emails not sent or not at the relay; %d emails stored, statuses %v\n%s",
				missing, len(rows), statuses, w.cur.Load().stderr)
		}
		time.Sleep(250 * time.Millisecond)
	}
	drained := time.Since(killedAt)

	// One email per key: as many emails stored as sends, and each answer
	// names a distinct email.
	ids := map[string]bool{}
	for _, id := range acked {
		ids[id] = true
	}
	if len(rows) != total || len(ids) != total {
		t.Fatalf("%d emails stored and %d distinct ids answered for %d sends, each with its own key", len(rows), len(ids), total)
	}
	// The relay got only stored emails; duplicates are messages the relay
	// already had at the kill, sent again after it.
	stored := map[string]bool{}
	for _, e := range rows {
		stored[e.MessageID] = true
	}
	got, relayed, _ := sink.counts()
	dups, dupAtKill := 0, 0
	for mid, n := range got {
		if !stored[mid] {
			t.Errorf("the relay got a message joist did not store: Message-ID %q", mid)
		}
		if n > 1 {
			dups += n - 1
			if atKill[mid] > 0 {
				dupAtKill++
			}
		}
	}
	if dups > emailWorkers {
		t.Errorf("%d duplicate messages at the relay; at most %d sends were in flight at the kill", dups, emailWorkers)
	}
	for i, n := range []*node{killed, w.cur.Load()} {
		for _, line := range strings.Split(n.stderr.String(), "\n") {
			if strings.Contains(line, "level=ERROR") {
				t.Logf("node %d: %s", i+1, line)
			}
		}
	}
	t.Logf("%s: %d emails, one per key, all sent and at the relay %.1fs after the kill; %d requests failed around the kill and were resent with their key",
		d, total, drained.Seconds(), failures.Load())
	t.Logf("%s: the relay got %d messages: %d duplicates (%d of them of messages it had before the kill; at most %d allowed)",
		d, relayed, dups, dupAtKill, emailWorkers)
}
