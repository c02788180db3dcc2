package notify

import (
	"context"
	"log/slog"
	"time"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// Channel names.
const (
	ChannelInApp = "in_app"
	ChannelEmail = "email"
	ChannelPush  = "push"
)

// Channels lists every channel, in the order deliveries are made.
var Channels = []string{ChannelInApp, ChannelEmail, ChannelPush}

// Delivery statuses.
const (
	StatusQueued    = "queued"
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusSkipped   = "skipped"
	StatusFailed    = "failed"
)

// Skip reasons of a delivery or a recipient.
const (
	ReasonMuted         = "muted"          // the contact's preferences turned the channel off
	ReasonNoAddress     = "no_address"     // email: the contact has no address
	ReasonSuppressed    = "suppressed"     // email: the address is suppressed
	ReasonNotConfigured = "not_configured" // no sender of the channel is configured
	ReasonUnknown       = "unknown_contact"
	ReasonDuplicate     = "duplicate_recipient"
)

// MaxRecipients is the most recipients one event names.
const MaxRecipients = 10000

// DefaultChunk is how many recipients the fan-out handles per transaction.
const DefaultChunk = 500

// Options configure the notification system.
type Options struct {
	// Email sends the email channel's messages (nil: the email channel's
	// deliveries are skipped, not_configured).
	Email EmailSender
	// EmailFrom is the sender of a type's emails when the type names none
	// (JOIST_NOTIFY_EMAIL_FROM; "": such deliveries fail, saying so).
	EmailFrom string
	// Push is the push channel (nil: push deliveries are skipped,
	// not_configured).
	Push Channel
	// Feed learns of committed feed changes (nil: none is told).
	Feed FeedNotifier
	// PublicURL is joist's public URL, the base of preference links.
	PublicURL string
	// PrefsKey signs preference links (a key derived from
	// JOIST_SECRET_KEY, distinct from the unsubscribe links'); with
	// PublicURL empty or no key, emails carry no preference link and the
	// page answers 404.
	PrefsKey []byte
	// Chunk is how many recipients one fan-out transaction handles
	// (default DefaultChunk).
	Chunk int
}

// Service stores notification types, events and preferences and fans
// events out to notifications and their deliveries.
type Service struct {
	core *core.Service
	jobs *jobs.Service
	db   *store.DB
	log  *slog.Logger
	now  func() time.Time
	opts Options
	// channels are the delivery channels other than in_app, by name.
	channels map[string]Channel
}

// New builds the notification system on d and registers its fan-out
// worker (call it before the job engine starts). c checks access and
// writes audit entries; js enqueues the fan-out jobs.
func New(d core.Deps, c *core.Service, js *jobs.Service, opts Options) *Service {
	d = d.For("notify")
	if opts.Chunk <= 0 {
		opts.Chunk = DefaultChunk
	}
	s := &Service{core: c, jobs: js, db: d.DB, log: d.Log, now: d.Now, opts: opts, channels: map[string]Channel{}}
	if opts.Email != nil {
		s.channels[ChannelEmail] = &emailChannel{send: opts.Email, from: opts.EmailFrom, prefsURL: s.PreferencesURL}
	}
	if opts.Push != nil {
		s.channels[ChannelPush] = opts.Push
	}
	jobs.AddWorker(js.Engine(), &fanoutWorker{svc: s})
	jobs.AddWorker(js.Engine(), &digestWorker{svc: s})
	return s
}

// feedChanged tells the feed of committed changes (nil-safe).
func (s *Service) feedChanged(ctx context.Context, changes []FeedChange) {
	if s.opts.Feed != nil && len(changes) > 0 {
		s.opts.Feed.FeedChanged(ctx, changes)
	}
}
