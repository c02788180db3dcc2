package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/email"
	"github.com/joist-dev/joist/internal/store"
)

// EmailMessage is one notification email the email channel hands to the
// email system.
type EmailMessage struct {
	// Template names the email template, rendered with Data in the
	// contact's locale.
	Template string
	From     string
	// Contact is the recipient's external id (its address is the To).
	Contact  string
	Data     json.RawMessage
	Category string
	// IdempotencyKey makes a retried fan-out find the email it stored
	// instead of storing another.
	IdempotencyKey string
	// UnsubscribeScope names what the email's one-click unsubscribe mutes
	// (UnsubscribeScope(type)); "" for none (critical types).
	UnsubscribeScope string
	// PreferencesURL is the contact's preferences page, linked from the
	// email's footer ("" for none).
	PreferencesURL string
}

// EmailSender is what the email channel needs of the email system: to
// store an email with its send job in the fan-out's transaction, and to
// know whether an address is suppressed.
type EmailSender interface {
	// SendTx stores the email and its send job in tx and returns the
	// email's id. A *core.Error is bad input (a template the data does not
	// fit), returned before anything is written.
	SendTx(ctx context.Context, tx *store.Tx, a auth.Actor, tenantID string, m EmailMessage) (string, error)
	// SuppressedTx reports whether address is suppressed for category.
	SuppressedTx(ctx context.Context, tx *store.Tx, tenantID, address, category string) (bool, error)
}

// EmailService adapts the email system to EmailSender.
func EmailService(s *email.Service) EmailSender { return emailAdapter{s} }

type emailAdapter struct{ s *email.Service }

func (e emailAdapter) SendTx(ctx context.Context, tx *store.Tx, a auth.Actor, tenantID string, m EmailMessage) (string, error) {
	em, err := e.s.SendTx(ctx, tx, a, tenantID, m.IdempotencyKey, email.Input{From: m.From, Contact: m.Contact, Template: m.Template,
		Data: m.Data, Category: m.Category, Tags: []string{"notification"}, UnsubscribeScope: m.UnsubscribeScope,
		PreferencesURL: m.PreferencesURL})
	return em.ID, err
}

func (e emailAdapter) SuppressedTx(ctx context.Context, tx *store.Tx, tenantID, address, category string) (bool, error) {
	return e.s.SuppressedTx(ctx, tx, tenantID, address, category)
}

// emailChannel is the email channel. Every notification email is
// transactional mail to the email system (a critical type's, and a normal
// type's too: the contact's notification preferences, not the marketing
// opt-out, decide whether it is sent), so an address suppressed for
// transactional mail (a bounce, a complaint, an operator's suppression)
// skips the delivery, reason suppressed.
type emailChannel struct {
	send EmailSender
	from string // the default sender
	// prefsURL makes a contact's preferences link (nil or "": none).
	prefsURL func(tenantID, contactID string) string
}

func (emailChannel) Name() string { return ChannelEmail }

func (c *emailChannel) Plan(ctx context.Context, in PlanInput) (Outcome, error) {
	if in.Contact.Email == "" {
		return Skipped(ReasonNoAddress), nil
	}
	cat := email.CategoryTransactional
	sup, err := c.send.SuppressedTx(ctx, in.Tx, in.TenantID, in.Contact.Email, cat)
	if err != nil {
		return Outcome{}, err
	}
	if sup {
		return Outcome{Status: StatusSkipped, Reason: ReasonSuppressed, Detail: in.Contact.Email + " is suppressed for " + cat + " mail"}, nil
	}
	cfg := in.Type.Channels.Email
	from := cfg.From
	if from == "" {
		from = c.from
	}
	if from == "" {
		return Outcome{Status: StatusFailed, Detail: "the type's email channel names no sender (from) and JOIST_NOTIFY_EMAIL_FROM is not set"}, nil
	}
	// The key is the event's and the contact's (a digest's own): a fan-out
	// retried after a crash finds the email it stored (the delivery's id
	// is new on a retry).
	key := "notify:" + in.Event.ID + ":" + in.Contact.ID
	if in.Digest != nil {
		key = "notify:digest:" + in.Digest.ID
	}
	m := EmailMessage{Template: cfg.Template, From: from, Contact: in.Contact.ExternalID,
		Data: in.Data, Category: cat, IdempotencyKey: key, UnsubscribeScope: UnsubscribeScope(in.Type)}
	if c.prefsURL != nil {
		m.PreferencesURL = c.prefsURL(in.TenantID, in.Contact.ID)
	}
	id, err := c.send.SendTx(ctx, in.Tx, in.Actor, in.TenantID, m)
	var ce *core.Error
	if errors.As(err, &ce) {
		return Outcome{Status: StatusFailed, Detail: store.SafeText(ce.Message)}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Status: StatusQueued, Target: id}, nil
}

// Unsubscribe scopes of notification emails (the email system's
// List-Unsubscribe names them).
const (
	scopeType  = email.ScopeNotification + "type:"
	scopeGroup = email.ScopeNotification + "group:"
)

// UnsubscribeScope is what a one-click unsubscribe in an email of type t
// mutes: its group's email when it has a group, else its own; "" for a
// critical type, which cannot be muted.
func UnsubscribeScope(t Type) string {
	switch {
	case t.Critical:
		return ""
	case t.Group != "":
		return scopeGroup + t.Group
	}
	return scopeType + t.Name
}

// EmailUnsubscribe records a one-click unsubscribe from a notification
// email (the email system calls it for a verified link): every contact of
// the tenant with the link's address gets the email channel of the
// scope's type or group turned off in its preferences, with a timeline
// entry. A critical type's scope is never in a link; one that names a
// critical type now is recorded all the same and has no effect.
func (s *Service) EmailUnsubscribe(ctx context.Context, u email.Unsubscription) error {
	var kind, name string
	switch {
	case strings.HasPrefix(u.Scope, scopeType):
		kind, name = "types", strings.TrimPrefix(u.Scope, scopeType)
	case strings.HasPrefix(u.Scope, scopeGroup):
		kind, name = "groups", strings.TrimPrefix(u.Scope, scopeGroup)
	}
	if name == "" || checkTypeName("scope", name) != nil {
		return invalidf("path.token", "invalid_token", "this unsubscribe link names no notification type or group")
	}
	now := s.now()
	return s.db.Write(ctx, func(tx *store.Tx) error {
		sc := tx.Tenant(u.TenantID)
		rows, err := tx.Query(ctx, "SELECT id FROM contacts WHERE tenant_id = ? AND LOWER(email) = ?", u.TenantID, strings.ToLower(u.Address))
		ids, err := store.Collect(rows, err, func(r store.Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			o, err := prefsGet(ctx, sc, id)
			if err != nil {
				return err
			}
			o = normalizePrefs(o)
			m := o.Types
			if kind == "groups" {
				m = o.Groups
			}
			if m[name] == nil {
				m[name] = map[string]bool{}
			}
			m[name][ChannelEmail] = false
			if err := prefsPut(ctx, sc, id, o, now); err != nil {
				return err
			}
			if err := sc.TimelineAdd(ctx, store.TimelineEntry{ContactID: id, Kind: "notification.unsubscribed",
				Summary: "Unsubscribed from " + strings.TrimSuffix(kind, "s") + " " + quote(name) + " emails (one-click link)", RefType: "contact", RefID: id,
				CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
}
