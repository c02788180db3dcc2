package email

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Resend sends through Resend's HTTP API (POST {base}/emails), over the
// client it is given (the guarded client of operator destinations, in
// joist). Each request carries an Idempotency-Key made of the email's id,
// so a retry after "accepted but the answer was lost" is not sent twice
// (Resend keeps a key for 24 hours).
type Resend struct {
	base string
	key  string
	hc   *http.Client
	now  func() time.Time
}

// NewResend is the Resend provider: apiKey is JOIST_RESEND_API_KEY, base
// JOIST_RESEND_API_BASE ("" is https://api.resend.com).
func NewResend(apiKey, base string, hc *http.Client) *Resend {
	if base == "" {
		base = "https://api.resend.com"
	}
	return &Resend{base: strings.TrimRight(base, "/"), key: apiKey, hc: hc, now: time.Now}
}

// Name is "resend".
func (r *Resend) Name() string { return "resend" }

// DefaultRate is Resend's default limit per account: 2 requests a second.
func (r *Resend) DefaultRate() int { return 2 }

type resendAttachment struct {
	Filename    string `json:"filename"`
	Content     string `json:"content"`
	ContentType string `json:"content_type,omitempty"`
	ContentID   string `json:"content_id,omitempty"`
}

type resendTag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type resendEmail struct {
	From        string             `json:"from"`
	To          []string           `json:"to"`
	Cc          []string           `json:"cc,omitempty"`
	Bcc         []string           `json:"bcc,omitempty"`
	ReplyTo     []string           `json:"reply_to,omitempty"`
	Subject     string             `json:"subject"`
	HTML        string             `json:"html,omitempty"`
	Text        string             `json:"text,omitempty"`
	Headers     map[string]string  `json:"headers,omitempty"`
	Attachments []resendAttachment `json:"attachments,omitempty"`
	Tags        []resendTag        `json:"tags,omitempty"`
}

// ResendIdempotencyKey is the Idempotency-Key joist sends for an email:
// its id, the same on every attempt.
func ResendIdempotencyKey(e Email) string { return "joist/" + e.ID }

// Send POSTs the email. The answer's id is the provider id. A 429 (its
// Retry-After the least delay before the next attempt), 408, 409 (the same
// key still in flight), 5xx or a transport error is transient; 401 and 403
// too (a key or domain the operator fixes at Resend; the email then goes).
// Any other 4xx (422 validation_error, 400) is permanent.
func (r *Resend) Send(ctx context.Context, m *Message) (Result, error) {
	e := m.Email
	body := resendEmail{From: e.From, To: e.To, Cc: e.Cc, Bcc: e.Bcc, ReplyTo: e.ReplyTo, Subject: e.Subject, HTML: e.HTML, Text: e.Text}
	if h := customHeaders(m.Raw); len(h) > 0 {
		body.Headers = map[string]string{}
		for _, kv := range h {
			body.Headers[kv[0]] = kv[1]
		}
	}
	for _, a := range e.Attachments {
		body.Attachments = append(body.Attachments, resendAttachment{Filename: a.Filename,
			Content: base64.StdEncoding.EncodeToString(a.Content), ContentType: a.ContentType, ContentID: a.ContentID})
	}
	body.Tags = append(body.Tags, resendTag{Name: "category", Value: tagValue(e.Category)})
	for _, t := range e.Tags {
		body.Tags = append(body.Tags, resendTag{Name: "tag_" + tagValue(t), Value: "1"})
	}
	ans, err := postJSON(ctx, r.hc, r.base+"/emails", map[string]string{
		"Authorization":   "Bearer " + r.key,
		"Idempotency-Key": ResendIdempotencyKey(e),
	}, body, r.now())
	if err != nil {
		return Result{}, err
	}
	if ans.status == http.StatusOK || ans.status == http.StatusCreated {
		var ok struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(ans.body, &ok) != nil || ok.ID == "" {
			// Accepted, but no id: sending again could duplicate it.
			return Result{Status: StatusSent, Reply: "resend: accepted without an id"}, nil
		}
		return Result{Status: StatusSent, ProviderID: ok.ID, Reply: "resend: accepted as " + ok.ID}, nil
	}
	var fail struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(ans.body, &fail)
	detail := ""
	if fail.Name != "" || fail.Message != "" {
		detail = strings.TrimSpace(fail.Name + ": " + fail.Message)
	}
	err = providerError("resend", ans, detail)
	permanent := !transientStatus(ans.status) && ans.status != http.StatusUnauthorized && ans.status != http.StatusForbidden
	return Result{}, &SendError{Permanent: permanent, Err: err, RetryAfter: ans.retryAfter}
}

// tagValue makes s fit Resend's tag names and values: ASCII letters,
// digits, _ and -, at most 256 characters.
func tagValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 250 {
		b = b[:250]
	}
	return string(b)
}
