package notify_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/app"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/wire"
)

// TestStream: a stream starts with the counts; a notification written
// after connect arrives with its feed sequence as id, then the counts;
// a read elsewhere (another tab) sends the state and the counts; a
// heartbeat comes between; contact A's stream never sees B's or another
// tenant's notifications.
func TestStream(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a, b := newFx(t, env, "clinic-a"), newFx(t, env, "clinic-b")
		alice, carol := a.contact(t, "alice"), a.contact(t, "carol")
		bob := b.contact(t, "bob")
		tok := a.token(t, "alice")
		a.notify(t, alice, "before")

		s := a.openStream(t, tok, "")
		first := s.expect(t, "counts")
		if c := countsOf(t, first); c.Unread != 1 || first.seq(t) != 1 {
			t.Fatalf("first counts %+v id %s", c, first.id)
		}
		carolStream := a.openStream(t, a.token(t, "carol"), "")
		carolStream.expect(t, "counts")
		bobStream := b.openStream(t, b.token(t, "bob"), "")
		bobStream.expect(t, "counts")

		id, seq := a.notify(t, alice, "after")
		e := s.expect(t, "notification")
		if it := itemOf(t, e); it.ID != id || it.Title != "after" || e.seq(t) != seq || seq != 2 {
			t.Fatalf("notification event %+v (seq %d)", e, seq)
		}
		if c := countsOf(t, s.expect(t, "counts")); c.Unread != 2 || c.Unseen != 2 {
			t.Fatalf("counts after notification %+v", c)
		}
		a.want(t, http.StatusOK, "POST", "/v1/feed/"+id+"/read", tok, nil)
		e = s.expect(t, "state")
		if it := itemOf(t, e); it.ID != id || it.ReadAt == nil || e.seq(t) != 3 {
			t.Fatalf("state event %+v", e)
		}
		if c := countsOf(t, s.expect(t, "counts")); c.Unread != 1 || c.Unseen != 1 {
			t.Fatalf("counts after read %+v", c)
		}
		carolStream.quiet(t, 300*time.Millisecond)
		bobStream.quiet(t, 0)
		// Their own still arrive: the quiet streams are alive.
		cid, _ := a.notify(t, carol, "for carol")
		if it := itemOf(t, carolStream.expect(t, "notification")); it.ID != cid {
			t.Fatalf("carol got %+v", it)
		}
		bid, _ := b.notify(t, bob, "for bob")
		if it := itemOf(t, bobStream.expect(t, "notification")); it.ID != bid {
			t.Fatalf("bob got %+v", it)
		}
		s.quiet(t, 300*time.Millisecond)
		select {
		case c := <-s.comments:
			if c != "heartbeat" {
				t.Fatalf("comment %q", c)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no heartbeat")
		}

		// Resume on the same node: exactly what was missed, in order.
		s.close()
		n3, _ := a.notify(t, alice, "missed 1")
		n4, _ := a.notify(t, alice, "missed 2")
		r := a.openStream(t, tok, "3")
		for _, want := range []string{n3, n4} {
			if it := itemOf(t, r.expect(t, "notification")); it.ID != want {
				t.Fatalf("replayed %s, want %s", it.ID, want)
			}
		}
		if e := r.expect(t, "counts"); e.seq(t) != 5 {
			t.Fatalf("counts after replay id %s", e.id)
		}
		if r := a.do(t, "GET", "/v1/feed/stream?token="+tok, "", nil, "Last-Event-ID", "yesterday"); r.status != http.StatusBadRequest {
			t.Fatalf("bad Last-Event-ID: %d", r.status)
		}
	}, func(c *config.Config) { c.FeedHeartbeat = 200 * time.Millisecond })
}

// logBuffer collects everything a node logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startNode runs a joist on opts' database, logging everything at DEBUG
// to w (cfg: nil for a fresh configuration; another node's for a second
// node of the same database).
func startNode(t *testing.T, opts store.Options, cfg *config.Config, w io.Writer) *app.App {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var c config.Config
	if cfg != nil {
		c = *cfg
	} else {
		c = config.Default()
		c.DataDir = t.TempDir()
		c.DatabaseURL, c.DatabaseSchema = opts.URL, opts.Schema
		c.SecretKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
		c.RootKey = "root_0123456789abcdefghijklmnopqrstuvwxyz"
		c.FeedHeartbeat = 200 * time.Millisecond
		c.ShutdownTimeout = 30 * time.Second
	}
	c.Addr = ln.Addr().String()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.New(context.Background(), c, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background(), ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return a
}

// nodeFx is a tenant fixture on a node started by startNode.
func nodeFx(t *testing.T, a *app.App, slug string) *fx {
	t.Helper()
	return newFx(t, &apptest.Env{App: a, URL: "http://" + a.Addr(), RootKey: a.Config.RootKey}, slug)
}

// TestStreamTwoNodes: on PostgreSQL, a stream connected to node 2
// receives a notification committed on node 1 (LISTEN/NOTIFY); after a
// disconnect and more notifications, a stream on node 1 resumed with
// Last-Event-ID receives exactly the missed events, in order, no gap.
func TestStreamTwoNodes(t *testing.T) {
	t.Parallel()
	opts := storetest.Options(t, store.Postgres)
	var logs logBuffer
	n1 := startNode(t, opts, nil, &logs)
	n2 := startNode(t, opts, &n1.Config, &logs)
	a1 := nodeFx(t, n1, "clinic-a")
	a2 := a1.on(n2)
	alice := a1.contact(t, "alice")
	tok := a1.token(t, "alice")

	for _, n := range []*app.App{n1, n2} {
		select {
		case <-n.Feed.Listening():
		case <-time.After(10 * time.Second):
			t.Fatal("the feed does not LISTEN")
		}
	}
	s := a2.openStream(t, tok, "")
	s.expect(t, "counts")
	sent := time.Now()
	id, seq := a1.notify(t, alice, "from node 1")
	e := s.expect(t, "notification")
	if itemOf(t, e).ID != id || e.seq(t) != seq {
		t.Fatalf("node 2 got %+v, want %s at %d", e, id, seq)
	}
	// Woken by NOTIFY, not found by the 5s safety poll.
	if d := time.Since(sent); d > 2*time.Second {
		t.Fatalf("the event took %s to cross nodes", d)
	}
	last := s.expect(t, "counts").id
	s.close()

	var missed []string
	for i := range 5 {
		// Alternate the nodes the changes are committed on.
		f := a1
		if i%2 == 1 {
			f = a2
		}
		n, _ := f.notify(t, alice, "missed "+strconv.Itoa(i))
		missed = append(missed, n)
	}
	a2.want(t, http.StatusOK, "POST", "/v1/feed/"+missed[0]+"/read", tok, nil)

	r := a1.openStream(t, tok, last)
	want := seq
	for i, m := range missed {
		e := r.expect(t, "notification")
		want++
		if itemOf(t, e).ID != m || e.seq(t) != want {
			t.Fatalf("resumed event %d: %+v, want %s at %d", i, e, m, want)
		}
	}
	e = r.expect(t, "state")
	if it := itemOf(t, e); it.ID != missed[0] || it.ReadAt == nil || e.seq(t) != want+1 {
		t.Fatalf("resumed state %+v", e)
	}
	if c := countsOf(t, r.expect(t, "counts")); c.Unread != 5 {
		t.Fatalf("counts %+v", c)
	}
	r.quiet(t, 300*time.Millisecond)
	// And live again, across nodes.
	id, _ = a2.notify(t, alice, "live")
	if itemOf(t, r.expect(t, "notification")).ID != id {
		t.Fatal("live event after resume missing")
	}
	r.expect(t, "counts")

	// The LISTEN connection of node 1 dies: it reconnects, and the
	// streams of node 1 get what node 2 commits meanwhile and after,
	// sooner than the safety poll would find it.
	pid := n1.Feed.ListenerPID()
	if _, err := n1.DB.PgxPool().Exec(context.Background(), "SELECT pg_terminate_backend($1)", int32(pid)); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		sent := time.Now()
		id, _ := a2.notify(t, alice, "across a reconnect")
		if itemOf(t, r.expect(t, "notification")).ID != id {
			t.Fatal("event after the LISTEN connection died missing")
		}
		if d := time.Since(sent); d > 2*time.Second {
			t.Fatalf("event %d took %s after the LISTEN connection died", i, d)
		}
		r.expect(t, "counts")
	}
	if n1.Feed.ListenerPID() == pid {
		t.Fatal("the listener did not reconnect")
	}
	if strings.Contains(logs.String(), tok) {
		t.Fatal("the token is in the log")
	}
}

// TestStreamShutdownAndLogs: stopping joist ends open streams at once
// (the graceful shutdown does not wait on them, though it would wait
// 30s), and the token given as ?token=, valid or not, never appears in
// what joist logs at any level.
func TestStreamShutdownAndLogs(t *testing.T) {
	t.Parallel()
	storetest.EachStore(t, func(t *testing.T, opts store.Options) {
		var logs logBuffer
		n := startNode(t, opts, nil, &logs)
		a := nodeFx(t, n, "clinic-a")
		a.contact(t, "alice")
		tok := a.token(t, "alice")
		s := a.openStream(t, tok, "")
		s.expect(t, "counts")
		s2 := a.openStream(t, tok, "0")
		s2.expect(t, "counts")
		bad := tok[:len(tok)-4] + "AAAA"
		if r := a.do(t, "GET", "/v1/feed/stream?token="+bad, "", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("forged token on the stream: %d", r.status)
		}
		start := time.Now()
		n.Stop()
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("shutdown took %s with open streams", d)
		}
		for _, st := range []*stream{s, s2} {
			select {
			case <-st.done:
			case <-time.After(5 * time.Second):
				t.Fatal("stream still open after shutdown")
			}
		}
		out := logs.String()
		if out == "" {
			t.Fatal("nothing logged: the check below would prove nothing")
		}
		for _, secret := range []string{tok, bad, strings.Split(tok, ".")[2]} {
			if strings.Contains(out, secret) {
				t.Fatalf("the token is in the log:\n%s", out)
			}
		}
	})
}

// TestStreamOutlivesWriteTimeout: behind a server whose WriteTimeout is
// 300ms, a stream keeps delivering well past it (each write extends its
// own deadline), and the open stream is counted in /metrics.
func TestStreamOutlivesWriteTimeout(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		srv := httptest.NewUnstartedServer(env.App.Handler())
		srv.Config.WriteTimeout = 300 * time.Millisecond
		srv.Start()
		t.Cleanup(srv.Close) // after the stream's own cleanup: Close waits for open requests
		a := newFx(t, env, "clinic-a")
		alice := a.contact(t, "alice")
		tok := a.token(t, "alice")
		s := a.on(env.App).openStreamAt(t, srv.URL, tok)
		s.expect(t, "counts")
		time.Sleep(time.Second)
		id, _ := a.notify(t, alice, "after the write timeout")
		if it := itemOf(t, s.expect(t, "notification")); it.ID != id {
			t.Fatalf("got %+v", it)
		}
		r := a.do(t, "GET", "/metrics", "", nil)
		if !strings.Contains(string(r.body), "joist_feed_streams 1") {
			t.Fatalf("metrics do not count the stream:\n%s", r.body)
		}
	}, func(c *config.Config) { c.FeedHeartbeat = 200 * time.Millisecond })
}

// TestStreamEndsAtTokenExpiry: an open stream ends when its token
// expires, so a token stops working at its expiry on streams too.
func TestStreamEndsAtTokenExpiry(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a := newFx(t, env, "clinic-a")
		a.contact(t, "alice")
		var tok wire.ContactToken
		a.want(t, http.StatusCreated, "POST", "/v1/contacts/alice/tokens", "key", map[string]string{"ttl": "2s"}).json(t, &tok)
		long := a.token(t, "alice")
		s := a.openStream(t, tok.Token, "")
		s.expect(t, "counts")
		other := a.openStream(t, long, "")
		other.expect(t, "counts")
		select {
		case <-s.done:
			if d := time.Until(tok.ExpiresAt); d > 100*time.Millisecond {
				t.Fatalf("the stream ended %s before its token expired", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the stream outlived its token")
		}
		select {
		case <-other.done:
			t.Fatal("a stream with a valid token ended too")
		default:
		}
	})
}
