package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"golang.org/x/text/language"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// recipient is one recipient as stored with its event: an external id,
// and for an inline recipient the fields to create or update it with.
type recipient struct {
	ID     string  `json:"id"`
	Inline bool    `json:"inline,omitempty"`
	Email  *string `json:"email,omitempty"`
	Name   *string `json:"name,omitempty"`
	Locale *string `json:"locale,omitempty"`
}

// EventInput is an event as the API gives it.
type EventInput struct {
	Type       string
	Recipients []json.RawMessage
	Data       json.RawMessage
	Actor      string
}

const maxActor = 255

// checkRecipients parses the recipients: each a contact's external id or
// an object {"id","email","name","locale"}; a malformed one is named by
// its index.
func checkRecipients(in []json.RawMessage) ([]recipient, error) {
	switch {
	case len(in) == 0:
		return nil, invalidf("recipients", "recipients_required", "give 1 to %d recipients", MaxRecipients)
	case len(in) > MaxRecipients:
		return nil, invalidf("recipients", "too_many_recipients", "%d recipients; at most %d per event", len(in), MaxRecipients)
	}
	out := make([]recipient, len(in))
	for i, raw := range in {
		f := fmt.Sprintf("recipients[%d]", i)
		raw = bytes.TrimSpace(raw)
		var r recipient
		switch {
		case len(raw) > 0 && raw[0] == '"':
			if err := json.Unmarshal(raw, &r.ID); err != nil {
				return nil, invalidf(f, "invalid_recipient", "not a JSON string: %v", err)
			}
		case len(raw) > 0 && raw[0] == '{':
			var w wire.NotifyRecipient
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&w); err != nil {
				return nil, invalidf(f, "invalid_recipient", "give a contact id or {\"id\", \"email\", \"name\", \"locale\"}: %v", err)
			}
			r = recipient{ID: w.ID, Inline: true, Email: w.Email, Name: w.Name, Locale: w.Locale}
			if r.Email != nil && *r.Email != "" {
				a, err := mail.ParseAddress(*r.Email)
				if err != nil || a.Address != *r.Email {
					return nil, invalidf(f+".email", "invalid_email", "%q is not a plain address such as ann@example.com", *r.Email)
				}
			}
			if r.Name != nil && utf8.RuneCountInString(*r.Name) > 200 {
				return nil, invalidf(f+".name", "invalid_name", "%d characters; at most 200", utf8.RuneCountInString(*r.Name))
			}
			if r.Locale != nil && *r.Locale != "" {
				if _, err := language.Parse(*r.Locale); err != nil {
					return nil, invalidf(f+".locale", "invalid_locale", "%q is not a BCP 47 tag such as en, fr-CA or pt-BR", *r.Locale)
				}
			}
		default:
			return nil, invalidf(f, "invalid_recipient", "give a contact id (a string) or an object {\"id\", \"email\", \"name\", \"locale\"}")
		}
		if err := core.ValidateExternalID(r.ID); err != nil {
			return nil, invalidf(f+".id", "invalid_contact_id", "%s", err.Error())
		}
		out[i] = r
	}
	return out, nil
}

// checkData checks the event's data: a JSON object (empty when left out).
func checkData(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), nil
	}
	var m map[string]any
	if raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil, invalidf("data", "invalid_data", "data must be a JSON object")
	}
	return raw, nil
}

// FanoutArgs is the job fanning one event out.
type FanoutArgs struct {
	TenantID string `json:"tenant_id"`
	EventID  string `json:"event_id"`
}

// Kind names the job.
func (FanoutArgs) Kind() string { return "notify_fanout" }

// Post validates an event whole, then stores it and its fan-out job in
// one transaction. key is the request's Idempotency-Key (or ""), kept with
// the event as long as it is: the same key answers the same event. An
// unknown type is 422 unknown_type.
func (s *Service) Post(ctx context.Context, a auth.Actor, tenantID, key string, in EventInput) (Event, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermJobsWrite); err != nil {
		return Event{}, err
	}
	if err := checkTypeName("type", in.Type); err != nil {
		return Event{}, err
	}
	rs, err := checkRecipients(in.Recipients)
	if err != nil {
		return Event{}, err
	}
	data, err := checkData(in.Data)
	if err != nil {
		return Event{}, err
	}
	if utf8.RuneCountInString(in.Actor) > maxActor {
		return Event{}, invalidf("actor", "invalid_actor", "at most %d characters", maxActor)
	}
	now := s.now()
	e := Event{ID: store.NewID("nev_"), TenantID: tenantID, Type: in.Type, Data: data, Actor: in.Actor, Recipients: jsonOf(rs),
		RecipientCount: len(rs), Status: EventPending, IdempotencyKey: key, CorrelationID: a.CorrelationID, CreatedAt: now}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		if key != "" {
			prev, err := eventGetByKey(ctx, sc, key)
			if err == nil {
				e = prev
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if _, err := typeFind(ctx, sc, in.Type); errors.Is(err, store.ErrNotFound) {
			return &core.Error{Kind: core.ErrInvalid, Code: "unknown_type", Field: "type",
				Message: "type: notification type " + quote(in.Type) + " not found (neither the tenant's nor the instance's); create it with PUT /v1/notification-types/{type}"}
		} else if err != nil {
			return err
		}
		jobID, err := s.jobs.EnqueueTx(ctx, tx, tenantID, FanoutArgs{TenantID: tenantID, EventID: e.ID}, &river.InsertOpts{MaxAttempts: 25}, e.CorrelationID)
		if err != nil {
			return err
		}
		e.JobID = jobID
		if err := eventInsert(ctx, sc, e); err != nil {
			return err
		}
		return s.core.Audit(ctx, tx, a, tenantID, "notify_event.create", "notify_event", e.ID, map[string]any{"type": e.Type, "recipients": e.RecipientCount})
	})
	e.Recipients = nil
	return e, err
}

// EventDetail is an event with its skipped recipients.
type EventDetail struct {
	Event
	Skips []wire.NotifyEventSkip
}

// EventGet returns an event with its counts and skipped recipients.
func (s *Service) EventGet(ctx context.Context, a auth.Actor, tenantID, id string) (EventDetail, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return EventDetail{}, err
	}
	var d EventDetail
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		var err error
		if d.Event, err = eventGet(ctx, sc, id, false); err != nil {
			return err
		}
		d.Skips, err = eventSkips(ctx, sc, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return d, core.NotFound("event %s not found", quote(id))
	}
	return d, err
}

// EventList lists the tenant's events, newest first; typ narrows to a type.
func (s *Service) EventList(ctx context.Context, a auth.Actor, tenantID string, p store.Page, typ string) ([]Event, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	var out []Event
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = eventList(ctx, tx.Tenant(tenantID), p, typ)
		return err
	})
	return out, next, err
}

// EventNotifications lists an event's notifications with each channel's
// delivery, by id.
func (s *Service) EventNotifications(ctx context.Context, a auth.Actor, tenantID, id string, p store.Page) ([]Notification, string, error) {
	if err := s.core.TenantAccess(a, tenantID, auth.PermRead); err != nil {
		return nil, "", err
	}
	var out []Notification
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(tenantID)
		if _, err := eventGet(ctx, sc, id, false); err != nil {
			return err
		}
		var err error
		out, next, err = notificationsOfEvent(ctx, sc, id, p)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", core.NotFound("event %s not found", quote(id))
	}
	return out, next, err
}
