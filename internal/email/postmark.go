package email

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Postmark sends through Postmark's HTTP API (POST {base}/email with the
// X-Postmark-Server-Token header), over the client it is given (the
// guarded client of operator destinations, in joist). Transactional mail
// goes to the "outbound" message stream, marketing mail to the
// "broadcast" stream (Postmark keeps the two apart for reputation).
type Postmark struct {
	base  string
	token string
	hc    *http.Client
	now   func() time.Time
}

// NewPostmark is the Postmark provider: token is
// JOIST_POSTMARK_SERVER_TOKEN, base JOIST_POSTMARK_API_BASE ("" is
// https://api.postmarkapp.com).
func NewPostmark(token, base string, hc *http.Client) *Postmark {
	if base == "" {
		base = "https://api.postmarkapp.com"
	}
	return &Postmark{base: strings.TrimRight(base, "/"), token: token, hc: hc, now: time.Now}
}

// Name is "postmark".
func (p *Postmark) Name() string { return "postmark" }

// DefaultRate is the requests a second joist sends Postmark by default.
func (p *Postmark) DefaultRate() int { return 10 }

// Message streams of Postmark's servers by default.
const (
	PostmarkTransactionalStream = "outbound"
	PostmarkBroadcastStream     = "broadcast"
)

type postmarkHeader struct {
	Name  string
	Value string
}

type postmarkAttachment struct {
	Name        string
	Content     string
	ContentType string
	ContentID   string `json:",omitempty"`
}

type postmarkEmail struct {
	From          string
	To            string
	Cc            string `json:",omitempty"`
	Bcc           string `json:",omitempty"`
	ReplyTo       string `json:",omitempty"`
	Subject       string
	HtmlBody      string               `json:",omitempty"`
	TextBody      string               `json:",omitempty"`
	Headers       []postmarkHeader     `json:",omitempty"`
	Attachments   []postmarkAttachment `json:",omitempty"`
	Tag           string               `json:",omitempty"`
	Metadata      map[string]string    `json:",omitempty"`
	MessageStream string
}

// postmarkTransient are Postmark's ErrorCodes worth retrying: 10 a bad or
// missing token (fixed by the operator), 100 maintenance, 405 not allowed
// to send (out of credits), 412 account pending, 413 account may not send,
// 429 rate limit. Every other code (300 invalid email request, 406
// inactive recipient, 400/401 sender signature ...) is permanent.
var postmarkTransient = map[int]bool{10: true, 100: true, 405: true, 412: true, 413: true, 429: true}

// Send POSTs the email. The answer's MessageID is the provider id. An HTTP
// 429 or 5xx, a transport error, or a transient ErrorCode is retried (a
// Retry-After the least delay); any other refusal is permanent.
func (p *Postmark) Send(ctx context.Context, m *Message) (Result, error) {
	e := m.Email
	body := postmarkEmail{From: e.From, To: strings.Join(e.To, ", "), Cc: strings.Join(e.Cc, ", "), Bcc: strings.Join(e.Bcc, ", "),
		ReplyTo: strings.Join(e.ReplyTo, ", "), Subject: e.Subject, HtmlBody: e.HTML, TextBody: e.Text,
		MessageStream: PostmarkTransactionalStream}
	if e.Category == CategoryMarketing {
		body.MessageStream = PostmarkBroadcastStream
	}
	for _, kv := range customHeaders(m.Raw) {
		body.Headers = append(body.Headers, postmarkHeader{Name: kv[0], Value: kv[1]})
	}
	for _, a := range e.Attachments {
		pa := postmarkAttachment{Name: a.Filename, Content: base64.StdEncoding.EncodeToString(a.Content), ContentType: a.ContentType}
		if pa.ContentType == "" {
			pa.ContentType = "application/octet-stream"
		}
		if a.ContentID != "" {
			pa.ContentID = "cid:" + a.ContentID
		}
		body.Attachments = append(body.Attachments, pa)
	}
	if len(e.Tags) > 0 {
		body.Tag = e.Tags[0] // Postmark takes one tag; the first is the email's main one
	}
	body.Metadata = postmarkMetadata(e)
	ans, err := postJSON(ctx, p.hc, p.base+"/email", map[string]string{"X-Postmark-Server-Token": p.token}, body, p.now())
	if err != nil {
		return Result{}, err
	}
	var out struct {
		MessageID string
		ErrorCode int
		Message   string
	}
	_ = json.Unmarshal(ans.body, &out)
	if ans.status == http.StatusOK && out.ErrorCode == 0 {
		return Result{Status: StatusSent, ProviderID: out.MessageID, Reply: "postmark: " + strings.TrimSpace("accepted as "+out.MessageID)}, nil
	}
	detail := ""
	if out.ErrorCode != 0 || out.Message != "" {
		detail = fmt.Sprintf("ErrorCode %d: %s", out.ErrorCode, out.Message)
	}
	err = providerError("postmark", ans, detail)
	transient := ans.status == http.StatusTooManyRequests || ans.status >= 500 || ans.status == http.StatusUnauthorized ||
		postmarkTransient[out.ErrorCode]
	return Result{}, &SendError{Permanent: !transient, Err: err, RetryAfter: ans.retryAfter}
}

// postmarkMetadata is the email's metadata as Postmark's flat string map
// (a value that is not a string is kept as its JSON), with joist's id of
// the email beside it, so that Postmark's webhooks name it.
func postmarkMetadata(e Email) map[string]string {
	md := map[string]string{"joist_email_id": e.ID}
	var obj map[string]json.RawMessage
	if json.Unmarshal(e.Metadata, &obj) != nil {
		return md
	}
	for k, v := range obj {
		var s string
		if json.Unmarshal(v, &s) == nil {
			md[k] = s
		} else {
			md[k] = string(v)
		}
	}
	return md
}
