package notify

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// hub holds this node's open streams by contact, and wakes them.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{} // by tenant + "\n" + contact
}

// subscriber is one open stream: woken (never blocking) when its
// contact's feed may have changed.
type subscriber struct {
	key  string
	wake chan struct{}
}

func newHub() *hub { return &hub{subs: map[string]map[*subscriber]struct{}{}} }

func hubKey(tenantID, contactID string) string { return tenantID + "\n" + contactID }

func (h *hub) subscribe(tenantID, contactID string) *subscriber {
	s := &subscriber{key: hubKey(tenantID, contactID), wake: make(chan struct{}, 1)}
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

func (h *hub) wake(tenantID, contactID string) {
	h.mu.Lock()
	for s := range h.subs[hubKey(tenantID, contactID)] {
		select {
		case s.wake <- struct{}{}:
		default: // already woken; it reads everything new when it runs
		}
	}
	h.mu.Unlock()
}

// wakeAll wakes every stream (after the listener reconnected: a
// notification may have been missed meanwhile).
func (h *hub) wakeAll() {
	h.mu.Lock()
	for _, m := range h.subs {
		for s := range m {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
	h.mu.Unlock()
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

// feedChannel is the PostgreSQL channel feed changes are announced on.
// Its payload is lines of "tenant contact seq"; a node only wakes its
// streams with it (they read feed_log), so a payload from another schema
// sharing the database wakes a stream for nothing, never shows it anything.
const feedChannel = "joist_feed"

// maxPayload keeps each NOTIFY under PostgreSQL's 8000-byte limit.
const maxPayload = 7000

// pgBroker announces feed changes to the other nodes with NOTIFY and
// listens for theirs on a connection of its own, reconnecting when it
// fails.
type pgBroker struct {
	pool *pgxpool.Pool
	hub  *hub
	log  *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	// listening is closed once the first LISTEN is in place (tests wait
	// on it before writing on another node).
	listening chan struct{}
	lOnce     sync.Once
	pid       atomic.Uint32 // the listening connection's backend
}

func newPGBroker(pool *pgxpool.Pool, h *hub, log *slog.Logger) *pgBroker {
	return &pgBroker{pool: pool, hub: h, log: log, listening: make(chan struct{})}
}

func (b *pgBroker) notify(ctx context.Context, changes []FeedChange) error {
	var sb strings.Builder
	flush := func() error {
		if sb.Len() == 0 {
			return nil
		}
		_, err := b.pool.Exec(ctx, "SELECT pg_notify($1, $2)", feedChannel, sb.String())
		sb.Reset()
		return err
	}
	for _, c := range changes {
		line := c.TenantID + " " + c.ContactID + " " + strconv.FormatInt(c.Seq, 10) + "\n"
		if sb.Len()+len(line) > maxPayload {
			if err := flush(); err != nil {
				return err
			}
		}
		sb.WriteString(line)
	}
	return flush()
}

func (b *pgBroker) start(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cancel != nil {
		return
	}
	ctx, b.cancel = context.WithCancel(ctx)
	b.done = make(chan struct{})
	go b.run(ctx)
}

func (b *pgBroker) stop() {
	b.mu.Lock()
	cancel, done := b.cancel, b.done
	b.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// run listens until ctx ends, reconnecting with a growing pause (up to
// 5s) after a failure; every reconnection wakes all local streams, since
// a notification may have been missed meanwhile.
func (b *pgBroker) run(ctx context.Context) {
	defer close(b.done)
	pause := 100 * time.Millisecond
	for first := true; ctx.Err() == nil; first = false {
		err := b.listen(ctx, !first)
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("feed: LISTEN connection lost; reconnecting", "err", err, "in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(pause*2, 5*time.Second)
	}
}

func (b *pgBroker) listen(ctx context.Context, again bool) error {
	c, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection is taken out of the pool: a connection that listens
	// is never handed to a transaction.
	conn := c.Hijack()
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing a connection we are done with
	if _, err := conn.Exec(ctx, "LISTEN "+feedChannel); err != nil {
		return err
	}
	b.pid.Store(conn.PgConn().PID())
	b.lOnce.Do(func() { close(b.listening) })
	if again {
		b.hub.wakeAll()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		for line := range strings.SplitSeq(n.Payload, "\n") {
			parts := strings.Fields(line)
			if len(parts) == 3 {
				b.hub.wake(parts[0], parts[1])
			}
		}
	}
}
