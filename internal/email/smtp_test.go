package email_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/internal/email"
	"github.com/joist-dev/joist/wire"
)

func smtpConfig(r *relay) func(*config.Config) {
	return func(cfg *config.Config) {
		cfg.EmailProvider = "smtp"
		cfg.SMTPURL = "smtp://joist:relay-pass@" + r.addr + "?tls=starttls"
		cfg.SMTPCA = r.caFile
	}
}

func waitStatus(t *testing.T, c *caller, id string, statuses ...string) wire.Email {
	t.Helper()
	var got wire.Email
	waitFor(t, 30*time.Second, "email "+id+" to be "+strings.Join(statuses, " or "), func() bool {
		c.do(t, "GET", "/v1/emails/"+id, nil).json(t, &got)
		return slices.Contains(statuses, got.Status)
	})
	return got
}

func sendOK(t *testing.T, c *caller, body string) wire.Email {
	t.Helper()
	r := c.do(t, "POST", "/v1/emails", body)
	if r.status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.status, r.body)
	}
	var e wire.Email
	r.json(t, &e)
	return e
}

// TestSMTPRelay sends through a real SMTP server on 127.0.0.1 (STARTTLS
// under the test's CA given as JOIST_SMTP_CA, AUTH PLAIN): the relay gets
// the envelope (bcc included) and a message with the headers mailbox
// providers require; a 4xx is retried and then sent; a 5xx fails the email
// at once with the reply kept as safe text.
func TestSMTPRelay(t *testing.T) {
	t.Parallel()
	rl := newRelay(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		rl.mu.Lock()
		rl.got, rl.attempts, rl.fail = nil, 0, nil
		rl.mu.Unlock()
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		// With a real provider, from must be on a domain of the tenant's.
		if r := c.do(t, "POST", "/v1/domains", `{"name":"acme.example"}`); r.status != http.StatusCreated {
			t.Fatalf("domain: %d %s", r.status, r.body)
		}
		logo := base64.StdEncoding.EncodeToString([]byte("\x89PNG fake"))
		e := sendOK(t, c, `{"from":"Acme Ünïcode <hello@acme.example>","to":["ana@x.example"],"cc":"cy@x.example","bcc":"audit@acme.example",
			"reply_to":"help@acme.example","subject":"Grüße – your receipt","html":"<p>Hi <img src=\"cid:logo\"></p>","text":"Hi",
			"headers":{"X-Order":"42"},"attachments":[{"filename":"logo.png","content":"`+logo+`","content_id":"logo"},
			{"filename":"r.txt","content":"cmVjZWlwdA=="}]}`)
		got := waitStatus(t, c, e.ID, "sent", "failed")
		if got.Status != "sent" || got.Provider != "smtp" || got.SentAt == nil || got.Events[len(got.Events)-1].Type != "sent" ||
			!strings.HasPrefix(got.Events[len(got.Events)-1].Detail, "250") {
			t.Fatalf("after send: %+v", got)
		}
		msgs := rl.messages()
		if len(msgs) != 1 {
			t.Fatalf("relay got %d messages", len(msgs))
		}
		m := msgs[0]
		if !m.tls || m.user != "joist" || m.from != "hello@acme.example" ||
			!slices.Equal(m.rcpts, []string{"ana@x.example", "cy@x.example", "audit@acme.example"}) {
			t.Fatalf("envelope: tls=%v user=%q from=%q rcpts=%v", m.tls, m.user, m.from, m.rcpts)
		}
		mr, err := mail.CreateReader(bytes.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		h := mr.Header
		subj, _ := h.Subject()
		mid, _ := h.MessageID()
		date, _ := h.Date()
		from, _ := h.AddressList("From")
		if subj != "Grüße – your receipt" || mid != e.ID+"@acme.example" || time.Since(date) > time.Minute ||
			h.Get("Auto-Submitted") != "auto-generated" || h.Get("X-Order") != "42" || h.Get("Bcc") != "" ||
			len(from) != 1 || from[0].Name != "Acme Ünïcode" || h.Get("Reply-To") != "<help@acme.example>" {
			t.Fatalf("headers:\n%s", m.data[:bytes.Index(m.data, []byte("\r\n\r\n"))])
		}
		var parts []string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p.Body)
			ct := p.Header.Get("Content-Type")
			parts = append(parts, strings.SplitN(ct, ";", 2)[0]+"="+string(b))
		}
		want := []string{"text/plain=Hi", `text/html=<p>Hi <img src="cid:logo"></p>`, "image/png=\x89PNG fake", "text/plain=receipt"}
		if !slices.Equal(parts, want) {
			t.Fatalf("parts %q, want %q\n%s", parts, want, m.data)
		}

		// A transient 451 on the first attempt: deferred, retried, sent.
		rl.mu.Lock()
		rl.fail = func(n int, _ []string) *smtp.SMTPError {
			if n == 2 {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
			}
			return nil
		}
		rl.mu.Unlock()
		e2 := sendOK(t, c, `{"from":"hello@acme.example","to":"bo@x.example","subject":"Retry","text":"r","category":"marketing"}`)
		got = waitStatus(t, c, e2.ID, "sent", "failed")
		var types []string
		for _, ev := range got.Events {
			types = append(types, ev.Type)
		}
		if got.Status != "sent" || !slices.Equal(types, []string{"queued", "deferred", "sent"}) || !strings.Contains(got.Events[1].Detail, "451") {
			t.Fatalf("retried email: %+v", got)
		}
		if last := rl.messages()[len(rl.messages())-1]; bytes.Contains(last.data, []byte("Auto-Submitted")) {
			t.Fatal("marketing mail is marked Auto-Submitted")
		}

		// A permanent 550 for a recipient: failed at once, not retried.
		before := len(rl.messages())
		e3 := sendOK(t, c, `{"from":"hello@acme.example","to":"nobody@x.example","subject":"Bounce","text":"b"}`)
		got = waitStatus(t, c, e3.ID, "sent", "failed")
		if got.Status != "failed" || !strings.Contains(got.Error, "550") || !strings.Contains(got.Error, "U+FFFD") ||
			got.Events[len(got.Events)-1].Type != "failed" {
			t.Fatalf("refused email: %+v", got)
		}
		time.Sleep(3 * time.Second)
		c.do(t, "GET", "/v1/emails/"+e3.ID, nil).json(t, &got)
		if n := len(got.Events); n != 2 || len(rl.messages()) != before {
			t.Fatalf("a permanent failure was retried: %d events", n)
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %v", lines)
		}
	}, smtpConfig(rl))
}

// TestSMTPURL: the relay settings are checked at start, naming the setting.
func TestSMTPURL(t *testing.T) {
	for raw, want := range map[string]string{
		"smtp://u:p@mail.example":           "",
		"smtps://mail.example":              "",
		"smtp://mail.example:2525?tls=none": "",
		"smtp://mail.example?tls=sometimes": "tls=",
		"http://mail.example":               "scheme",
		"smtp://":                           "must look like",
	} {
		_, err := email.ParseURL(raw)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
}
