package email_test

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/wire"
)

// TestSendToOutbox runs a real joist per store with no email configuration:
// an accepted email is stored and queued at once (202), its email_send job
// captures it in the outbox, and the contact's timeline shows both steps
// under the request's correlation id. The Idempotency-Key is kept with the
// email; batches and the log's filters work.
func TestSendToOutbox(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		if r := c.do(t, "PUT", "/v1/contacts/ana", `{"email":"ana@guest.example","name":"Ana"}`); r.status != http.StatusCreated {
			t.Fatalf("contact: %d %s", r.status, r.body)
		}
		pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 receipt"))
		body := `{"from":"Acme <hello@acme.example>","contact":"ana","subject":"Your receipt – № 42","html":"<p>Thanks</p>",
			"text":"Thanks","headers":{"X-Order":"42"},"tags":["receipt"],"metadata":{"order":42},
			"attachments":[{"filename":"receipt.pdf","content":"` + pdf + `"}]}`
		r := c.do(t, "POST", "/v1/emails", body, "Idempotency-Key", "order-42", "Joist-Correlation-Id", "cor-order-42")
		if r.status != http.StatusAccepted {
			t.Fatalf("send: %d %s", r.status, r.body)
		}
		var sent wire.Email
		r.json(t, &sent)
		if !strings.HasPrefix(sent.ID, "em_") || sent.Status != "queued" || !slices.Equal(sent.To, []string{"ana@guest.example"}) ||
			sent.Contact != "ana" || sent.MessageID != sent.ID+"@acme.example" || sent.Category != "transactional" ||
			sent.Attachments[0].ContentType != "application/pdf" || sent.CorrelationID != "cor-order-42" || !strings.HasPrefix(sent.JobID, "job_") ||
			r.header.Get("Location") != "/v1/emails/"+sent.ID {
			t.Fatalf("answer: %s", r.body)
		}
		// The same key and body: the same email, nothing new stored.
		again := c.do(t, "POST", "/v1/emails", body, "Idempotency-Key", "order-42")
		var dup wire.Email
		again.json(t, &dup)
		if again.status != http.StatusAccepted || dup.ID != sent.ID || env.Count(t, "emails") != 1 {
			t.Fatalf("replay: %d %s (%d emails)", again.status, again.body, env.Count(t, "emails"))
		}

		var got wire.Email
		waitFor(t, 20*time.Second, "the outbox to capture the email", func() bool {
			r := c.do(t, "GET", "/v1/emails/"+sent.ID, nil)
			r.json(t, &got)
			return got.Status == "captured"
		})
		if got.Provider != "outbox" || got.SentAt == nil || got.HTML != "<p>Thanks</p>" || got.Text != "Thanks" || len(got.Events) != 2 ||
			got.Events[0].Type != "queued" || got.Events[1].Type != "captured" || got.Headers["X-Order"] != "42" || got.Subject != "Your receipt – № 42" {
			t.Fatalf("captured email: %+v", got)
		}
		var tl wire.List[wire.TimelineEntry]
		c.do(t, "GET", "/v1/contacts/ana/timeline", nil).json(t, &tl)
		kinds := map[string]string{}
		for _, e := range tl.Data {
			if e.RefID == sent.ID {
				kinds[e.Kind] = e.CorrelationID
			}
		}
		if kinds["email.queued"] != "cor-order-42" || kinds["email.captured"] != "cor-order-42" {
			t.Fatalf("timeline: %+v", tl.Data)
		}

		// A batch: each email answered in order, plain addresses and lists alike.
		br := c.do(t, "POST", "/v1/emails/batch", `{"emails":[
			{"from":"hello@acme.example","to":"bob@x.example","subject":"One","text":"1","tags":["digest"]},
			{"from":"hello@acme.example","to":["cy@x.example","Dee <dee@x.example>"],"cc":"ana@guest.example","subject":"Two","text":"2",
			 "send_at":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}]}`)
		var batch wire.EmailBatchResult
		br.json(t, &batch)
		if br.status != http.StatusAccepted || len(batch.Data) != 2 || batch.Data[1].SendAt == nil || batch.Data[0].Status != "queued" {
			t.Fatalf("batch: %d %s", br.status, br.body)
		}
		list := func(q string) []string {
			t.Helper()
			var l wire.List[wire.Email]
			r := c.do(t, "GET", "/v1/emails"+q, nil)
			if r.status != http.StatusOK {
				t.Fatalf("list %s: %d %s", q, r.status, r.body)
			}
			r.json(t, &l)
			var out []string
			for _, e := range l.Data {
				if e.HTML != "" || e.Events != nil {
					t.Fatalf("a list shows bodies or events: %s", r.body)
				}
				out = append(out, e.ID)
			}
			return out
		}
		one, two := batch.Data[0].ID, batch.Data[1].ID
		for q, want := range map[string][]string{
			"":                             {two, one, sent.ID},
			"?to=ANA@guest.example":        {two, sent.ID},
			"?contact=ana":                 {sent.ID},
			"?contact=nobody":              nil,
			"?tag=digest":                  {one},
			"?status=captured&tag=receipt": {sent.ID},
			"?until=2000-01-01T00:00:00Z":  nil,
		} {
			if got := list(q); !slices.Equal(got, want) {
				t.Errorf("list%s: %v, want %v", q, got, want)
			}
		}
		// The scheduled email waits; its job is scheduled.
		var later wire.Email
		c.do(t, "GET", "/v1/emails/"+two, nil).json(t, &later)
		if later.Status != "queued" {
			t.Fatalf("scheduled email: %+v", later)
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %v", lines)
		}
	})
}

// TestSendBadInput: every kind of bad input, on both stores, gets a 4xx
// naming the problem and its field, and stores nothing at all.
func TestSendBadInput(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		if r := c.do(t, "PUT", "/v1/contacts/nomail", `{"name":"No Mail"}`); r.status != http.StatusCreated {
			t.Fatalf("contact: %d %s", r.status, r.body)
		}
		big := base64.StdEncoding.EncodeToString(make([]byte, 47000))
		ok := `"from":"hello@acme.example","to":"ana@x.example","subject":"Hi","text":"t"`
		for _, c2 := range []struct {
			name, path, body string
			status           int
			code, field      string
		}{
			{"invalid to", "/v1/emails", `{"from":"hello@acme.example","to":"not an address","subject":"Hi","text":"t"}`, 400, "invalid_address", "to[0]"},
			{"invalid from", "/v1/emails", `{"from":"acme","to":"a@x.example","subject":"Hi","text":"t"}`, 400, "invalid_address", "from"},
			{"no from", "/v1/emails", `{"to":"a@x.example","subject":"Hi","text":"t"}`, 400, "from_required", "from"},
			{"line break in cc", "/v1/emails", `{` + ok + `,"cc":["a@x.example\r\nBcc: evil@x.example"]}`, 400, "header_injection", "cc[0]"},
			{"header injection in subject", "/v1/emails", `{"from":"hello@acme.example","to":"a@x.example","subject":"Hi\r\nBcc: evil@x.example","text":"t"}`, 400, "header_injection", "subject"},
			{"header injection in a header", "/v1/emails", `{` + ok + `,"headers":{"X-A":"1\nBcc: evil@x.example"}}`, 400, "header_injection", "headers.X-A"},
			{"reserved header", "/v1/emails", `{` + ok + `,"headers":{"bcc":"evil@x.example"}}`, 400, "reserved_header", "headers.bcc"},
			{"bad header name", "/v1/emails", `{` + ok + `,"headers":{"X A":"1"}}`, 400, "invalid_header", "headers.X A"},
			{"no recipient", "/v1/emails", `{"from":"hello@acme.example","subject":"Hi","text":"t"}`, 400, "recipient_required", "to"},
			{"no body", "/v1/emails", `{"from":"hello@acme.example","to":"a@x.example","subject":"Hi"}`, 400, "body_required", "html"},
			{"no subject", "/v1/emails", `{"from":"hello@acme.example","to":"a@x.example","text":"t"}`, 400, "subject_required", "subject"},
			{"attachment not base64", "/v1/emails", `{` + ok + `,"attachments":[{"filename":"a.pdf","content":"%%%"}]}`, 400, "invalid_attachment", "attachments[0].content"},
			{"attachment file name with a line break", "/v1/emails", `{` + ok + `,"attachments":[{"filename":"a\r\n.pdf","content":""}]}`, 400, "invalid_attachment", "attachments[0].filename"},
			{"oversized attachment", "/v1/emails", `{` + ok + `,"attachments":[{"filename":"a.bin","content":"` + big + `"}]}`, 400, "attachment_too_large", "attachments[0].content"},
			{"body over JOIST_EMAIL_MAX_BYTES", "/v1/emails", `{` + ok + `,"html":"` + strings.Repeat("x", 70000) + `"}`, 413, "body_too_large", ""},
			{"bad tag", "/v1/emails", `{` + ok + `,"tags":["has space"]}`, 400, "invalid_tag", "tags[0]"},
			{"metadata not an object", "/v1/emails", `{` + ok + `,"metadata":[1]}`, 400, "invalid_metadata", "metadata"},
			{"bad category", "/v1/emails", `{` + ok + `,"category":"spam"}`, 400, "invalid_category", "category"},
			{"send_at too far", "/v1/emails", `{` + ok + `,"send_at":"2999-01-01T00:00:00Z"}`, 400, "invalid_send_at", "send_at"},
			{"NUL in text", "/v1/emails", `{` + ok + `,"html":"a\u0000b"}`, 400, "invalid_text", "html"},
			{"unknown contact", "/v1/emails", `{"from":"hello@acme.example","contact":"ghost","subject":"Hi","text":"t"}`, 404, "not_found", ""},
			{"contact without an address", "/v1/emails", `{"from":"hello@acme.example","contact":"nomail","subject":"Hi","text":"t"}`, 422, "contact_has_no_email", "contact"},
			{"batch with one bad email", "/v1/emails/batch", `{"emails":[{` + ok + `},{"from":"hello@acme.example","to":"bad","subject":"Hi","text":"t"}]}`, 400, "invalid_address", "emails[1].to[0]"},
			{"empty batch", "/v1/emails/batch", `{"emails":[]}`, 400, "emails_required", "emails"},
			{"batch too large", "/v1/emails/batch", `{"emails":[` + strings.Repeat(`{`+ok+`},`, 100) + `{` + ok + `}]}`, 400, "too_many_emails", "emails"},
			{"bad status filter", "/v1/emails?status=lost", "", 400, "invalid_status", ""},
			{"bad since", "/v1/emails?since=yesterday", "", 400, "invalid_time", ""},
		} {
			t.Run(c2.name, func(t *testing.T) {
				before := env.Snapshot(t)
				method := "POST"
				if c2.body == "" {
					method = "GET"
				}
				r := c.do(t, method, c2.path, c2.body)
				var p problem
				r.json(t, &p)
				if r.status != c2.status || p.Code != c2.code || p.Field != c2.field {
					t.Fatalf("%d %s, want %d %s field %q", r.status, r.body, c2.status, c2.code, c2.field)
				}
				apptestUnchanged(t, env, before)
			})
		}
	}, func(cfg *config.Config) { cfg.EmailMaxBytes = 64 << 10 })
}

func apptestUnchanged(t *testing.T, env *apptest.Env, before map[string]int) {
	t.Helper()
	after := env.Snapshot(t)
	for k, v := range after {
		if before[k] != v && k != "idempotency_keys" && k != "river_leader" {
			t.Fatalf("table %s went from %d to %d rows", k, before[k], v)
		}
	}
}

// TestRouteBodyLimit: the send routes take JOIST_EMAIL_MAX_BYTES, larger
// than the API's own limit; other routes keep theirs.
func TestRouteBodyLimit(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		html := strings.Repeat("<p>long</p>", 3000) // 33 KB: over the API's 4 KiB, under the email 64 KiB
		if r := c.do(t, "POST", "/v1/emails", `{"from":"hello@acme.example","to":"a@x.example","subject":"Hi","html":"`+html+`"}`); r.status != http.StatusAccepted {
			t.Fatalf("large email: %d %s", r.status, r.body)
		}
		if r := c.do(t, "PUT", "/v1/contacts/big", `{"name":"`+strings.Repeat("x", 5000)+`"}`); r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("other route: %d %s", r.status, r.body)
		}
	}, func(cfg *config.Config) { cfg.MaxBodyBytes, cfg.EmailMaxBytes = 4096, 64<<10 })
}
