package email_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/email"
	"github.com/joist-dev/joist/wire"
)

var resendKey = []byte("resend-test-signing-key-32-bytes")

// resendSecret is the source's secret as Resend shows it (whsec_ + base64).
var resendSecret = "whsec_" + base64.StdEncoding.EncodeToString(resendKey)

// postResend delivers body to an ingest path signed as Resend (Svix) signs.
func postResend(t *testing.T, env *apptest.Env, path, id, body string) int {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, resendKey)
	m.Write([]byte(id + "." + ts + "." + body))
	req, _ := http.NewRequestWithContext(context.Background(), "POST", env.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("svix-id", id)
	req.Header.Set("svix-timestamp", ts)
	req.Header.Set("svix-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func resendEvent(typ, providerID, to, bounceType string) string {
	b := fmt.Sprintf(`{"type":%q,"created_at":"2025-03-14T10:00:00.000Z","data":{"email_id":%q,"from":"hello@acme.example","to":[%q],"subject":"x"`,
		typ, providerID, to)
	if bounceType != "" {
		b += fmt.Sprintf(`,"bounce":{"type":%q,"subType":"General","message":"mailbox does not exist"}`, bounceType)
	}
	return b + "}}"
}

// sendWithProviderID sends an email through the outbox, waits until it is
// captured and gives it providerID, as a real provider's answer would.
func sendWithProviderID(t *testing.T, env *apptest.Env, c *caller, tenantID, body, providerID string) string {
	t.Helper()
	e := sendAndWait(t, c, body, "captured")
	if err := email.SetProviderID(context.Background(), env.App.DB, tenantID, e.ID, providerID); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

func sendAndWait(t *testing.T, c *caller, body, status string) wire.Email {
	t.Helper()
	r := c.do(t, "POST", "/v1/emails", body)
	if r.status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.status, r.body)
	}
	var e wire.Email
	r.json(t, &e)
	return waitEmailStatus(t, c, e.ID, status)
}

func waitEmailStatus(t *testing.T, c *caller, id, status string) wire.Email {
	t.Helper()
	var got wire.Email
	waitFor(t, 20*time.Second, "email "+id+" to be "+status, func() bool {
		c.do(t, "GET", "/v1/emails/"+id, nil).json(t, &got)
		return got.Status == status
	})
	return got
}

func eventTypes(e wire.Email) string {
	var out []string
	for _, ev := range e.Events {
		out = append(out, ev.Type)
	}
	return strings.Join(out, ",")
}

// TestResendDeliveryEvents runs a real joist per store with a Resend
// source: Svix-signed events move an email to delivered, a late delivered
// never undoes a bounce, a hard bounce suppresses the address so that the
// next send to it is suppressed without reaching the provider, a marketing
// complaint does not block transactional mail, and an event naming no
// email is stored and ignored, its job done.
func TestResendDeliveryEvents(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		if r := c.do(t, "PUT", "/v1/webhook-sources/resend", `{"provider":"resend","secrets":[{"secret":"`+resendSecret+`"}]}`); r.status/100 != 2 {
			t.Fatalf("source: %d %s", r.status, r.body)
		}
		if r := c.do(t, "PUT", "/v1/contacts/ana", `{"email":"ana@guest.example"}`); r.status != http.StatusCreated {
			t.Fatalf("contact: %d %s", r.status, r.body)
		}
		id := sendWithProviderID(t, env, c, tn.ID, `{"from":"hello@acme.example","contact":"ana","subject":"Hi","text":"hi"}`, "re-1")
		if st := postResend(t, env, "/in/acme/resend", "msg_1", resendEvent("email.delivered", "re-1", "ana@guest.example", "")); st != 200 {
			t.Fatalf("webhook: %d", st)
		}
		got := waitEmailStatus(t, c, id, "delivered")
		if eventTypes(got) != "queued,captured,delivered" {
			t.Fatalf("events: %s", eventTypes(got))
		}
		var tl wire.List[wire.TimelineEntry]
		c.do(t, "GET", "/v1/contacts/ana/timeline", nil).json(t, &tl)
		found := false
		for _, e := range tl.Data {
			found = found || (e.Kind == "email.delivered" && e.RefID == id && e.CorrelationID != "")
		}
		if !found {
			t.Fatalf("timeline has no email.delivered with a correlation id: %+v", tl.Data)
		}

		// A hard bounce: bounced, the address suppressed in both categories;
		// a late delivered changes the status no more.
		bid := sendWithProviderID(t, env, c, tn.ID, `{"from":"hello@acme.example","to":"gone@guest.example","subject":"B","text":"b"}`, "re-2")
		postResend(t, env, "/in/acme/resend", "msg_2", resendEvent("email.bounced", "re-2", "gone@guest.example", "Permanent"))
		waitEmailStatus(t, c, bid, "bounced")
		postResend(t, env, "/in/acme/resend", "msg_3", resendEvent("email.delivered", "re-2", "gone@guest.example", ""))
		waitFor(t, 20*time.Second, "the late delivered event", func() bool {
			var e wire.Email
			c.do(t, "GET", "/v1/emails/"+bid, nil).json(t, &e)
			return strings.HasSuffix(eventTypes(e), "bounced,delivered")
		})
		if e := waitEmailStatus(t, c, bid, "bounced"); !strings.Contains(e.Events[2].Detail, "hard bounce") {
			t.Fatalf("bounce detail: %+v", e.Events)
		}
		var sups wire.List[email.SuppressionView]
		c.do(t, "GET", "/v1/email/suppressions?address=gone@guest.example", nil).json(t, &sups)
		if len(sups.Data) != 2 || sups.Data[0].Source != "bounce" || sups.Data[0].EmailID != bid {
			t.Fatalf("suppressions after a hard bounce: %+v", sups.Data)
		}
		// The next send is suppressed: never captured (the provider is not called).
		s := sendAndWait(t, c, `{"from":"hello@acme.example","to":"Gone <GONE@guest.example>","subject":"Again","text":"x","category":"marketing"}`, "suppressed")
		if eventTypes(s) != "queued,suppressed" || s.Provider != "" || !strings.Contains(s.Error, "gone@guest.example") {
			t.Fatalf("suppressed send: %+v", s)
		}

		// A marketing complaint blocks marketing mail only.
		mid := sendWithProviderID(t, env, c, tn.ID, `{"from":"hello@acme.example","to":"bob@guest.example","subject":"Sale","text":"x","category":"marketing"}`, "re-3")
		postResend(t, env, "/in/acme/resend", "msg_4", resendEvent("email.complained", "re-3", "bob@guest.example", ""))
		waitEmailStatus(t, c, mid, "complained")
		sendAndWait(t, c, `{"from":"hello@acme.example","to":"bob@guest.example","subject":"Reset your password","text":"x"}`, "captured")
		sendAndWait(t, c, `{"from":"hello@acme.example","to":"bob@guest.example","subject":"Sale 2","text":"x","category":"marketing"}`, "suppressed")

		// An event naming no email: stored (200), its job done, nothing changed.
		before := env.Count(t, "email_events")
		if st := postResend(t, env, "/in/acme/resend", "msg_5", resendEvent("email.delivered", "re-unknown", "x@guest.example", "")); st != 200 {
			t.Fatalf("unknown: %d", st)
		}
		waitFor(t, 20*time.Second, "every email_event job to complete", func() bool {
			var jobs wire.List[wire.Job]
			c.do(t, "GET", "/v1/jobs?kind=email_event&limit=100", nil).json(t, &jobs)
			done := 0
			for _, j := range jobs.Data {
				if j.Kind == "email_event" && j.State == "completed" {
					done++
				}
			}
			return done == 5
		})
		if n := env.Count(t, "email_events"); n != before {
			t.Fatalf("an unknown provider id added email events: %d -> %d", before, n)
		}
	})
}

// TestPostmarkAndInstanceRouting: a Postmark source takes only requests
// with its Basic credentials (compared with the source's secret); the
// instance's Resend source routes each event to the tenant that sent the
// email; the suppression routes put, list and release.
func TestPostmarkAndInstanceRouting(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		tn := newTenant(t, env, "acme")
		other := newTenant(t, env, "other")
		c := newCaller(t, env, "acme")
		if r := c.do(t, "PUT", "/v1/webhook-sources/pm", `{"provider":"postmark","secrets":[{"secret":"joist:s3cret"}]}`); r.status/100 != 2 {
			t.Fatalf("source: %d %s", r.status, r.body)
		}
		id := sendWithProviderID(t, env, c, tn.ID, `{"from":"hello@acme.example","to":"ana@guest.example","subject":"P","text":"p"}`, "pm-msg-1")
		post := func(user, pass, body string) int {
			req, _ := http.NewRequestWithContext(context.Background(), "POST", env.URL+"/in/acme/pm", bytes.NewReader([]byte(body)))
			req.Header.Set("Content-Type", "application/json")
			if user != "" {
				req.SetBasicAuth(user, pass)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		bounce := `{"RecordType":"Bounce","ID":4323372036854775807,"Type":"HardBounce","TypeCode":1,"MessageID":"pm-msg-1",
			"Email":"ana@guest.example","Description":"The server was unable to deliver your message","BouncedAt":"2025-03-14T10:00:00Z"}`
		if st := post("joist", "wrong", bounce); st != http.StatusUnauthorized {
			t.Fatalf("wrong credentials: %d", st)
		}
		if st := post("", "", bounce); st != http.StatusUnauthorized {
			t.Fatalf("no credentials: %d", st)
		}
		if got := eventTypes(waitEmailStatus(t, c, id, "captured")); got != "queued,captured" {
			t.Fatalf("a refused webhook changed the email: %s", got)
		}
		if st := post("joist", "s3cret", bounce); st != http.StatusOK {
			t.Fatalf("right credentials: %d", st)
		}
		waitEmailStatus(t, c, id, "bounced")
		var sups wire.List[email.SuppressionView]
		c.do(t, "GET", "/v1/email/suppressions", nil).json(t, &sups)
		if len(sups.Data) != 2 || sups.Data[0].Address != "ana@guest.example" {
			t.Fatalf("postmark hard bounce suppressions: %+v", sups.Data)
		}

		// The instance's Resend source: an event goes to the tenant that sent the email.
		inst := newCaller(t, env, "")
		if r := inst.do(t, "PUT", "/v1/webhook-sources/resend", `{"provider":"resend","secrets":[{"secret":"`+resendSecret+`"}]}`); r.status/100 != 2 {
			t.Fatalf("instance source: %d %s", r.status, r.body)
		}
		oc := newCaller(t, env, "other")
		oid := sendWithProviderID(t, env, oc, other.ID, `{"from":"hello@other.example","to":"cy@guest.example","subject":"O","text":"o"}`, "re-other")
		postResend(t, env, "/in/_/resend", "msg_i1", resendEvent("email.delivered", "re-other", "cy@guest.example", ""))
		waitEmailStatus(t, oc, oid, "delivered")
		// A tenant's own source never reaches another tenant's email.
		c.do(t, "PUT", "/v1/webhook-sources/resend", `{"provider":"resend","secrets":[{"secret":"`+resendSecret+`"}]}`)
		postResend(t, env, "/in/acme/resend", "msg_i2", resendEvent("email.complained", "re-other", "cy@guest.example", ""))
		time.Sleep(500 * time.Millisecond)
		if e := waitEmailStatus(t, oc, oid, "delivered"); eventTypes(e) != "queued,captured,delivered" {
			t.Fatalf("acme's source changed other's email: %s", eventTypes(e))
		}

		// The suppression routes.
		r := c.do(t, "PUT", "/v1/email/suppressions/Dee@Guest.example", `{"category":"marketing","reason":"asked by phone","expires_at":"`+
			time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339)+`"}`)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"address":"dee@guest.example"`) || !strings.Contains(string(r.body), `"source":"api"`) {
			t.Fatalf("put: %d %s", r.status, r.body)
		}
		if r := c.do(t, "PUT", "/v1/email/suppressions/not-an-address", `{}`); r.status != http.StatusBadRequest {
			t.Fatalf("bad address: %d %s", r.status, r.body)
		}
		if r := c.do(t, "PUT", "/v1/email/suppressions/dee@guest.example", `{"category":"spam"}`); r.status != http.StatusBadRequest {
			t.Fatalf("bad category: %d %s", r.status, r.body)
		}
		sendAndWait(t, c, `{"from":"hello@acme.example","to":"dee@guest.example","subject":"T","text":"t"}`, "captured")
		sendAndWait(t, c, `{"from":"hello@acme.example","to":"dee@guest.example","subject":"M","text":"m","category":"marketing"}`, "suppressed")
		if r := c.do(t, "DELETE", "/v1/email/suppressions/dee@guest.example", nil); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if r := c.do(t, "DELETE", "/v1/email/suppressions/dee@guest.example", nil); r.status != http.StatusNotFound {
			t.Fatalf("delete again: %d %s", r.status, r.body)
		}
		sendAndWait(t, c, `{"from":"hello@acme.example","to":"dee@guest.example","subject":"M2","text":"m","category":"marketing"}`, "captured")
		if r := c.do(t, "DELETE", "/v1/email/suppressions/ana@guest.example?category=transactional", nil); r.status != http.StatusNoContent {
			t.Fatalf("delete one category: %d %s", r.status, r.body)
		}
		c.do(t, "GET", "/v1/email/suppressions?limit=1", nil).json(t, &sups)
		if len(sups.Data) != 1 || sups.Data[0].Category != "marketing" || sups.Data[0].Address != "ana@guest.example" {
			t.Fatalf("after release: %+v", sups.Data)
		}
	})
}
