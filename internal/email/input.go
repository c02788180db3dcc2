package email

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"net/textproto"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/email/render"
	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// Categories of email: transactional mail (password resets, receipts) and
// marketing mail are suppressed and unsubscribed apart.
const (
	CategoryTransactional = "transactional"
	CategoryMarketing     = "marketing"
)

// Limits of one email (besides the route's body limit, JOIST_EMAIL_MAX_BYTES).
const (
	maxRecipients  = 50
	maxHeaders     = 50
	maxAttachments = 20
	maxTags        = 20
	maxSubject     = 998 // RFC 5322's line limit
	maxMetadata    = 16 << 10
	maxSendAhead   = 30 * 24 * time.Hour
)

// Input is one email to send, as the API gives it.
type Input struct {
	To, Cc, Bcc, ReplyTo []string
	From                 string
	Contact              string // external id
	Subject, HTML, Text  string
	// Template, Data and Locale are a template send's, instead of
	// Subject, HTML and Text.
	Template    string
	Data        json.RawMessage
	Locale      string
	Headers     map[string]string
	Attachments []AttachmentInput
	Tags        []string
	Metadata    json.RawMessage
	SendAt      *time.Time
	Category    string
	// UnsubscribeScope, set by other systems (not the API), gives the
	// email one-click unsubscribe fields for that scope, whatever its
	// category: a notification's type or group ("notification:type:x",
	// "notification:group:y"), which Options.NotificationUnsubscribe
	// records.
	UnsubscribeScope string
	// PreferencesURL, set by other systems (not the API), gives the email
	// a footer linking to that page (a notification's preferences page),
	// in its HTML and text parts, whatever its template says.
	PreferencesURL string
}

// AttachmentInput is an attachment as the API gives it (Content in base64).
type AttachmentInput struct {
	Filename, Content, ContentType, ContentID string
}

// reservedHeaders are set by joist from the email's fields or by the
// sending path (signatures, trace); an email's headers may not set them.
var reservedHeaders = setOf("From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type",
	"Content-Transfer-Encoding", "Content-Disposition", "Content-Id", "Dkim-Signature", "Return-Path", "Received", "Sender",
	"Auto-Submitted", "List-Unsubscribe", "List-Unsubscribe-Post", "Authentication-Results", "Arc-Seal", "Arc-Message-Signature",
	"Arc-Authentication-Results", "Bounces-To", "Errors-To")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

var (
	tagRE       = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,64}$`)
	contentIDRE = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_{|}~.@-]{1,255}$`)
)

func invalidf(field, code, format string, args ...any) error {
	return &core.Error{Kind: core.ErrInvalid, Code: code, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// parseAddress checks one address ("Ana <ana@example.com>" or
// "ana@example.com") and returns it in canonical form.
func parseAddress(field, s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, invalidf(field, "header_injection", "an address may not contain a line break")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, invalidf(field, "invalid_address", "%q is not an email address (%v); give name@example.com or \"Name <name@example.com>\"", s, err)
	}
	if _, domain, _ := strings.Cut(a.Address, "@"); domain == "" || strings.HasPrefix(domain, "[") {
		return nil, invalidf(field, "invalid_address", "%q has no domain name", s)
	}
	return a, nil
}

// bareAddress is the addr-spec of a checked address ("ana@example.com").
func bareAddress(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return s
}

func addressList(field string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for i, s := range in {
		a, err := parseAddress(fmt.Sprintf("%s[%d]", field, i), s)
		if err != nil {
			return nil, err
		}
		out = append(out, canonical(a))
	}
	return out, nil
}

// canonical writes a checked address back: "ana@example.com", or
// "Ana <ana@example.com>" with the name quoted or encoded where needed.
func canonical(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.String()
}

// checked is an input validated whole, ready to store.
type checked struct {
	Email
	contactRef string
	// unsubscribeScope is Input.UnsubscribeScope.
	unsubscribeScope string
	// preferencesURL is Input.PreferencesURL.
	preferencesURL string
	// A template send's data, rendered in the send's transaction (the
	// template's name and requested locale are in Email).
	data map[string]any
}

// check validates an input whole; prefix names it in a batch ("emails[3].").
// It fills in defaults but reads nothing: the contact is resolved in the
// send's transaction.
func (s *Service) check(prefix string, in Input, now time.Time) (checked, error) {
	var c checked
	e := &c.Email
	var err error
	wrap := func(err error) error {
		if ce, ok := err.(*core.Error); ok && prefix != "" {
			ce.Field, ce.Message = prefix+ce.Field, prefix+ce.Message
		}
		return err
	}
	if in.From == "" {
		return c, wrap(invalidf("from", "from_required", "give the sender, such as \"Acme <hello@acme.example>\""))
	}
	from, err := parseAddress("from", in.From)
	if err != nil {
		return c, wrap(err)
	}
	e.From = canonical(from)
	if e.To, err = addressList("to", in.To); err != nil {
		return c, wrap(err)
	}
	if e.Cc, err = addressList("cc", in.Cc); err != nil {
		return c, wrap(err)
	}
	if e.Bcc, err = addressList("bcc", in.Bcc); err != nil {
		return c, wrap(err)
	}
	if e.ReplyTo, err = addressList("reply_to", in.ReplyTo); err != nil {
		return c, wrap(err)
	}
	if n := len(e.To) + len(e.Cc) + len(e.Bcc); n > maxRecipients {
		return c, wrap(invalidf("to", "too_many_recipients", "%d recipients in to, cc and bcc; at most %d per email", n, maxRecipients))
	}
	c.contactRef = in.Contact
	if in.UnsubscribeScope != "" {
		if !strings.HasPrefix(in.UnsubscribeScope, ScopeNotification) || len(in.UnsubscribeScope) > 300 || !store.ValidText(in.UnsubscribeScope) {
			return c, wrap(invalidf("unsubscribe_scope", "invalid_unsubscribe_scope", "%q is not a notification scope", in.UnsubscribeScope))
		}
		c.unsubscribeScope = in.UnsubscribeScope
	}
	if in.PreferencesURL != "" {
		u, err := url.Parse(in.PreferencesURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.PreferencesURL) > 2000 ||
			!store.ValidText(in.PreferencesURL) || strings.ContainsAny(in.PreferencesURL, "\r\n\"<> ") {
			return c, wrap(invalidf("preferences_url", "invalid_preferences_url", "%q is not an http(s) URL", in.PreferencesURL))
		}
		c.preferencesURL = in.PreferencesURL
	}
	if len(e.To) == 0 && in.Contact == "" {
		return c, wrap(invalidf("to", "recipient_required", "give to (an address or a list) or contact (a contact's external id)"))
	}
	if in.Template != "" {
		if err := checkTemplateSend(&c, in); err != nil {
			return c, wrap(err)
		}
	} else if err := checkContent(e, in); err != nil {
		return c, wrap(err)
	}
	if e.Headers, err = checkHeaders(in.Headers); err != nil {
		return c, wrap(err)
	}
	if e.Attachments, err = s.checkAttachments(in.Attachments); err != nil {
		return c, wrap(err)
	}
	if len(in.Tags) > maxTags {
		return c, wrap(invalidf("tags", "too_many_tags", "%d tags; at most %d", len(in.Tags), maxTags))
	}
	e.Tags = []string{}
	for i, t := range in.Tags {
		if !tagRE.MatchString(t) {
			return c, wrap(invalidf(fmt.Sprintf("tags[%d]", i), "invalid_tag", "%q must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '.', ':', '/' and '-'", t))
		}
		e.Tags = append(e.Tags, t)
	}
	e.Metadata = json.RawMessage("{}")
	if len(in.Metadata) > 0 && string(in.Metadata) != "null" {
		var m map[string]any
		if json.Unmarshal(in.Metadata, &m) != nil {
			return c, wrap(invalidf("metadata", "invalid_metadata", "must be a JSON object"))
		}
		if len(in.Metadata) > maxMetadata {
			return c, wrap(invalidf("metadata", "invalid_metadata", "%d bytes; at most %d", len(in.Metadata), maxMetadata))
		}
		e.Metadata = jsonOf(m)
	}
	switch in.Category {
	case "":
		e.Category = CategoryTransactional
	case CategoryTransactional, CategoryMarketing:
		e.Category = in.Category
	default:
		return c, wrap(invalidf("category", "invalid_category", "%q must be %q or %q", in.Category, CategoryTransactional, CategoryMarketing))
	}
	if in.SendAt != nil {
		t := in.SendAt.UTC()
		if t.After(now.Add(maxSendAhead)) {
			return c, wrap(invalidf("send_at", "invalid_send_at", "at most %s ahead", "30 days"))
		}
		if t.After(now) {
			e.SendAt = &t
		}
	}
	return c, nil
}

func checkHeaders(in map[string]string) (map[string]string, error) {
	if len(in) > maxHeaders {
		return nil, invalidf("headers", "too_many_headers", "%d headers; at most %d", len(in), maxHeaders)
	}
	out := map[string]string{}
	for k, v := range in {
		f := "headers." + k
		if !jobs.ValidHeaderName(k) {
			return nil, invalidf(f, "invalid_header", "%q is not a header name (letters, digits and !#$%%&'*+-.^_`|~)", k)
		}
		if reservedHeaders[strings.ToLower(k)] {
			return nil, invalidf(f, "reserved_header", "%s is set by joist from the email's fields; use the matching field instead", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, invalidf(f, "header_injection", "a header value may not contain a line break")
		}
		if len(v) > 900 {
			return nil, invalidf(f, "invalid_header", "value of %d bytes; at most 900", len(v))
		}
		out[textproto.CanonicalMIMEHeaderKey(k)] = v
	}
	return out, nil
}

func (s *Service) checkAttachments(in []AttachmentInput) ([]Attachment, error) {
	if len(in) > maxAttachments {
		return nil, invalidf("attachments", "too_many_attachments", "%d attachments; at most %d", len(in), maxAttachments)
	}
	out := []Attachment{}
	total := 0
	for i, a := range in {
		f := fmt.Sprintf("attachments[%d]", i)
		if a.Filename == "" || len(a.Filename) > 255 || strings.ContainsAny(a.Filename, "\r\n\"\\/") {
			return nil, invalidf(f+".filename", "invalid_attachment", "give a file name of 1 to 255 bytes without line breaks, quotes or slashes")
		}
		content, err := base64.StdEncoding.DecodeString(a.Content)
		if err != nil {
			return nil, invalidf(f+".content", "invalid_attachment", "content must be base64 (standard alphabet, padded): %v", err)
		}
		total += len(content)
		if total > s.opts.MaxAttachmentBytes {
			return nil, invalidf(f+".content", "attachment_too_large", "attachments total %d bytes or more; at most %d bytes per email",
				total, s.opts.MaxAttachmentBytes)
		}
		ct := a.ContentType
		if ct == "" {
			if ct = mime.TypeByExtension(path.Ext(a.Filename)); ct == "" {
				ct = "application/octet-stream"
			}
		}
		if strings.ContainsAny(ct, "\r\n") {
			return nil, invalidf(f+".content_type", "header_injection", "a content type may not contain a line break")
		}
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return nil, invalidf(f+".content_type", "invalid_attachment", "%q is not a media type such as application/pdf", ct)
		}
		if a.ContentID != "" && !contentIDRE.MatchString(a.ContentID) {
			return nil, invalidf(f+".content_id", "invalid_attachment", "%q must be 1 to 255 characters without spaces or angle brackets", a.ContentID)
		}
		out = append(out, Attachment{Filename: a.Filename, ContentType: ct, ContentID: a.ContentID, Content: content})
	}
	return out, nil
}

// checkContent checks a send's own subject and bodies.
func checkContent(e *Email, in Input) error {
	if in.Data != nil || in.Locale != "" {
		field := "data"
		if in.Data == nil {
			field = "locale"
		}
		return invalidf(field, "template_required", "data and locale go with template; give template, or leave them out")
	}
	if strings.ContainsAny(in.Subject, "\r\n") {
		return invalidf("subject", "header_injection", "the subject may not contain a line break")
	}
	if strings.TrimSpace(in.Subject) == "" {
		return invalidf("subject", "subject_required", "give a subject (with html and/or text), or a template with its data")
	}
	if utf8.RuneCountInString(in.Subject) > maxSubject {
		return invalidf("subject", "subject_too_long", "at most %d characters", maxSubject)
	}
	e.Subject = in.Subject
	if in.HTML == "" && in.Text == "" {
		return invalidf("html", "body_required", "give html, text or both")
	}
	e.HTML, e.Text = in.HTML, in.Text
	return nil
}

// checkTemplateSend checks a template send: the template's name, its data
// (a JSON object) and locale (a BCP 47 tag, checked when rendering), and
// no subject or body of its own. It is rendered in the send's transaction.
func checkTemplateSend(c *checked, in Input) error {
	for _, f := range []struct{ name, val string }{{"subject", in.Subject}, {"html", in.HTML}, {"text", in.Text}} {
		if f.val != "" {
			return invalidf(f.name, "template_and_content", "give template (with data) or subject with html and/or text, not both")
		}
	}
	if err := checkName("template", "template", in.Template); err != nil {
		return err
	}
	data, err := render.DecodeData(in.Data)
	if err != nil {
		return err
	}
	if !store.ValidText(in.Locale) {
		return core.InvalidText("locale")
	}
	c.Template, c.Locale, c.data = in.Template, in.Locale, data
	return nil
}
