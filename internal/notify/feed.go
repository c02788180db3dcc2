package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/secretbox"
	"github.com/joist-dev/joist/internal/store"
)

// FeedOptions configure the in-app feed.
type FeedOptions struct {
	// Box seals the tenants' feed secrets at rest (JOIST_SECRET_KEY).
	Box *secretbox.Box
	// Heartbeat is how often a stream sends a comment to keep proxies
	// from closing it (default 15s).
	Heartbeat time.Duration
	// Poll is how often the node reads the feed log for its open streams
	// without being woken, for a change whose wake-up was lost between
	// commit and NOTIFY (default 5s).
	Poll time.Duration
	// RotationGrace is how long the previous feed secret keeps verifying
	// after a rotation (default 24h).
	RotationGrace time.Duration
	// Retention is how long the feed log keeps a change for streams that
	// resume with Last-Event-ID (default 7 days; the janitor deletes older
	// entries). The notifications themselves are not deleted.
	Retention time.Duration
	// Preferences serves GET|PUT /v1/feed/preferences (the notification
	// Service).
	Preferences FeedPreferences
}

// Feed is the end user's in-app feed: contact tokens and the feed
// secrets that sign them, the feed API, its Server-Sent Events stream
// and the broker that wakes streams on every node (LISTEN/NOTIFY on
// PostgreSQL, in process on SQLite), and the CORS settings of the
// browsers that call it. It implements FeedNotifier.
type Feed struct {
	core *core.Service
	db   *store.DB
	log  *slog.Logger
	now  func() time.Time
	opts FeedOptions

	hub    *hub
	broker *pgBroker // nil on SQLite

	secretMu    sync.Mutex
	secretCache map[string]cachedFeedSecret // by kid

	stopOnce sync.Once
	done     chan struct{} // closed by Stop: streams end
}

// NewFeed builds the feed on d; c checks access and writes audit
// entries. It starts nothing (Start listens for other nodes' changes).
func NewFeed(d core.Deps, c *core.Service, opts FeedOptions) *Feed {
	d = d.For("notify-feed")
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 5 * time.Second
	}
	if opts.RotationGrace <= 0 {
		opts.RotationGrace = 24 * time.Hour
	}
	if opts.Retention <= 0 {
		opts.Retention = 7 * 24 * time.Hour
	}
	f := &Feed{core: c, db: d.DB, log: d.Log, now: d.Now, opts: opts,
		secretCache: map[string]cachedFeedSecret{}, done: make(chan struct{})}
	f.hub = newHub(f.readFeeds, d.Log, opts.Heartbeat, opts.Poll, f.done)
	d.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "joist_feed_streams", Help: "Open notification feed streams (SSE) on this node."},
		func() float64 { return float64(f.hub.count()) }))
	if pool := d.DB.PgxPool(); pool != nil {
		f.broker = newPGBroker(pool, f.hub, d.Log)
	}
	return f
}

// Start listens for feed changes committed on other nodes (PostgreSQL);
// on SQLite there is one node and nothing to start.
func (f *Feed) Start(ctx context.Context) error {
	if f.broker != nil {
		f.broker.start(context.WithoutCancel(ctx))
	}
	return nil
}

// Stop ends every open stream and the listener. It is idempotent, and is
// also registered on the HTTP server's shutdown so that a graceful
// shutdown never waits on open streams.
func (f *Feed) Stop() {
	f.stopOnce.Do(func() {
		close(f.done)
		if f.broker != nil {
			f.broker.stop()
		}
	})
}

// FeedChanged wakes the streams of the changed contacts on every node:
// in process (the hub's dispatcher reads for all of them at once), and on
// PostgreSQL through NOTIFY to the other nodes. What streams send is read
// from the feed log, so a lost wake-up delays a change (until the hub's
// poll) but never loses it.
func (f *Feed) FeedChanged(ctx context.Context, changes []FeedChange) {
	if len(changes) == 0 {
		return
	}
	f.hub.changed(changes)
	if f.broker != nil {
		// Not cancelled with the request that made the change: it is committed.
		if err := f.broker.notify(context.WithoutCancel(ctx), changes); err != nil {
			f.log.Warn("feed: notify other nodes", "err", err, "changes", len(changes))
		}
	}
}

var _ FeedNotifier = (*Feed)(nil)

// feedLogPurgeBatch bounds the feed log entries one Maintain call deletes.
const feedLogPurgeBatch = 5000

// Maintain is the feed's maintenance, run every few minutes by the app's
// janitor: it deletes feed log entries older than Options.Retention, up to
// 5,000 a call. A stream resuming from an id older than that gets what
// the log still holds (the bell reads the feed itself when it connects).
func (f *Feed) Maintain(ctx context.Context) error {
	before := f.now().Add(-f.opts.Retention)
	return f.db.Write(ctx, func(tx *store.Tx) error {
		n, err := tx.Exec(ctx, `DELETE FROM feed_log WHERE (tenant_id, contact_id, seq) IN
			(SELECT tenant_id, contact_id, seq FROM feed_log WHERE created_at < ? ORDER BY created_at LIMIT ?)`, before, feedLogPurgeBatch)
		if n > 0 {
			f.log.Debug("purged feed log entries", "count", n)
		}
		if err != nil {
			return fmt.Errorf("purge feed log: %w", err)
		}
		return nil
	})
}
