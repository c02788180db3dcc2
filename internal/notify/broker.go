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
		var changes []FeedChange
		for line := range strings.SplitSeq(n.Payload, "\n") {
			parts := strings.Fields(line)
			if len(parts) == 3 {
				seq, _ := strconv.ParseInt(parts[2], 10, 64) // 0 (read anyway) if not a number
				changes = append(changes, FeedChange{TenantID: parts[0], ContactID: parts[1], Seq: seq})
			}
		}
		b.hub.changed(changes)
	}
}
