package email

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The delivery statuses: what the provider's webhooks report after it
// accepted the email (sent), and suppressed (never attempted).
const (
	StatusDeliveryDelayed = "delivery_delayed" // the receiving server defers it; the provider retries
	StatusDelivered       = "delivered"        // the receiving server accepted it
	StatusBounced         = "bounced"          // refused (hard: for good; soft: the provider gave up)
	StatusComplained      = "complained"       // the recipient marked it as spam
	StatusSuppressed      = "suppressed"       // a recipient is suppressed: not attempted
)

// statusRank orders the statuses: an email's status only moves to a
// higher rank, so a late delivered after bounced changes nothing (the
// event is still recorded).
var statusRank = map[string]int{
	StatusQueued: 0, StatusSent: 1, StatusCaptured: 1, StatusDeliveryDelayed: 2, StatusDelivered: 3,
	StatusBounced: 4, StatusFailed: 4, StatusSuppressed: 4, StatusComplained: 5,
}

// lowerStatuses are the statuses an email may leave for to.
func lowerStatuses(to string) []string {
	var out []string
	for _, st := range Statuses {
		if statusRank[st] < statusRank[to] {
			out = append(out, st)
		}
	}
	return out
}

// Bounce kinds of a bounced event.
const (
	BounceHard = "hard" // the address does not exist or refuses for good: suppressed
	BounceSoft = "soft" // a full mailbox, a temporary refusal the provider gave up on
)

// delivery is one provider webhook event in joist's model.
type delivery struct {
	// ProviderID is the provider's id of the message (Resend's email_id,
	// Postmark's MessageID).
	ProviderID string
	// Type is sent, delivered, delivery_delayed, bounced, complained or
	// failed; "" for an event joist does not track (opened, clicked).
	Type string
	// Bounce is hard or soft, for bounced.
	Bounce string
	// Recipient is the address the event is about ("" for the whole email).
	Recipient string
	// Detail is the provider's explanation.
	Detail string
}

// resendEvent is a Resend webhook body: {"type": "email.bounced",
// "created_at": ..., "data": {"email_id", "to", "bounce": {"type",
// "subType", "message"}, ...}}.
type resendEvent struct {
	Type string `json:"type"`
	Data struct {
		EmailID string   `json:"email_id"`
		To      []string `json:"to"`
		Bounce  struct {
			Type    string `json:"type"` // Permanent, Transient, Undetermined
			SubType string `json:"subType"`
			Message string `json:"message"`
		} `json:"bounce"`
		Failed struct {
			Reason string `json:"reason"`
		} `json:"failed"`
	} `json:"data"`
}

// resendTypes maps Resend's event types to joist's; others (email.opened,
// email.clicked, contact.*, domain.*) are not tracked.
var resendTypes = map[string]string{
	"email.sent": StatusSent, "email.delivered": StatusDelivered, "email.delivery_delayed": StatusDeliveryDelayed,
	"email.bounced": StatusBounced, "email.complained": StatusComplained, "email.failed": StatusFailed,
}

// parseResend reads a Resend webhook body. A bounce is hard when Resend
// says Permanent; Transient and Undetermined are soft.
func parseResend(body []byte) (delivery, error) {
	var ev resendEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return delivery{}, fmt.Errorf("not a Resend event: %w", err)
	}
	d := delivery{ProviderID: ev.Data.EmailID, Type: resendTypes[ev.Type]}
	switch d.Type {
	case StatusBounced:
		d.Bounce = BounceSoft
		if strings.EqualFold(ev.Data.Bounce.Type, "Permanent") {
			d.Bounce = BounceHard
		}
		d.Detail = strings.TrimSpace(strings.Join([]string{ev.Data.Bounce.Type, ev.Data.Bounce.SubType}, " ") + ": " + ev.Data.Bounce.Message)
		if len(ev.Data.To) == 1 {
			d.Recipient = ev.Data.To[0]
		}
	case StatusComplained:
		if len(ev.Data.To) == 1 {
			d.Recipient = ev.Data.To[0]
		}
	case StatusFailed:
		d.Detail = ev.Data.Failed.Reason
	}
	return d, nil
}

// postmarkRecord is a Postmark webhook body: Delivery, Bounce and
// SpamComplaint records.
type postmarkRecord struct {
	RecordType  string `json:"RecordType"`
	Type        string `json:"Type"`
	TypeCode    int    `json:"TypeCode"`
	MessageID   string `json:"MessageID"`
	Email       string `json:"Email"`     // Bounce, SpamComplaint
	Recipient   string `json:"Recipient"` // Delivery
	Description string `json:"Description"`
	Details     string `json:"Details"`
}

// postmarkHard are Postmark's bounce types that mean the address will not
// take mail: HardBounce (1), BadEmailAddress (100000),
// ManuallyDeactivated (100002). Transient (2) is a delay; the other types
// (SoftBounce, DnsError, InboxFull, Blocked, ...) are soft bounces.
var postmarkHard = map[string]bool{"HardBounce": true, "BadEmailAddress": true, "ManuallyDeactivated": true}

// parsePostmark reads a Postmark webhook body.
func parsePostmark(body []byte) (delivery, error) {
	var r postmarkRecord
	if err := json.Unmarshal(body, &r); err != nil {
		return delivery{}, fmt.Errorf("not a Postmark record: %w", err)
	}
	d := delivery{ProviderID: r.MessageID}
	switch r.RecordType {
	case "Delivery":
		d.Type, d.Recipient, d.Detail = StatusDelivered, r.Recipient, r.Details
	case "SpamComplaint":
		d.Type, d.Recipient = StatusComplained, r.Email
	case "Bounce":
		d.Recipient, d.Detail = r.Email, strings.TrimSpace(r.Type+": "+r.Description)
		switch {
		case r.Type == "SpamComplaint":
			d.Type = StatusComplained
		case r.Type == "Transient":
			d.Type = StatusDeliveryDelayed
		case postmarkHard[r.Type]:
			d.Type, d.Bounce = StatusBounced, BounceHard
		default:
			d.Type, d.Bounce = StatusBounced, BounceSoft
		}
	}
	return d, nil
}

// parseDelivery reads a provider's webhook body.
func parseDelivery(provider string, body []byte) (delivery, error) {
	switch provider {
	case "resend":
		return parseResend(body)
	case "postmark":
		return parsePostmark(body)
	}
	return delivery{}, fmt.Errorf("provider %q has no delivery events", provider)
}
