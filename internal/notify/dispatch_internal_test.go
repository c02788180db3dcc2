package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/wire"
)

// fakeLog is a feed log for the hub's read, by hubKey: entries 1..n of
// each contact.
type fakeLog struct {
	last  map[string]int64
	reads [][]feedKey
	err   error
}

func (l *fakeLog) read(_ context.Context, keys []feedKey) (map[string]*feedRead, error) {
	l.reads = append(l.reads, keys)
	if l.err != nil {
		return nil, l.err
	}
	out := map[string]*feedRead{}
	for _, k := range keys {
		key := hubKey(k.TenantID, k.ContactID)
		var r feedRead
		for s := k.After + 1; s <= l.last[key] && len(r.entries) < replayBatch; s++ {
			r.entries = append(r.entries, logEntry{Seq: s, Kind: FeedNew, Item: &wire.FeedItem{ID: fmt.Sprintf("%s/%d", k.ContactID, s), Seq: s}})
		}
		if len(r.entries) > 0 {
			r.full = len(r.entries) >= replayBatch
			r.counts = wire.FeedCounts{Unread: int(l.last[key])}
			out[key] = &r
		}
	}
	return out, nil
}

// testHub is a hub on l whose dispatcher the test runs by hand.
func testHub(l *fakeLog) *hub {
	h := newHub(l.read, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour, time.Hour, make(chan struct{}))
	h.startOnce.Do(func() {}) // no goroutine: the test calls dispatch
	return h
}

// live subscribes a stream that has read up to seq itself.
func live(h *hub, tenantID, contactID string, seq int64) *subscriber {
	s := h.subscribe(tenantID, contactID)
	s.doneReading(seq)
	return s
}

// seqsOf are the sequences of what s was handed after seq, in order.
func seqsOf(t *testing.T, s *subscriber, after int64) []int64 {
	t.Helper()
	bs, read, _ := s.take()
	if read {
		t.Fatal("the stream was told to read the log itself")
	}
	var out []int64
	for _, b := range bs {
		for _, e := range b.entries {
			if e.seq > after {
				out = append(out, e.seq)
				after = e.seq
			}
		}
	}
	return out
}

// TestDispatchOneReadForAChunk: one chunk of changes for many contacts
// is one read, for exactly the contacts with open streams, from the
// lowest sequence of each contact's streams; each stream is handed its
// own contact's entries only (a contact of the same id in another tenant
// included), and two streams of one contact each get what is after their
// own sequence.
func TestDispatchOneReadForAChunk(t *testing.T) {
	l := &fakeLog{last: map[string]int64{}}
	h := testHub(l)
	var changes []FeedChange
	subs := map[string]*subscriber{}
	for _, tenant := range []string{"ten_a", "ten_b"} {
		for i := range 300 {
			c := fmt.Sprintf("con_%03d", i)
			l.last[hubKey(tenant, c)] = 5
			changes = append(changes, FeedChange{TenantID: tenant, ContactID: c, Seq: 5})
			if i%3 == 0 {
				continue // no stream on this node
			}
			subs[tenant+"/"+c] = live(h, tenant, c, 4)
		}
	}
	behind := live(h, "ten_a", "con_001", 2) // a second stream of con_001, further behind
	h.changed(changes)
	h.dispatch()
	if len(l.reads) != 1 {
		t.Fatalf("%d reads for one chunk, want 1", len(l.reads))
	}
	if n := len(l.reads[0]); n != 400 {
		t.Fatalf("read %d contacts, want the 400 with streams", n)
	}
	for _, k := range l.reads[0] {
		want := int64(4)
		if k.TenantID == "ten_a" && k.ContactID == "con_001" {
			want = 2
		}
		if k.After != want {
			t.Fatalf("read %+v, want after %d", k, want)
		}
	}
	for name, s := range subs {
		bs, _, _ := s.take()
		if len(bs) != 1 {
			t.Fatalf("%s: %d batches", name, len(bs))
		}
		var got []string
		for _, e := range bs[0].entries {
			if e.seq > 4 {
				got = append(got, string(e.event))
			}
		}
		if len(got) != 1 || !containsAll(got[0], "event: notification\nid: 5\n", fmt.Sprintf(`"id":"%s/5"`, s.contactID)) {
			t.Fatalf("%s got %q", name, got)
		}
		if string(bs[0].counts) != "event: counts\nid: 5\ndata: {\"unread\":5,\"unseen\":0}\n\n" {
			t.Fatalf("%s counts %q", name, bs[0].counts)
		}
		s.mu.Lock()
		covered := s.covered
		s.mu.Unlock()
		if covered != 5 {
			t.Fatalf("%s covered %d", name, covered)
		}
	}
	if got := seqsOf(t, behind, 2); fmt.Sprint(got) != "[3 4 5]" {
		t.Fatalf("the stream behind got %v", got)
	}

	// The same changes again (this node's own NOTIFY coming back): the
	// streams have them, nothing is read.
	h.changed(changes)
	h.dispatch()
	if len(l.reads) != 1 {
		t.Fatalf("%d reads after a repeated announcement", len(l.reads))
	}
	// A contact with no stream here is never read for.
	h.changed([]FeedChange{{TenantID: "ten_a", ContactID: "con_000", Seq: 6}})
	h.dispatch()
	if len(l.reads) != 1 {
		t.Fatal("read for a contact without streams")
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// TestDispatchSlowStream: a stream that does not take its batches holds
// at most maxWaiting of them; past that it is told to read the log
// itself (from what it has sent), and until it has, it is handed nothing
// more, while a stream of another contact keeps getting its batches.
func TestDispatchSlowStream(t *testing.T) {
	l := &fakeLog{last: map[string]int64{}}
	h := testHub(l)
	slow := live(h, "ten_a", "slow", 0)
	fast := live(h, "ten_a", "fast", 0)
	for seq := int64(1); seq <= maxWaiting+3; seq++ {
		l.last[hubKey("ten_a", "slow")], l.last[hubKey("ten_a", "fast")] = seq, seq
		h.changed([]FeedChange{{TenantID: "ten_a", ContactID: "slow", Seq: seq}, {TenantID: "ten_a", ContactID: "fast", Seq: seq}})
		h.dispatch()
		if got := seqsOf(t, fast, seq-1); fmt.Sprint(got) != fmt.Sprint([]int64{seq}) {
			t.Fatalf("fast stream at %d got %v", seq, got)
		}
	}
	slow.mu.Lock()
	waiting, dirty := len(slow.batches), slow.dirty
	slow.mu.Unlock()
	if waiting != maxWaiting || !dirty {
		t.Fatalf("slow stream: %d batches waiting (dirty %v), want %d and told to read", waiting, dirty, maxWaiting)
	}
	bs, read, _ := slow.take()
	if !read || len(bs) != maxWaiting || bs[0].last != 1 || bs[maxWaiting-1].last != maxWaiting {
		t.Fatalf("take: %d batches, read %v", len(bs), read)
	}
	// While it reads itself, it is handed nothing, only told to read again.
	l.last[hubKey("ten_a", "slow")]++
	h.changed([]FeedChange{{TenantID: "ten_a", ContactID: "slow", Seq: l.last[hubKey("ten_a", "slow")]}})
	h.dispatch()
	slow.doneReading(l.last[hubKey("ten_a", "slow")] - 1)
	if bs, read, _ := slow.take(); len(bs) != 0 || !read {
		t.Fatalf("while reading: %d batches, read again %v", len(bs), read)
	}
	slow.doneReading(l.last[hubKey("ten_a", "slow")])
	// Caught up: batches again.
	l.last[hubKey("ten_a", "slow")]++
	h.changed([]FeedChange{{TenantID: "ten_a", ContactID: "slow", Seq: l.last[hubKey("ten_a", "slow")]}})
	h.dispatch()
	if got := seqsOf(t, slow, l.last[hubKey("ten_a", "slow")]-1); len(got) != 1 {
		t.Fatalf("after catching up got %v", got)
	}
}

// TestDispatchFullReadAndErrors: a contact with more new entries than one
// read returns gets the batch and is told to read the rest itself; a
// failed read tells every stream of it to read itself; a stream still
// connecting (reading) is told to read again rather than handed a batch.
func TestDispatchFullReadAndErrors(t *testing.T) {
	l := &fakeLog{last: map[string]int64{hubKey("t", "many"): replayBatch + 10, hubKey("t", "new"): 1}}
	h := testHub(l)
	many := live(h, "t", "many", 0)
	connecting := h.subscribe("t", "new")
	h.changed([]FeedChange{{TenantID: "t", ContactID: "many"}, {TenantID: "t", ContactID: "new", Seq: 1}})
	h.dispatch()
	bs, read, _ := many.take()
	if len(bs) != 1 || len(bs[0].entries) != replayBatch || bs[0].counts != nil || !read {
		t.Fatalf("full read: %d batches, read itself %v", len(bs), read)
	}
	if bs, read, _ := connecting.take(); len(bs) != 0 || !read {
		t.Fatalf("connecting stream: %d batches, read again %v", len(bs), read)
	}
	for _, k := range l.reads[0] {
		if k.ContactID == "new" {
			t.Fatal("read for a stream still connecting")
		}
	}
	many.doneReading(replayBatch + 10)
	l.err = errors.New("database gone")
	l.last[hubKey("t", "many")]++
	h.changed([]FeedChange{{TenantID: "t", ContactID: "many", Seq: l.last[hubKey("t", "many")]}})
	h.dispatch()
	if bs, read, _ := many.take(); len(bs) != 0 || !read {
		t.Fatalf("after a failed read: %d batches, read itself %v", len(bs), read)
	}
}

// TestDispatchHeartbeatAndPoll: the hub's heartbeat marks every stream,
// and its poll reads for every contact with streams.
func TestDispatchHeartbeatAndPoll(t *testing.T) {
	l := &fakeLog{last: map[string]int64{}}
	h := testHub(l)
	var subs []*subscriber
	for i := range 5 {
		subs = append(subs, live(h, "t", fmt.Sprint(i), 0))
	}
	subs = append(subs, live(h, "t", "0", 0))
	h.beat()
	for _, s := range subs {
		if _, _, beat := s.take(); !beat {
			t.Fatal("no heartbeat")
		}
	}
	h.wakeAll()
	h.dispatch()
	if len(l.reads) != 1 || len(l.reads[0]) != 5 {
		t.Fatalf("poll reads %v", l.reads)
	}
	keys := make([]string, 0, 5)
	for _, k := range l.reads[0] {
		keys = append(keys, k.ContactID)
	}
	sort.Strings(keys)
	if fmt.Sprint(keys) != "[0 1 2 3 4]" {
		t.Fatalf("poll read %v", keys)
	}
}
