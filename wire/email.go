package wire

import (
	"encoding/json"
	"errors"
	"time"
)

// DomainCheck is the domain doctor's report on a sending domain's DNS:
// GET /v1/domains/{domain}/check answers it, and 'joist domain check
// --json' prints the same shape.
type DomainCheck struct {
	// Domain is the domain checked (lower case, without a final dot).
	Domain string `json:"domain"`
	// Checks are the results in a stable order: spf, dkim, dmarc, mx,
	// mta_sts, tls_rpt; a check may have several entries.
	Checks []DomainCheckItem `json:"checks"`
}

// DomainCheckItem is one result of the domain doctor.
type DomainCheckItem struct {
	// Check is what was checked: spf, dkim, dmarc, mx, mta_sts or tls_rpt.
	Check string `json:"check"`
	// Status is pass, warn, fail or info. Only fail makes the domain unfit
	// to send from; warn hurts deliverability or hides problems; info is
	// for the operator's knowledge.
	Status string `json:"status"`
	// Message says what was found, naming the DNS record.
	Message string `json:"message"`
	// Fix says what to publish instead (record type, name and value), or
	// is empty when there is nothing to change.
	Fix string `json:"fix"`
}

// Domain check statuses.
const (
	CheckPass = "pass"
	CheckWarn = "warn"
	CheckFail = "fail"
	CheckInfo = "info"
)

// Addresses is one address or a list of them: the JSON may be a string
// ("ana@example.com") or an array of strings. It is always written as an array.
type Addresses []string

// UnmarshalJSON accepts a string or an array of strings.
func (a *Addresses) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Addresses{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be an address or a list of addresses")
	}
	*a = many
	return nil
}

// EmailAttachment is a file sent with an email. Content is base64; an
// attachment with a ContentID is inline (an image the HTML shows as
// "cid:ContentID").
type EmailAttachment struct {
	Filename    string `json:"filename"`
	Content     string `json:"content"`
	ContentType string `json:"content_type,omitempty"`
	ContentID   string `json:"content_id,omitempty"`
}

// EmailSend is the body of POST /v1/emails: a message with subject and
// html and/or text, or a template with its data, to addresses or to a
// contact.
type EmailSend struct {
	To      Addresses `json:"to,omitempty"`
	Cc      Addresses `json:"cc,omitempty"`
	Bcc     Addresses `json:"bcc,omitempty"`
	From    string    `json:"from"`
	ReplyTo Addresses `json:"reply_to,omitempty"`
	// Contact is a contact's external id: its address is the recipient when
	// To is empty, and the email is on its timeline.
	Contact string `json:"contact,omitempty"`
	Subject string `json:"subject,omitempty"`
	HTML    string `json:"html,omitempty"`
	Text    string `json:"text,omitempty"`
	// Template names a template (the tenant's, else the instance's)
	// rendered at once instead of Subject, HTML and Text.
	Template string `json:"template,omitempty"`
	// Data is the JSON object the template sees as {{.data}}.
	Data json.RawMessage `json:"data,omitempty"`
	// Locale is the BCP 47 tag to render the template in; empty uses the
	// contact's locale, else the template's default.
	Locale      string            `json:"locale,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Attachments []EmailAttachment `json:"attachments,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Metadata    json.RawMessage   `json:"metadata,omitempty"`
	// SendAt delays the send until then.
	SendAt *time.Time `json:"send_at,omitempty"`
	// Category is "transactional" (default) or "marketing".
	Category string `json:"category,omitempty"`
}

// EmailBatch is the body of POST /v1/emails/batch: up to 100 emails,
// accepted or refused together.
type EmailBatch struct {
	Emails []EmailSend `json:"emails"`
}

// EmailAttachmentInfo describes a stored attachment (its content is not
// returned).
type EmailAttachmentInfo struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	ContentID   string `json:"content_id,omitempty"`
	Size        int    `json:"size"`
}

// EmailEvent is one thing that happened to an email: queued, deferred (a
// transient failure, retried), sent, captured (the outbox), failed.
type EmailEvent struct {
	Type      string    `json:"type"`
	Detail    string    `json:"detail"`
	CreatedAt time.Time `json:"created_at"`
}

// Email is an email in API responses. Lists leave out html, text and events.
type Email struct {
	ID      string   `json:"id"`
	Status  string   `json:"status"`
	From    string   `json:"from"`
	To      []string `json:"to"`
	Cc      []string `json:"cc"`
	Bcc     []string `json:"bcc"`
	ReplyTo []string `json:"reply_to"`
	Contact string   `json:"contact"`
	Subject string   `json:"subject"`
	// Template is the template a template send rendered, Locale the
	// variant it rendered (after fallback); both empty otherwise.
	Template      string                `json:"template"`
	Locale        string                `json:"locale"`
	HTML          string                `json:"html,omitempty"`
	Text          string                `json:"text,omitempty"`
	Headers       map[string]string     `json:"headers"`
	Attachments   []EmailAttachmentInfo `json:"attachments"`
	Tags          []string              `json:"tags"`
	Metadata      json.RawMessage       `json:"metadata"`
	Category      string                `json:"category"`
	MessageID     string                `json:"message_id"`
	Provider      string                `json:"provider"`
	ProviderID    string                `json:"provider_id"`
	Error         string                `json:"error"`
	JobID         string                `json:"job_id"`
	CorrelationID string                `json:"correlation_id"`
	SendAt        *time.Time            `json:"send_at"`
	SentAt        *time.Time            `json:"sent_at"`
	CreatedAt     time.Time             `json:"created_at"`
	UpdatedAt     time.Time             `json:"updated_at"`
	Events        []EmailEvent          `json:"events,omitempty"`
}

// EmailBatchResult answers POST /v1/emails/batch: one email per email
// sent, in order.
type EmailBatchResult struct {
	Data []Email `json:"data"`
}
