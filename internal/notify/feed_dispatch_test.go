package notify_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/notify"
	"github.com/joist-dev/joist/internal/store"
)

// notifyChunk stands in for one fan-out chunk: a notification for each
// contact (of fixtures fs, by index) in one transaction, then one
// FeedChanged for all of them. It returns each notification's id and
// feed sequence, in the order of contacts.
func notifyChunk(t *testing.T, fs []*fx, contacts []string, title string) ([]string, []int64) {
	t.Helper()
	ctx := context.Background()
	a := fs[0].app
	now := a.Core.Now()
	ids, seqs := make([]string, len(contacts)), make([]int64, len(contacts))
	var changes []notify.FeedChange
	err := a.DB.Write(ctx, func(tx *store.Tx) error {
		changes = changes[:0]
		for i, contactID := range contacts {
			f := fs[i]
			evt := store.NewID("nev_") // an event each: a contact may be listed more than once
			if _, err := tx.Exec(ctx, `INSERT INTO notify_events (id, tenant_id, type, data, actor, recipients, recipient_count, status, created_at)
				VALUES (?, ?, 'test.type', '{}', '{}', '[]', 1, 'done', ?)`, evt, f.tenant.ID, now); err != nil {
				return err
			}
			ids[i] = store.NewID("ntf_")
			c, err := notify.FeedAppend(ctx, tx, f.tenant.ID, contactID, notify.FeedNew, ids[i], now)
			if err != nil {
				return err
			}
			seqs[i] = c.Seq
			changes = append(changes, c)
			if _, err := tx.Exec(ctx, `INSERT INTO notifications (id, tenant_id, event_id, contact_id, type, title, body, url, data, in_feed, seq, created_at, updated_at)
				VALUES (?, ?, ?, ?, 'test.type', ?, 'the body', '/things/1', '{"n":1}', TRUE, ?, ?, ?)`, ids[i], f.tenant.ID, evt, contactID, title, c.Seq, now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a.Feed.FeedChanged(ctx, changes)
	return ids, seqs
}

// readTx is how many read transactions the node has run (its metrics).
func readTx(t *testing.T, f *fx) int {
	t.Helper()
	r := f.want(t, http.StatusOK, "GET", "/metrics", "", nil)
	for line := range strings.SplitSeq(string(r.body), "\n") {
		if strings.HasPrefix(line, "joist_store_tx_duration_seconds_count{") && strings.Contains(line, `"read"`) {
			n, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("metrics line %q", line)
			}
			return int(n)
		}
	}
	t.Fatalf("no read transactions in the metrics:\n%s", r.body)
	return 0
}

// TestStreamDispatch: one chunk of changes for many contacts' open
// streams (two tenants, contacts of the same external ids in each, and
// two streams of one contact at different sequences) is read in a few
// read transactions, not two per stream, and every stream gets exactly
// its own contact's notification, with its feed sequence, then the
// counts, and nothing else.
func TestStreamDispatch(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a, b := newFx(t, env, "clinic-a"), newFx(t, env, "clinic-b")
		type open struct {
			f            *fx
			ext, contact string
			s            *stream
		}
		var streams []open
		var fs []*fx
		var contacts []string
		for i := range 12 {
			for _, f := range []*fx{a, b} {
				if f == b && i >= 6 {
					continue
				}
				ext := fmt.Sprintf("person-%02d", i)
				c := f.contact(t, ext)
				fs, contacts = append(fs, f), append(contacts, c)
				streams = append(streams, open{f: f, ext: ext, contact: c})
			}
		}
		// The first contact has two notifications before its streams
		// connect: one stream resumes from 1 (it is sent 2), one starts
		// at 2.
		a.notify(t, contacts[0], "old 1")
		a.notify(t, contacts[0], "old 2")
		tokens := map[string]string{}
		for i := range streams {
			o := &streams[i]
			tok := o.f.token(t, o.ext)
			tokens[o.contact] = tok
			o.s = o.f.openStream(t, tok, "")
			o.s.expect(t, "counts")
		}
		resumed := a.openStream(t, tokens[contacts[0]], "1")
		if e := resumed.expect(t, "notification"); e.seq(t) != 2 || itemOf(t, e).Title != "old 2" {
			t.Fatalf("resumed stream replayed %+v", e)
		}
		resumed.expect(t, "counts")

		before := readTx(t, a)
		ids, seqs := notifyChunk(t, fs, contacts, "chunk")
		check := func(name string, s *stream, id string, seq int64, unread int) {
			t.Helper()
			e := s.expect(t, "notification")
			if it := itemOf(t, e); it.ID != id || e.seq(t) != seq || it.Title != "chunk" {
				t.Fatalf("%s got %s at %s, want %s at %d", name, it.ID, e.id, id, seq)
			}
			c := s.expect(t, "counts")
			if n := countsOf(t, c); n.Unread != unread || c.seq(t) != seq {
				t.Fatalf("%s counts %+v at %s", name, n, c.id)
			}
		}
		for i, o := range streams {
			unread := 1
			if i == 0 {
				unread = 3
			}
			check(fmt.Sprintf("stream %d", i), o.s, ids[i], seqs[i], unread)
		}
		check("resumed stream", resumed, ids[0], seqs[0], 3)
		after := readTx(t, a)
		// One read for the chunk (a poll might add one); per stream it
		// was two (the log, then the counts): 38 here.
		if n := after - before; n > 3 {
			t.Fatalf("%d read transactions for one chunk to %d streams", n, len(streams)+1)
		}
		for _, o := range append(streams, open{s: resumed}) {
			o.s.quiet(t, 0)
		}
		resumed.quiet(t, 200*time.Millisecond)
	})
}

// rawStream is a stream read through a connection whose receive buffer
// is small and that the test reads only when told: a slow client.
type rawStream struct {
	conn net.Conn
	rd   *bufio.Reader
}

func openRawStream(t *testing.T, base, token string) *rawStream {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /v1/feed/stream?token=%s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n", token)
	return &rawStream{conn: conn, rd: bufio.NewReaderSize(conn, 1<<16)}
}

// next reads the next event (skipping the response head, chunk sizes and
// comments, which start differently).
func (r *rawStream) next(t *testing.T) event {
	t.Helper()
	_ = r.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var e event
	for {
		line, err := r.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("slow stream: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			e.name = line[len("event: "):]
		case strings.HasPrefix(line, "id: "):
			e.id = line[len("id: "):]
		case strings.HasPrefix(line, "data: "):
			e.data = line[len("data: "):]
		case line == "" && e.name != "":
			return e
		}
	}
}

// TestStreamSlowClient: a client that stops reading while its contact
// gets megabytes of notifications holds up no other stream, and when it
// reads again it gets every one of them, in order, once, then the
// counts.
func TestStreamSlowClient(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a := newFx(t, env, "clinic-a")
		slowID, fastID := a.contact(t, "slow"), a.contact(t, "fast")
		slow := openRawStream(t, a.url, a.token(t, "slow"))
		if e := slow.next(t); e.name != "counts" {
			t.Fatalf("slow stream began with %+v", e)
		}
		fast := a.openStream(t, a.token(t, "fast"), "")
		fast.expect(t, "counts")

		// 8 MiB for the slow client: more than the socket buffers hold.
		big := strings.Repeat("x", 128<<10)
		const n = 64
		var want []string
		for i := range n {
			id, _ := a.notify(t, slowID, fmt.Sprintf("%03d %s", i, big))
			want = append(want, id)
		}
		for i := range 3 {
			id, _ := a.notify(t, fastID, fmt.Sprint("fast ", i))
			if it := itemOf(t, fast.expect(t, "notification")); it.ID != id {
				t.Fatalf("fast stream got %s, want %s", it.ID, id)
			}
			fast.expect(t, "counts")
		}

		var last int64
		for i := 0; i < n; {
			e := slow.next(t)
			switch e.name {
			case "counts":
				continue
			case "notification":
			default:
				t.Fatalf("slow stream: %s", e.name)
			}
			it := itemOf(t, e)
			if it.ID != want[i] || e.seq(t) != last+1 {
				t.Fatalf("slow stream event %d: %s at %s after %d, want %s", i, it.ID, e.id, last, want[i])
			}
			last = e.seq(t)
			i++
		}
		for {
			e := slow.next(t)
			if e.name != "counts" {
				t.Fatalf("slow stream: %s after the last notification", e.name)
			}
			if e.seq(t) == n {
				if c := countsOf(t, e); c.Unread != n {
					t.Fatalf("slow stream counts %+v", c)
				}
				break
			}
		}
	})
}

// TestStreamLongResume: a stream resuming from far back gets every entry
// in order (more than one read's worth), then the counts; and while it
// is open, a chunk of more entries for its contact than one dispatcher
// read returns arrives whole, in order, then the counts.
func TestStreamLongResume(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a := newFx(t, env, "clinic-a")
		alice := a.contact(t, "alice")
		many := func(n int) []string {
			fs, cs := make([]*fx, n), make([]string, n)
			for i := range n {
				fs[i], cs[i] = a, alice
			}
			ids, _ := notifyChunk(t, fs, cs, "many")
			return ids
		}
		expectAll := func(s *stream, ids []string, from int64) {
			t.Helper()
			seq := from
			for i := 0; i < len(ids); {
				e := s.next(t)
				if e.name == "counts" {
					continue
				}
				if it := itemOf(t, e); e.name != "notification" || it.ID != ids[i] || e.seq(t) != seq+1 {
					t.Fatalf("event %d: %s %s at %s, want %s at %d", i, e.name, it.ID, e.id, ids[i], seq+1)
				}
				seq++
				i++
			}
			e := s.expect(t, "counts")
			if c := countsOf(t, e); e.seq(t) != seq || c.Unread != int(seq) {
				t.Fatalf("counts %+v at %s, want %d", c, e.id, seq)
			}
			s.quiet(t, 100*time.Millisecond)
		}
		first := many(450)
		s := a.openStream(t, a.token(t, "alice"), "0")
		expectAll(s, first, 0)
		expectAll(s, many(250), 450)
	})
}
