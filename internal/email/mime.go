package email

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/mail"
	"sort"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"

	"github.com/joist-dev/joist/internal/store"
)

// message builds the message a provider sends for e.
func (s *Service) message(ctx context.Context, e Email) (*Message, error) {
	return s.messageFor(ctx, e, s.opts.Provider.Name())
}

// messageFor builds e's message for the provider named provider (joist
// DKIM-signs what goes through smtp), reading the from domain's keys.
func (s *Service) messageFor(ctx context.Context, e Email, provider string) (*Message, error) {
	var dom *Domain
	if provider == ProviderSMTP {
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			d, err := signingDomain(ctx, tx, e.TenantID, domainOf(e.From))
			if err == nil {
				dom = &d
			}
			return err
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return s.buildMessage(e, provider, dom)
}

// buildMessage builds e's message for the provider named provider, signed
// with dom's active keys when joist signs (smtp); dom is the from domain
// as read with the email (nil: not registered).
func (s *Service) buildMessage(e Email, provider string, dom *Domain) (*Message, error) {
	h := Headers(e, s.now())
	if err := s.listUnsubscribe(&h, e); err != nil {
		return nil, err
	}
	raw, err := buildMIME(e, h)
	if err != nil {
		return nil, err
	}
	m := &Message{Email: e, EnvelopeFrom: bareAddress(e.From), Raw: raw}
	for _, list := range [][]string{e.To, e.Cc, e.Bcc} {
		for _, a := range list {
			m.Recipients = append(m.Recipients, bareAddress(a))
		}
	}
	return s.sign(m, provider, dom)
}

func addrs(list []string) []*gomail.Address {
	out := make([]*gomail.Address, 0, len(list))
	for _, s := range list {
		if a, err := mail.ParseAddress(s); err == nil {
			out = append(out, (*gomail.Address)(a))
		}
	}
	return out
}

// Headers are the top-level header fields of e's message, in order (the
// admin shows them; buildMIME writes them).
func Headers(e Email, date time.Time) gomail.Header {
	var h gomail.Header
	h.SetAddressList("From", addrs([]string{e.From}))
	h.SetAddressList("To", addrs(e.To))
	h.SetAddressList("Cc", addrs(e.Cc))
	h.SetAddressList("Reply-To", addrs(e.ReplyTo))
	h.SetSubject(e.Subject)
	h.SetDate(date)
	h.SetMessageID(e.MessageID)
	if e.Category == CategoryTransactional {
		// RFC 3834: automatic mail; auto-responders do not answer it.
		h.Set("Auto-Submitted", "auto-generated")
	}
	keys := make([]string, 0, len(e.Headers))
	for k := range e.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.SetText(k, e.Headers[k])
	}
	h.Set("MIME-Version", "1.0")
	return h
}

// buildMIME writes e under the top-level header h as an RFC 5322 message: text and HTML as
// multipart/alternative, inline attachments (with a content id) beside the
// HTML in multipart/related, other attachments in multipart/mixed.
// go-message does the encoding (quoted-printable, base64, RFC 2047 words).
func buildMIME(e Email, h gomail.Header) ([]byte, error) {
	var inline, files []Attachment
	for _, a := range e.Attachments {
		if a.ContentID != "" && e.HTML != "" {
			inline = append(inline, a)
		} else {
			files = append(files, a)
		}
	}
	var buf bytes.Buffer
	// The tree, outermost first; each level is present only when needed.
	body := func(w partCreator) error { return writeAlternative(w, e) }
	if len(inline) > 0 {
		inner := body
		body = func(w partCreator) error {
			return multipart(w, "multipart/related", func(m *message.Writer) error {
				if err := inner(&writerAdapter{m}); err != nil {
					return err
				}
				for _, a := range inline {
					if err := writeAttachment(m, a, "inline"); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	if len(files) > 0 {
		inner := body
		body = func(w partCreator) error {
			return multipart(w, "multipart/mixed", func(m *message.Writer) error {
				if err := inner(&writerAdapter{m}); err != nil {
					return err
				}
				for _, a := range files {
					if err := writeAttachment(m, a, "attachment"); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	if err := body(topLevel{w: &buf, h: h.Header}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// partCreator makes a part: the message itself at the top, a child of a
// multipart below.
type partCreator interface {
	part(h message.Header) (*message.Writer, error)
}

type topLevel struct {
	w io.Writer
	h message.Header
}

func (t topLevel) part(h message.Header) (*message.Writer, error) {
	all := t.h.Copy()
	for f := h.Fields(); f.Next(); {
		all.Add(f.Key(), f.Value())
	}
	return message.CreateWriter(t.w, all)
}

func multipart(w partCreator, ctype string, f func(m *message.Writer) error) error {
	var h message.Header
	h.SetContentType(ctype, map[string]string{})
	m, err := w.part(h)
	if err != nil {
		return err
	}
	if err := f(m); err != nil {
		return err
	}
	return m.Close()
}

func (w *writerAdapter) part(h message.Header) (*message.Writer, error) { return w.CreatePart(h) }

type writerAdapter struct{ *message.Writer }

func writeAlternative(w partCreator, e Email) error {
	if e.Text != "" && e.HTML != "" {
		return multipart(w, "multipart/alternative", func(m *message.Writer) error {
			if err := writeText(&writerAdapter{m}, "text/plain", e.Text); err != nil {
				return err
			}
			return writeText(&writerAdapter{m}, "text/html", e.HTML)
		})
	}
	if e.HTML != "" {
		return writeText(w, "text/html", e.HTML)
	}
	return writeText(w, "text/plain", e.Text)
}

func writeText(w partCreator, ctype, body string) error {
	var h message.Header
	h.SetContentType(ctype, map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	p, err := w.part(h)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(p, body); err != nil {
		return err
	}
	return p.Close()
}

func writeAttachment(m *message.Writer, a Attachment, disposition string) error {
	var h message.Header
	mt, params, err := mime.ParseMediaType(a.ContentType)
	if err != nil {
		mt, params = "application/octet-stream", map[string]string{}
	}
	params["name"] = a.Filename
	h.SetContentType(mt, params)
	h.SetContentDisposition(disposition, map[string]string{"filename": a.Filename})
	h.Set("Content-Transfer-Encoding", "base64")
	if a.ContentID != "" {
		h.Set("Content-Id", "<"+a.ContentID+">")
	}
	p, err := m.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := p.Write(a.Content); err != nil {
		return err
	}
	return p.Close()
}
