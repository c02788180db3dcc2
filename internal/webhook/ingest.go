package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/webhook/verify"
)

// unknownSource answers a delivery to a tenant or source that does not
// exist (not found; nothing is logged per source, so floods cannot grow
// storage).
func unknownSource(tenantRef, name string) error {
	return &core.Error{Kind: core.ErrNotFound, Code: "unknown_source", Message: "no webhook source " + quote(name) + " for tenant " + quote(tenantRef)}
}

// rejected is a delivery refused by verification (kept in the source's
// log): malformed (invalid), or not authentic (unauthorized).
func rejected(verr error) *core.Error {
	e := &core.Error{Kind: core.ErrUnauthorized, Code: verify.CodeBadSignature, Message: verr.Error()}
	var ve *verify.Error
	if errors.As(verr, &ve) {
		e.Code = ve.Code
		if ve.Malformed() {
			e.Kind = core.ErrInvalid
		}
	}
	return e
}

// quote quotes a name from the request's path for a message, shortened.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return "'" + s + "'"
}

// IngestResult is the answer to a delivery.
type IngestResult struct {
	EventID   string
	Duplicate bool
	// Challenge, when set, is the exact body to answer (Slack url_verification).
	Challenge            []byte
	ChallengeContentType string
}

// loadedSource is a source ready to verify with: its decrypted secrets.
type loadedSource struct {
	tenant store.Tenant
	source SourceRecord
	cfg    sourceConfig
	vc     verify.Config
	until  time.Time
}

// sourceCacheTTL bounds how long a node verifies with a source it read
// earlier (a change on this node clears it at once).
const sourceCacheTTL = time.Second

// cachedSource is one (tenant, source) of the cache. ready is closed once
// ls and err are set; until then every lookup of the key waits for the one
// read in progress, so an expiry under load costs one read and one
// decryption, not one per waiting delivery.
type cachedSource struct {
	ready chan struct{}
	ls    loadedSource
	err   error
}

// lookup finds a source and decrypts its secrets, cached for sourceCacheTTL
// so a burst of deliveries does not read and decrypt them for each one.
func (s *Service) lookup(ctx context.Context, tenantRef, name string) (loadedSource, error) {
	key := tenantRef + "/" + name
	now := s.core.Now()
	s.cacheMu.Lock()
	e, ok := s.cache[key]
	if ok {
		select {
		case <-e.ready:
			if e.err != nil || !now.Before(e.ls.until) {
				ok = false // expired, or failed: read again
			}
		default: // being read
		}
	}
	if ok {
		s.cacheMu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return loadedSource{}, ctx.Err()
		}
		return e.ls, e.err
	}
	e = &cachedSource{ready: make(chan struct{})}
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[key] = e
	s.cacheMu.Unlock()
	// A change on this node while this read runs clears the map, so the
	// result only reaches the lookups already waiting for it.
	e.ls, e.err = s.load(context.WithoutCancel(ctx), tenantRef, name, now)
	if e.err != nil {
		s.cacheMu.Lock()
		if s.cache[key] == e {
			delete(s.cache, key) // errors are not kept: the next lookup reads again
		}
		s.cacheMu.Unlock()
	}
	close(e.ready)
	return e.ls, e.err
}

// load reads a source and decrypts its secrets.
func (s *Service) load(ctx context.Context, tenantRef, name string, now time.Time) (loadedSource, error) {
	var ls loadedSource
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if ls.tenant, err = tx.TenantGet(ctx, tenantRef); err != nil {
			return err
		}
		ls.source, err = sourceGet(ctx, tx.Tenant(ls.tenant.ID), name)
		return err
	})
	if err != nil {
		return ls, err
	}
	if err := json.Unmarshal(ls.source.Config, &ls.cfg); err != nil {
		return ls, err
	}
	var secrets []verify.Secret
	for _, sec := range ls.cfg.Secrets {
		plain, err := s.box.Open(sec.Sealed)
		if err != nil {
			return ls, err
		}
		secrets = append(secrets, verify.Secret{Value: string(plain), ExpiresAt: sec.ExpiresAt})
	}
	if ls.vc, err = ls.cfg.verifyConfig(ls.source.Provider, secrets); err != nil {
		return ls, err
	}
	ls.until = now.Add(sourceCacheTTL)
	return ls, nil
}

// forget drops cached sources after a change on this node.
func (s *Service) forget() {
	s.cacheMu.Lock()
	clear(s.cache)
	s.cacheMu.Unlock()
}

// headers never stored nor forwarded.
var droppedHeaders = []string{"Authorization", "Cookie", "Connection", "Content-Length", "Host", "Transfer-Encoding", "Accept-Encoding", "Te", "Upgrade"}

// Ingest verifies, deduplicates and stores one delivery, and enqueues its
// forward and its provider's built-in handler's job in the same
// transaction. It returns only after the commit. A refusal is a
// *core.Error: not found (unknown_source) for an unknown tenant or source,
// invalid for a malformed delivery, unauthorized for one not authentic.
func (s *Service) Ingest(ctx context.Context, tenantRef, sourceName string, req verify.Request, remoteIP, correlationID string) (IngestResult, error) {
	ls, err := s.lookup(ctx, tenantRef, sourceName)
	if errors.Is(err, store.ErrNotFound) {
		s.received.WithLabelValues("unknown", "unknown_source").Inc()
		return IngestResult{}, unknownSource(tenantRef, sourceName)
	}
	if err != nil {
		return IngestResult{}, err
	}
	tn, src, cfg, vc := ls.tenant, ls.source, ls.cfg, ls.vc
	now := s.core.Now()
	res, verr := verify.Verify(vc, req, now)
	if verr != nil {
		rej := rejected(verr)
		s.received.WithLabelValues(src.Provider, rej.Code).Inc()
		s.reject(ctx, tn.ID, src.ID, rej.Code, rej.Message, req, remoteIP)
		return IngestResult{}, rej
	}
	if res.Challenge != nil {
		return IngestResult{Challenge: res.Challenge, ChallengeContentType: res.ChallengeContentType}, nil
	}
	if !store.ValidText(res.EventID) {
		// Authentic, but its id cannot be stored as it is, so it cannot be
		// deduplicated: refused, and kept in the log.
		rej := &core.Error{Kind: core.ErrInvalid, Code: "invalid_event_id", Message: "the delivery's event id " +
			quote(store.SafeText(res.EventID)) + " holds a NUL byte or is not valid UTF-8, so it cannot be deduplicated; the delivery was not stored"}
		s.received.WithLabelValues(src.Provider, rej.Code).Inc()
		s.reject(ctx, tn.ID, src.ID, rej.Code, rej.Message, req, remoteIP)
		return IngestResult{}, rej
	}
	// The rest of what the provider sent is stored as safe text; the body
	// stays bytes.
	res.EventType = store.SafeText(res.EventType)
	hdrs := keptHeaders(req.Header)
	hjson, _ := json.Marshal(hdrs)
	ev := Event{ID: store.NewID("evt_"), SourceID: src.ID, ProviderEventID: res.EventID, EventType: res.EventType,
		ContentType: store.SafeText(req.Header.Get("Content-Type")), Headers: hjson, Body: req.Body, CorrelationID: correlationID, ReceivedAt: now,
		Verification: fmt.Sprintf("%s signature verified with secret #%d", src.Provider, res.SecretIndex+1)}
	it := &ingestItem{ctx: ctx, ls: ls, ev: ev, hdrs: hdrs, correlationID: correlationID, forward: forwards(src, res.EventType)}
	if it.forward {
		// Built and checked here, in the request's goroutine, so the shared
		// write does as little as it can: the forward job's id is stored with
		// the event (no second update). Its destination is checked when the
		// job runs, not here: a delivery is never refused because of where
		// it is forwarded (a forward_url the egress rules now refuse makes
		// the forward job dead with dead_reason destination_refused).
		it.ev.ForwardJobID = store.NewID("job_")
		fwd := s.forwardInput(src, it.ev, hdrs)
		fwd.JobID = it.ev.ForwardJobID
		fwd.DeferDestinationCheck = true
		var err error
		if it.fwd, err = s.jobs.PreparePush(fwd); err != nil {
			return IngestResult{}, err
		}
	}
	if cfg.ContactPointer != "" {
		// A value that is not text names no contact (and is never looked up).
		if c := verify.Lookup(req, cfg.ContactPointer); store.ValidText(c) {
			it.contact = c
		}
	}
	out, err := s.submit(it)
	if err != nil {
		return IngestResult{}, err
	}
	result := "accepted"
	if out.Duplicate {
		result = "duplicate"
	}
	s.received.WithLabelValues(src.Provider, result).Inc()
	return out, nil
}

// store writes one delivery in its own Write (each delivery of a batch
// whose shared Write failed).
func (s *Service) store(ctx context.Context, it *ingestItem) (IngestResult, error) {
	var out IngestResult
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.storeTx(ctx, tx, it)
		return err
	})
	if err != nil {
		return IngestResult{}, err
	}
	return out, nil
}

// storeTx stores one delivery in tx: its event, timeline and billing, and
// its forward job.
func (s *Service) storeTx(ctx context.Context, tx *store.Tx, it *ingestItem) (IngestResult, error) {
	sc := tx.Tenant(it.ls.tenant.ID)
	stored, inserted, err := eventInsert(ctx, sc, it.ev)
	if err != nil {
		return IngestResult{}, err
	}
	out := IngestResult{EventID: stored.ID, Duplicate: !inserted}
	if !inserted {
		return out, nil
	}
	if err := s.afterInsert(ctx, tx, sc, it); err != nil {
		return IngestResult{}, err
	}
	if it.forward {
		if _, _, err := s.jobs.CreatePreparedTx(ctx, tx, it.ls.tenant.ID, it.fwd, it.correlationID); err != nil {
			return IngestResult{}, err
		}
	}
	return out, nil
}

// afterInsert puts a newly stored event on its contact's timeline and
// enqueues its provider's built-in handler's job (Stripe billing), in the
// ingest transaction.
func (s *Service) afterInsert(ctx context.Context, tx *store.Tx, sc *store.Scope, it *ingestItem) error {
	if it.ls.cfg.ContactPointer != "" {
		if err := s.timeline(ctx, sc, it.ls.source, it.ev, it.contact); err != nil {
			return err
		}
	}
	if h := s.opts.Handlers[it.ls.source.Provider]; h != nil && !it.ls.cfg.NoBilling {
		return h.EnqueueTx(ctx, tx, it.ls.tenant.ID, it.ls.source, it.ev)
	}
	return nil
}

// timeline puts an event on the timeline of the contact it names, if the
// tenant has that contact.
func (s *Service) timeline(ctx context.Context, sc *store.Scope, src SourceRecord, ev Event, externalID string) error {
	if externalID == "" {
		return nil
	}
	c, err := sc.ContactGet(ctx, externalID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	summary := src.Provider + " webhook received"
	if ev.EventType != "" {
		summary = src.Provider + " " + ev.EventType + " received"
	}
	return sc.TimelineAdd(ctx, store.TimelineEntry{ContactID: c.ID, Kind: "webhook.received", Summary: summary,
		RefType: "webhook_event", RefID: ev.ID, CorrelationID: ev.CorrelationID, CreatedAt: ev.ReceivedAt})
}

func forwards(src SourceRecord, eventType string) bool {
	return src.ForwardURL != "" && (len(src.ForwardTypes) == 0 || slices.Contains(src.ForwardTypes, eventType))
}

func keptHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		if slices.Contains(droppedHeaders, http.CanonicalHeaderKey(k)) {
			continue
		}
		out[http.CanonicalHeaderKey(k)] = strings.Join(v, ", ")
	}
	return out
}

// forwardInput is the HTTP-push job delivering an event to the app: the raw
// body with its Content-Type, every header the provider sent prefixed
// Joist-Provider- (a Standard Webhooks provider's webhook-id becomes
// Joist-Provider-Webhook-Id, so it never clashes with joist's own), and
// joist's own; signed by the push worker with the tenant's secret,
// webhook-id = the event id (stable across replays). A header that cannot
// be sent in a request (its name or value is not legal HTTP) is left out;
// the stored event keeps it.
func (s *Service) forwardInput(src SourceRecord, ev Event, hdrs map[string]string) jobs.PushInput {
	h := map[string]string{}
	for k, v := range hdrs {
		if k == "Content-Type" || !jobs.ValidHeaderName(k) || !validHeaderValue(v) {
			continue
		}
		h["Joist-Provider-"+k] = v
	}
	h["Joist-Source"] = src.Name
	h["Joist-Event-Id"] = ev.ID
	h["Joist-Event-Type"] = ev.EventType
	h["Joist-Provider-Event-Id"] = ev.ProviderEventID
	// The body is the stored event's, read by the push worker at each
	// attempt through the EventBody hook: the job carries no copy of it.
	return jobs.PushInput{URL: src.ForwardURL, Method: "POST", Headers: h, BodySource: EventBodySource, BodyRef: ev.ID, ContentType: ev.ContentType,
		MaxAttempts: s.opts.ForwardMaxAttempts, WebhookID: ev.ID}
}

// validHeaderValue reports whether v can be sent as a header value: no
// control characters but tab.
func validHeaderValue(v string) bool {
	for i := range len(v) {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// reject keeps a refused delivery in the source's bounded log. It never
// fails the request's answer.
func (s *Service) reject(ctx context.Context, tenantID, sourceID, code, msg string, req verify.Request, ip string) {
	hjson, _ := json.Marshal(keptHeaders(req.Header))
	r := Rejection{ID: store.NewID("rej_"), SourceID: sourceID, Code: code, Detail: store.SafeText(msg), Headers: hjson,
		Size: len(req.Body), RemoteIP: ip, ReceivedAt: s.core.Now()}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		return rejectionAdd(ctx, tx.Tenant(tenantID), r, s.opts.RejectionsKept)
	})
	if err != nil {
		s.log.Warn("record rejected webhook", "source", sourceID, "err", err)
	}
}

// ListEvents lists a tenant's events.
func (s *Service) ListEvents(ctx context.Context, a auth.Actor, tenantID string, p store.Page, f EventFilter) ([]Event, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	for _, st := range f.Statuses {
		if !slices.Contains(EventStatuses, st) {
			return nil, "", core.Invalid("invalid_status", "status %q is not one of %s", st, strings.Join(EventStatuses, ", "))
		}
	}
	var out []Event
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = eventList(ctx, tx.Tenant(tenantID), p, f)
		return err
	})
	return out, next, err
}

// GetEvent returns one event with its raw body and headers.
func (s *Service) GetEvent(ctx context.Context, a auth.Actor, tenantID, id string) (Event, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return Event{}, err
	}
	var ev Event
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		ev, err = eventGet(ctx, tx.Tenant(tenantID), id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return ev, core.NotFound("event %q not found", id)
	}
	return ev, err
}

// Replay delivers an event to the source's forward URL again, as a new job
// with the same webhook-id (so the app can dedup). Audited.
func (s *Service) Replay(ctx context.Context, a auth.Actor, tenantID, id string) (Event, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return Event{}, err
	}
	var ev Event
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		var err error
		if ev, err = eventGet(ctx, sc, id); err != nil {
			return err
		}
		var src SourceRecord
		if src, err = sourceGet(ctx, sc, ev.SourceName); err != nil {
			return err
		}
		if src.ForwardURL == "" {
			return core.Invalid("no_forward_url", "source %q has no forward_url to replay to; set one with PUT /v1/webhook-sources/%s", src.Name, src.Name)
		}
		var hdrs map[string]string
		_ = json.Unmarshal(ev.Headers, &hdrs)
		job, _, err := s.jobs.CreateTx(ctx, tx, tenantID, s.forwardInput(src, ev, hdrs), a.CorrelationID)
		if err != nil {
			return err
		}
		if err := eventSetForwardJob(ctx, sc, ev.ID, job.ID); err != nil {
			return err
		}
		ev.ForwardJobID, ev.Status = job.ID, "pending"
		return s.core.Audit(ctx, tx, a, tenantID, "webhook_event.replay", "webhook_event", ev.ID, map[string]string{"job": job.ID})
	})
	if errors.Is(err, store.ErrNotFound) {
		return ev, core.NotFound("event %q not found", id)
	}
	return ev, err
}

// ReplayMany replays every event matching f (up to 1,000 per call).
func (s *Service) ReplayMany(ctx context.Context, a auth.Actor, tenantID string, f EventFilter) (int, error) {
	list, _, err := s.ListEvents(ctx, a, tenantID, store.Page{Limit: 1000}, f)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ev := range list {
		if _, err := s.Replay(ctx, a, tenantID, ev.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Rejections lists a source's rejected requests.
func (s *Service) Rejections(ctx context.Context, a auth.Actor, tenantID, name string) ([]Rejection, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, err
	}
	var out []Rejection
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		src, err := sourceGet(ctx, sc, name)
		if err != nil {
			return err
		}
		out, err = rejectionList(ctx, sc, src.ID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, core.NotFound("webhook source %q not found", name)
	}
	return out, err
}
