package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// The streams of a node are fed by one dispatcher (the hub). When
// contacts' feeds change (a fan-out chunk, a state change, or another
// node's NOTIFY), the hub notes the contacts that have open streams here,
// and its goroutine reads for all of them at once: in one read
// transaction per dispatchKeys contacts, the feed log entries after the
// lowest sequence any of their streams has, and the counts of those with
// entries (one grouped query). Each stream is handed the batch of its
// contact (several streams of a contact share it, each sending what is
// after its own sequence) and writes it on its own goroutine, so a slow
// client holds up nobody.
//
// A stream reads the log itself (the per-stream catch-up) when the
// dispatcher cannot vouch for what it has: while it connects (until its
// catch-up from Last-Event-ID is done), when it has maxWaiting batches
// not yet written (a slow client: what waits for it is bounded, and the
// log keeps the rest), when its contact has more than replayBatch new
// entries, and after a failed dispatcher read.
//
// The hub also beats every stream's heartbeat and polls every contact
// with open streams (the safety net for a lost wake-up) on two tickers of
// its own, rather than two per stream.

// dispatchKeys bounds the contacts of one dispatcher read (the keys are
// one array argument; this bounds the read, not a statement's text).
const dispatchKeys = 500

// maxWaiting is how many batches a stream may have waiting to be written
// before it must read the log itself.
const maxWaiting = 4

// dispatchTimeout bounds one dispatcher read.
const dispatchTimeout = 30 * time.Second

// hub holds this node's open streams by contact, and feeds them.
type hub struct {
	read      func(context.Context, []feedKey) (map[string]*feedRead, error)
	log       *slog.Logger
	heartbeat time.Duration
	poll      time.Duration
	done      <-chan struct{}
	startOnce sync.Once

	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{} // by hubKey
	// pending are the contacts to read for at the next dispatch, with the
	// highest sequence announced for each (0: unknown, read anyway).
	pending map[string]pendingKey
	signal  chan struct{} // wakes the dispatcher (buffered, 1)
}

type pendingKey struct {
	tenantID, contactID string
	seq                 int64
}

func newHub(read func(context.Context, []feedKey) (map[string]*feedRead, error), log *slog.Logger, heartbeat, poll time.Duration, done <-chan struct{}) *hub {
	return &hub{read: read, log: log, heartbeat: heartbeat, poll: poll, done: done,
		subs: map[string]map[*subscriber]struct{}{}, pending: map[string]pendingKey{}, signal: make(chan struct{}, 1)}
}

func hubKey(tenantID, contactID string) string { return tenantID + "\n" + contactID }

// subscriber is one open stream. The dispatcher hands it batches (never
// blocking) and wakes it; the stream takes them on its own goroutine.
type subscriber struct {
	key, tenantID, contactID string
	wake                     chan struct{} // buffered, 1

	mu sync.Mutex
	// covered is the last sequence the stream has sent or has waiting in
	// batches; meaningless while reading.
	covered int64
	batches []*feedBatch
	// reading: the stream is reading the log itself (from its connect
	// until its first catch-up is done, and while it catches up after
	// dirty); the dispatcher then sets dirty rather than hand it a batch.
	reading bool
	dirty   bool // the stream must read the log itself
	beat    bool // the stream owes a heartbeat
}

// feedBatch is what one dispatcher read found for a contact, shared by
// its streams: the entries in order, each event encoded once.
type feedBatch struct {
	entries []batchEntry
	last    int64  // the last entry's sequence
	counts  []byte // the counts event, id last (nil when the read was full: more follow)
}

type batchEntry struct {
	seq   int64
	event []byte // nil: the notification is no longer in the feed
}

func (h *hub) subscribe(tenantID, contactID string) *subscriber {
	h.startOnce.Do(func() { go h.run() })
	s := &subscriber{key: hubKey(tenantID, contactID), tenantID: tenantID, contactID: contactID, wake: make(chan struct{}, 1), reading: true}
	h.mu.Lock()
	m := h.subs[s.key]
	if m == nil {
		m = map[*subscriber]struct{}{}
		h.subs[s.key] = m
	}
	m[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	if m := h.subs[s.key]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(h.subs, s.key)
		}
	}
	h.mu.Unlock()
}

// changed notes that the feeds of changes' contacts changed (up to each
// change's sequence), for those with open streams on this node, and wakes
// the dispatcher.
func (h *hub) changed(changes []FeedChange) {
	h.mu.Lock()
	n := 0
	for _, c := range changes {
		k := hubKey(c.TenantID, c.ContactID)
		if h.subs[k] == nil {
			continue
		}
		h.note(k, c.TenantID, c.ContactID, c.Seq)
		n++
	}
	h.mu.Unlock()
	if n > 0 {
		h.kick()
	}
}

// note adds a contact to pending (h.mu held).
func (h *hub) note(key, tenantID, contactID string, seq int64) {
	if p, ok := h.pending[key]; ok && (p.seq == 0 || seq == 0) {
		seq = 0
	} else if ok {
		seq = max(seq, p.seq)
	}
	h.pending[key] = pendingKey{tenantID: tenantID, contactID: contactID, seq: seq}
}

func (h *hub) kick() {
	select {
	case h.signal <- struct{}{}:
	default: // already signalled: the dispatcher takes everything pending
	}
}

// wakeAll reads for every contact with open streams (after the listener
// reconnected, a notification may have been missed meanwhile; and on
// each poll).
func (h *hub) wakeAll() {
	h.mu.Lock()
	for k, m := range h.subs {
		for s := range m {
			h.note(k, s.tenantID, s.contactID, 0)
			break
		}
	}
	h.mu.Unlock()
	h.kick()
}

// count is the number of open streams on this node.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.subs {
		n += len(m)
	}
	return n
}

// run is the dispatcher, with the heartbeat and the poll of every stream
// of the node, until the feed stops.
func (h *hub) run() {
	heartbeat := time.NewTicker(h.heartbeat)
	defer heartbeat.Stop()
	poll := time.NewTicker(h.poll)
	defer poll.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-heartbeat.C:
			h.beat()
		case <-poll.C:
			h.wakeAll()
		case <-h.signal:
			h.dispatch()
		}
	}
}

func (h *hub) beat() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.subs {
		for s := range m {
			s.mu.Lock()
			s.beat = true
			s.mu.Unlock()
			s.signal()
		}
	}
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default: // already woken: it takes everything when it runs
	}
}

// dispatchKey is one contact of a dispatch: its streams the read is for.
type dispatchKey struct {
	feedKey
	key  string
	subs []*subscriber
}

// dispatch reads for everything pending, dispatchKeys contacts at a time.
func (h *hub) dispatch() {
	h.mu.Lock()
	pending := h.pending
	h.pending = map[string]pendingKey{}
	var work []dispatchKey
	for k, p := range pending {
		d := dispatchKey{feedKey: feedKey{TenantID: p.tenantID, ContactID: p.contactID, After: -1}, key: k}
		for s := range h.subs[k] {
			s.mu.Lock()
			switch {
			case s.reading || s.dirty:
				s.dirty = true // it reads itself (again): nothing to vouch for
				s.mu.Unlock()
				s.signal()
				continue
			case p.seq != 0 && s.covered >= p.seq:
				// It has it already (this node's own NOTIFY, coming back).
			default:
				d.subs = append(d.subs, s)
				if d.After < 0 || s.covered < d.After {
					d.After = s.covered
				}
			}
			s.mu.Unlock()
		}
		if len(d.subs) > 0 {
			work = append(work, d)
		}
	}
	h.mu.Unlock()
	for len(work) > 0 {
		n := min(len(work), dispatchKeys)
		h.dispatchChunk(work[:n])
		work = work[n:]
	}
}

func (h *hub) dispatchChunk(work []dispatchKey) {
	keys := make([]feedKey, len(work))
	for i, d := range work {
		keys[i] = d.feedKey
	}
	ctx, cancel := context.WithTimeout(context.Background(), dispatchTimeout)
	start := time.Now()
	found, err := h.read(ctx, keys)
	cancel()
	h.log.Debug("feed: read for streams", "contacts", len(keys), "found", len(found), "took", time.Since(start))
	if err != nil {
		// Each stream reads itself, and ends if that fails too.
		h.log.Warn("feed: read for streams", "err", err, "contacts", len(keys))
		for _, d := range work {
			for _, s := range d.subs {
				s.setDirty()
			}
		}
		return
	}
	for _, d := range work {
		r := found[d.key]
		if r == nil {
			continue // nothing new
		}
		b, err := newFeedBatch(r)
		if err != nil {
			h.log.Warn("feed: encode events", "err", err)
			for _, s := range d.subs {
				s.setDirty()
			}
			continue
		}
		for _, s := range d.subs {
			s.hand(b, d.After, r.full)
		}
	}
}

func newFeedBatch(r *feedRead) (*feedBatch, error) {
	b := &feedBatch{entries: make([]batchEntry, len(r.entries))}
	for i, e := range r.entries {
		b.entries[i].seq = e.Seq
		b.last = e.Seq
		if e.Item == nil {
			continue // no longer in the feed: nothing to show, the counts follow
		}
		kind := "state"
		if e.Kind == FeedNew {
			kind = "notification"
		}
		ev, err := encodeEvent(kind, e.Seq, e.Item)
		if err != nil {
			return nil, err
		}
		b.entries[i].event = ev
	}
	if !r.full {
		c, err := encodeEvent("counts", b.last, r.counts)
		if err != nil {
			return nil, err
		}
		b.counts = c
	}
	return b, nil
}

// encodeEvent is one Server-Sent Event.
func encodeEvent(name string, id int64, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "event: %s\nid: %d\ndata: %s\n\n", name, id, b), nil
}

func (s *subscriber) setDirty() {
	s.mu.Lock()
	s.dirty = true
	s.mu.Unlock()
	s.signal()
}

// hand gives the stream b, read after from (at most the stream's
// covered sequence when the dispatch began; covered only grows).
func (s *subscriber) hand(b *feedBatch, from int64, full bool) {
	s.mu.Lock()
	switch {
	case s.reading || s.dirty:
		s.dirty = true // it started reading itself meanwhile
	case s.covered < from:
		s.dirty = true // cannot happen; never leave a gap
	case b.last <= s.covered:
		s.mu.Unlock()
		return // nothing it does not have
	case len(s.batches) >= maxWaiting:
		s.dirty = true // a slow client: the log keeps the rest
	default:
		s.batches = append(s.batches, b)
		s.covered = b.last
		if full {
			s.dirty = true // more than one batch's worth: it reads the rest
		}
	}
	s.mu.Unlock()
	s.signal()
}

// take is what the stream has to do since it was last woken: the batches
// to write, whether to read the log itself after them (it is then
// reading until done), whether to send a heartbeat.
func (s *subscriber) take() (batches []*feedBatch, read, beat bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	batches, s.batches = s.batches, nil
	read, s.dirty = s.dirty, false
	if read {
		s.reading = true
	}
	beat, s.beat = s.beat, false
	return batches, read, beat
}

// doneReading: the stream has read the log itself up to seq; the
// dispatcher may hand it batches after it again.
func (s *subscriber) doneReading(seq int64) {
	s.mu.Lock()
	s.reading = false
	s.covered = seq
	s.mu.Unlock()
}
