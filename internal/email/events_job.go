package email

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/webhook"
)

// EventReader reads a tenant's stored webhook event: the webhook system's
// reader (webhook.StoredEvent), so that the email system never reads a
// webhook table.
type EventReader func(ctx context.Context, sc *store.Scope, id string) (webhook.Event, error)

// DeliveryProviders are the webhook providers whose sources feed delivery
// events: the email system is their built-in handler (app registers it).
var DeliveryProviders = []string{"resend", "postmark"}

// EventArgs is the built-in job applying one stored provider webhook event
// (Resend, Postmark) to the email it names.
type EventArgs struct {
	TenantID string `json:"tenant_id"` // the tenant of the event's source
	EventID  string `json:"event_id"`  // joist's evt_ id of the stored event
	Provider string `json:"provider"`  // resend or postmark
}

// Kind names the job.
func (EventArgs) Kind() string { return "email_event" }

// EnqueueTx enqueues the email_event job of a newly stored event of a
// Resend or Postmark source, inside the ingest transaction: the built-in
// handler of those providers (a webhook.Handler).
func (s *Service) EnqueueTx(ctx context.Context, tx *store.Tx, tenantID string, src webhook.SourceRecord, ev webhook.Event) error {
	_, err := s.jobs.EnqueueTx(ctx, tx, tenantID, EventArgs{TenantID: tenantID, EventID: ev.ID, Provider: src.Provider},
		&river.InsertOpts{MaxAttempts: 10}, ev.CorrelationID)
	return err
}

var _ webhook.Handler = (*Service)(nil)

type eventWorker struct {
	river.WorkerDefaults[EventArgs]
	svc *Service
}

func (w *eventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	return w.svc.ProcessEvent(ctx, job.Args.TenantID, job.Args.Provider, job.Args.EventID)
}

// ProcessEvent applies one stored webhook event of tenantID's source to
// the email it names by provider id: the email of that tenant or, for an
// instance source (the instance's provider account), of whichever tenant
// sent it. It appends the event, moves the email's status forward (never
// back), suppresses on a hard bounce or a complaint, and writes the
// contact's timeline with the webhook delivery's correlation id. It is
// safe to run twice (the email event's id is the webhook event's). An
// event that names no email, or is not one joist tracks, is logged and
// ignored: it stays stored with the webhook event and is not retried.
func (s *Service) ProcessEvent(ctx context.Context, tenantID, provider, eventID string) error {
	if s.opts.Events == nil {
		return errors.New("email: Options.Events is not set (webhook.StoredEvent)")
	}
	var ev webhook.Event
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		ev, err = s.opts.Events(ctx, tx.Tenant(tenantID), eventID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		s.log.Warn("delivery event is gone (purged, or its source was deleted)", "tenant", tenantID, "event", eventID)
		return nil
	}
	if err != nil {
		return err
	}
	body, _ := store.SafeJSON(ev.Body)
	d, err := parseDelivery(provider, body)
	if err != nil || d.Type == "" || d.ProviderID == "" {
		s.log.Info("webhook event is not a delivery event joist tracks; ignored", "tenant", tenantID, "event", eventID, "type", ev.EventType)
		return nil
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		e, found, err := s.emailByProviderID(ctx, tx, tenantID, d.ProviderID)
		if err != nil {
			return err
		}
		if !found {
			s.log.Info("delivery event names no email; ignored", "tenant", tenantID, "event", eventID, "provider_id", d.ProviderID)
			return nil
		}
		return s.applyDelivery(ctx, tx, e, d, ev)
	})
}

// emailByProviderID finds the email a provider's id names: among the
// tenant's emails or, for an instance source, among every tenant's.
func (s *Service) emailByProviderID(ctx context.Context, tx *store.Tx, tenantID, providerID string) (Email, bool, error) {
	sql, args := "SELECT "+emailCols+" FROM emails WHERE provider_id = ?", []any{providerID}
	if tenantID != store.InstanceTenantID {
		sql += " AND tenant_id = ?"
		args = append(args, tenantID)
	}
	e, err := scanEmail(tx.QueryRow(ctx, sql+" ORDER BY created_at DESC LIMIT 1", args...))
	if errors.Is(err, store.ErrNotFound) {
		return Email{}, false, nil
	}
	return e, err == nil, err
}

// applyDelivery records d on e in tx.
func (s *Service) applyDelivery(ctx context.Context, tx *store.Tx, e Email, d delivery, ev webhook.Event) error {
	now := s.now()
	sc := tx.Tenant(e.TenantID)
	q := scope{sc}
	detail := d.Detail
	if d.Type == StatusBounced {
		detail = d.Bounce + " bounce"
		if d.Recipient != "" {
			detail += " of " + d.Recipient
		}
		if d.Detail != "" {
			detail += ": " + d.Detail
		}
	} else if d.Recipient != "" && d.Type == StatusComplained {
		detail = d.Recipient + " marked it as spam"
	}
	detail = store.SafeText(detail)
	// The webhook event's id makes the email event's: a job run twice adds nothing.
	n, err := tx.Exec(ctx, `INSERT INTO email_events (id, email_id, tenant_id, type, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, "eme_"+ev.ID, e.ID, e.TenantID, d.Type, detail, now)
	if err != nil || n == 0 {
		return err
	}
	lower := lowerStatuses(d.Type)
	args := []any{d.Type, now, e.TenantID, e.ID}
	for _, st := range lower {
		args = append(args, st)
	}
	if len(lower) > 0 {
		if _, err := tx.Exec(ctx, "UPDATE emails SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND status IN (?"+
			strings.Repeat(", ?", len(lower)-1)+")", args...); err != nil {
			return err
		}
	}
	if err := s.suppressFrom(ctx, q, e, d, detail, now); err != nil {
		return err
	}
	if e.ContactID == "" {
		return nil
	}
	return sc.TimelineAdd(ctx, store.TimelineEntry{ContactID: e.ContactID, Kind: "email." + d.Type,
		Summary: fmt.Sprintf("Email %q %s", e.Subject, strings.ReplaceAll(d.Type, "_", " ")) + summaryDetail(detail),
		RefType: "email", RefID: e.ID, CorrelationID: ev.CorrelationID, CreatedAt: now})
}

func summaryDetail(d string) string {
	if d == "" {
		return ""
	}
	return ": " + d
}

// suppressFrom suppresses the addresses a hard bounce (both categories)
// or a complaint (the email's category) names: the event's recipient, or
// every recipient of the email when the provider names none.
func (s *Service) suppressFrom(ctx context.Context, q scope, e Email, d delivery, detail string, now time.Time) error {
	var cats []string
	source := SuppressionBounce
	switch {
	case d.Type == StatusBounced && d.Bounce == BounceHard:
		cats = Categories
	case d.Type == StatusComplained:
		cats, source = []string{e.Category}, SuppressionComplaint
	default:
		return nil
	}
	addrs := recipients(e)
	if d.Recipient != "" {
		addrs = []string{strings.ToLower(bareAddress(d.Recipient))}
	}
	for _, a := range addrs {
		for _, c := range cats {
			if err := q.suppressionUpsert(ctx, Suppression{Address: a, Category: c, Reason: detail, Source: source, EmailID: e.ID,
				CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
	}
	return nil
}
