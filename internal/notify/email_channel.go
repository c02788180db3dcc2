package notify

import (
	"context"
	"encoding/json"
	"errors"

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
		Data: m.Data, Category: m.Category, Tags: []string{"notification"}})
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
type emailChannel struct{ send EmailSender }

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
	// The key is the event's and the contact's: a fan-out retried after a
	// crash finds the email it stored (the delivery's id is new on a retry).
	id, err := c.send.SendTx(ctx, in.Tx, in.Actor, in.TenantID, EmailMessage{Template: cfg.Template, From: cfg.From, Contact: in.Contact.ExternalID,
		Data: in.Data, Category: cat, IdempotencyKey: "notify:" + in.Event.ID + ":" + in.Contact.ID})
	var ce *core.Error
	if errors.As(err, &ce) {
		return Outcome{Status: StatusFailed, Detail: store.SafeText(ce.Message)}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Status: StatusQueued, Target: id}, nil
}
