package email_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/config"
	"github.com/joist-dev/joist/wire"
)

func eventTypes(e wire.Email) []string {
	var out []string
	for _, ev := range e.Events {
		out = append(out, ev.Type)
	}
	return out
}

func providerTenant(t *testing.T, env *apptest.Env, provider string) *caller {
	newTenant(t, env, "acme")
	c := newCaller(t, env, "acme")
	if r := c.do(t, "POST", "/v1/domains", `{"name":"acme.example","provider":"`+provider+`"}`); r.status != http.StatusCreated {
		t.Fatalf("domain: %d %s", r.status, r.body)
	}
	return c
}

// TestResend sends through a stand-in that follows Resend's documented API
// (POST /emails, Bearer key, Idempotency-Key, {"id"} answer), on both
// stores: the request carries every field; a 429 is retried no sooner than
// its Retry-After; a 422 fails the email at once; an answer lost after
// Resend accepted is retried with the same Idempotency-Key and the email is
// sent once.
func TestResend(t *testing.T) {
	t.Parallel()
	st := newStandin(t, "resend", "re_test_key")
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		st.reset(func(subject string, n int) (int, map[string]string, string, bool) {
			switch {
			case subject == "Limited" && n == 1:
				return 429, map[string]string{"Retry-After": "3"}, `{"statusCode":429,"name":"rate_limit_exceeded","message":"Too many requests"}`, false
			case subject == "Invalid":
				return 422, nil, `{"statusCode":422,"name":"validation_error","message":"Invalid ` + "`to`" + ` field \u0000"}`, false
			case subject == "Lost" && n == 1:
				return 200, nil, "", true
			}
			return 200, nil, "", false
		})
		c := providerTenant(t, env, "resend")
		logo := base64.StdEncoding.EncodeToString([]byte("\x89PNG fake"))
		e := sendOK(t, c, `{"from":"Acme <hello@acme.example>","to":["ana@x.example"],"cc":"cy@x.example","bcc":"audit@acme.example",
			"reply_to":"help@acme.example","subject":"Receipt","html":"<p>Hi <img src=\"cid:logo\"></p>","text":"Hi",
			"headers":{"X-Order":"42"},"tags":["receipt"],"attachments":[{"filename":"logo.png","content":"`+logo+`","content_type":"image/png","content_id":"logo"}]}`)
		got := waitStatus(t, c, e.ID, "sent", "failed")
		reqs := st.requests("Receipt")
		if got.Status != "sent" || got.Provider != "resend" || len(reqs) != 1 || got.ProviderID != "resend-msg-1" {
			t.Fatalf("after send: %+v (%d requests)", got, len(reqs))
		}
		r := reqs[0]
		b := r.body
		atts, _ := b["attachments"].([]any)
		att, _ := atts[0].(map[string]any)
		hdr, _ := b["headers"].(map[string]any)
		tags := fmt.Sprint(b["tags"])
		if r.header.Get("Idempotency-Key") != "joist/"+e.ID || b["from"] != `"Acme" <hello@acme.example>` ||
			fmt.Sprint(b["to"]) != "[ana@x.example]" || fmt.Sprint(b["cc"]) != "[cy@x.example]" || fmt.Sprint(b["bcc"]) != "[audit@acme.example]" ||
			fmt.Sprint(b["reply_to"]) != "[help@acme.example]" || b["html"] != `<p>Hi <img src="cid:logo"></p>` || b["text"] != "Hi" ||
			att["filename"] != "logo.png" || att["content"] != logo || att["content_type"] != "image/png" || att["content_id"] != "logo" ||
			hdr["X-Order"] != "42" || hdr["Auto-Submitted"] != "auto-generated" || hdr["Message-Id"] != nil ||
			!strings.Contains(tags, "name:category value:transactional") || !strings.Contains(tags, "name:tag_receipt") {
			t.Fatalf("request: %v %v", r.header, b)
		}

		// 429 with Retry-After: 3 -> deferred, retried no sooner, sent.
		e2 := sendOK(t, c, `{"from":"hello@acme.example","to":"bo@x.example","subject":"Limited","text":"r"}`)
		got = waitStatus(t, c, e2.ID, "sent", "failed")
		reqs = st.requests("Limited")
		if got.Status != "sent" || !slices.Equal(eventTypes(got), []string{"queued", "deferred", "sent"}) || len(reqs) != 2 ||
			!strings.Contains(got.Events[1].Detail, "429") {
			t.Fatalf("rate-limited email: %+v, %d requests", got, len(reqs))
		}
		if gap := reqs[1].at.Sub(reqs[0].at); gap < 3*time.Second {
			t.Fatalf("retried %s after a 429 with Retry-After: 3", gap)
		}

		// 422 -> failed at once, the provider's text stored safely, no retry.
		e3 := sendOK(t, c, `{"from":"hello@acme.example","to":"bo@x.example","subject":"Invalid","text":"r"}`)
		got = waitStatus(t, c, e3.ID, "sent", "failed")
		if got.Status != "failed" || !strings.Contains(got.Error, "422") || !strings.Contains(got.Error, "validation_error") ||
			!strings.Contains(got.Error, "U+FFFD") && strings.Contains(got.Error, "\x00") {
			t.Fatalf("refused email: %+v", got)
		}

		// Accepted, answer lost: retried with the same key, sent once.
		before := st.sentCount()
		e4 := sendOK(t, c, `{"from":"hello@acme.example","to":"bo@x.example","subject":"Lost","text":"r"}`)
		got = waitStatus(t, c, e4.ID, "sent", "failed")
		reqs = st.requests("Lost")
		if got.Status != "sent" || len(reqs) != 2 || reqs[0].header.Get("Idempotency-Key") != reqs[1].header.Get("Idempotency-Key") ||
			st.sentCount() != before+1 || got.ProviderID == "" {
			t.Fatalf("lost answer: %+v, %d requests, %d sent (before %d)", got, len(reqs), st.sentCount(), before)
		}
		time.Sleep(2 * time.Second)
		if n := len(st.requests("Invalid")); n != 1 {
			t.Fatalf("a 422 was retried: %d requests", n)
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %v", lines)
		}
	}, func(cfg *config.Config) {
		cfg.EmailProvider, cfg.ResendAPIKey, cfg.ResendAPIBase = "resend", "re_test_key", st.srv.URL
	})
}

// TestPostmark sends through a stand-in that follows Postmark's documented
// API (POST /email, X-Postmark-Server-Token, MessageID answer, ErrorCode
// refusals), on both stores: the request carries every field, marketing
// goes to the broadcast stream; a 500 is retried; ErrorCode 406 (inactive
// recipient) fails the email at once.
func TestPostmark(t *testing.T) {
	t.Parallel()
	st := newStandin(t, "postmark", "pm-server-token")
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		st.reset(func(subject string, n int) (int, map[string]string, string, bool) {
			switch {
			case subject == "Flaky" && n == 1:
				return 500, nil, `{"ErrorCode":0,"Message":"internal error"}`, false
			case subject == "Inactive":
				return 422, nil, `{"ErrorCode":406,"Message":"You tried to send to a recipient that has been marked as inactive."}`, false
			}
			return 200, nil, "", false
		})
		c := providerTenant(t, env, "postmark")
		e := sendOK(t, c, `{"from":"Acme <hello@acme.example>","to":["ana@x.example","bo@x.example"],"cc":"cy@x.example",
			"reply_to":"help@acme.example","subject":"News","html":"<p>News</p>","text":"News","category":"marketing",
			"headers":{"X-Campaign":"c1"},"tags":["weekly"],"metadata":{"order":"7","n":3},
			"attachments":[{"filename":"logo.png","content":"aGk=","content_type":"image/png","content_id":"logo"}]}`)
		got := waitStatus(t, c, e.ID, "sent", "failed")
		reqs := st.requests("News")
		if got.Status != "sent" || got.Provider != "postmark" || len(reqs) != 1 || got.ProviderID != "postmark-msg-1" {
			t.Fatalf("after send: %+v (%d requests)", got, len(reqs))
		}
		b := reqs[0].body
		md, _ := b["Metadata"].(map[string]any)
		atts, _ := b["Attachments"].([]any)
		att, _ := atts[0].(map[string]any)
		if b["From"] != `"Acme" <hello@acme.example>` || b["To"] != "ana@x.example, bo@x.example" || b["Cc"] != "cy@x.example" ||
			b["ReplyTo"] != "help@acme.example" || b["HtmlBody"] != "<p>News</p>" || b["TextBody"] != "News" ||
			b["MessageStream"] != "broadcast" || b["Tag"] != "weekly" || md["order"] != "7" || md["n"] != "3" || md["joist_email_id"] != e.ID ||
			!strings.Contains(fmt.Sprint(b["Headers"]), "Name:X-Campaign Value:c1") || strings.Contains(fmt.Sprint(b["Headers"]), "Auto-Submitted") ||
			att["Name"] != "logo.png" || att["Content"] != "aGk=" || att["ContentType"] != "image/png" || att["ContentID"] != "cid:logo" {
			t.Fatalf("request: %v", b)
		}

		e2 := sendOK(t, c, `{"from":"hello@acme.example","to":"bo@x.example","subject":"Flaky","text":"r"}`)
		got = waitStatus(t, c, e2.ID, "sent", "failed")
		reqs = st.requests("Flaky")
		if got.Status != "sent" || !slices.Equal(eventTypes(got), []string{"queued", "deferred", "sent"}) || len(reqs) != 2 ||
			reqs[1].body["MessageStream"] != "outbound" {
			t.Fatalf("retried email: %+v, %d requests", got, len(reqs))
		}

		e3 := sendOK(t, c, `{"from":"hello@acme.example","to":"gone@x.example","subject":"Inactive","text":"r"}`)
		got = waitStatus(t, c, e3.ID, "sent", "failed")
		if got.Status != "failed" || !strings.Contains(got.Error, "ErrorCode 406") {
			t.Fatalf("refused email: %+v", got)
		}
		time.Sleep(2 * time.Second)
		if n := len(st.requests("Inactive")); n != 1 {
			t.Fatalf("ErrorCode 406 was retried: %d requests", n)
		}
		if lines := env.ErrorLines(); len(lines) > 0 {
			t.Fatalf("errors logged: %v", lines)
		}
	}, func(cfg *config.Config) {
		cfg.EmailProvider, cfg.PostmarkServerToken, cfg.PostmarkAPIBase = "postmark", "pm-server-token", st.srv.URL
	})
}
