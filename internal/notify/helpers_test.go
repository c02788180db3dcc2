package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/internal/tenants"
	"github.com/joist-dev/joist/internal/testutil"
	"github.com/joist-dev/joist/wire"
)

var root = auth.Actor{Type: auth.ActorRoot, ID: "root:test", AllTenants: true}

// caller is apptest's Caller, answering this package's resp.
type caller struct{ *apptest.Caller }

func newCaller(t *testing.T, env *apptest.Env, tenant string) *caller {
	return &caller{env.Caller(t, tenant)}
}

type resp struct {
	status int
	body   []byte
	header http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem is a problem+json answer's code and field.
type problem struct {
	Code   string `json:"code"`
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (c *caller) do(t *testing.T, method, path string, body any, hdr ...string) resp {
	t.Helper()
	r := c.Do(t, method, path, body, hdr...)
	return resp{status: r.Status, body: r.Body, header: r.Header}
}

func newTenant(t *testing.T, env *apptest.Env, slug string) store.Tenant {
	t.Helper()
	tn, err := env.App.Tenants.Create(context.Background(), root, tenants.Input{Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, timeout, func() error {
		if !cond() {
			return fmt.Errorf("waiting for %s", what)
		}
		return nil
	})
}

// must fails the test unless r has status want.
func (r resp) must(t *testing.T, want int, what string) resp {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: %d %s", what, r.status, r.body)
	}
	return r
}

// wantProblem checks a problem answer's status, code and field.
func (r resp) wantProblem(t *testing.T, status int, code, field string) {
	t.Helper()
	var p problem
	r.json(t, &p)
	if r.status != status || p.Code != code || (field != "" && p.Field != field) {
		t.Fatalf("want %d %s (%s), got %d %s", status, code, field, r.status, r.body)
	}
}

// eventDone waits for an event's fan-out to finish and returns it.
func eventDone(t *testing.T, c *caller, id string) wire.NotifyEvent {
	t.Helper()
	var ev wire.NotifyEvent
	waitFor(t, 60*time.Second, "event "+id+" to be fanned out", func() bool {
		c.do(t, "GET", "/v1/events/"+id, nil).must(t, http.StatusOK, "get event").json(t, &ev)
		return ev.Status == "done"
	})
	return ev
}

// notificationsOf lists every notification of an event, page by page.
func notificationsOf(t *testing.T, c *caller, id string) []wire.Notification {
	t.Helper()
	var out []wire.Notification
	cursor := ""
	for {
		var l wire.List[wire.Notification]
		c.do(t, "GET", "/v1/events/"+id+"/notifications?limit=500&cursor="+cursor, nil).must(t, http.StatusOK, "notifications").json(t, &l)
		out = append(out, l.Data...)
		if l.NextCursor == "" {
			return out
		}
		cursor = l.NextCursor
	}
}

// byChannel indexes a notification's deliveries by channel.
func byChannel(n wire.Notification) map[string]wire.NotificationDelivery {
	m := map[string]wire.NotificationDelivery{}
	for _, d := range n.Deliveries {
		m[d.Channel] = d
	}
	return m
}

// bookingType is the booking type without its digest (each
// event's email goes out on its own).
const bookingType = `{"channels": {
	"in_app": {"title": "New booking", "body": "{{.data.guest}} booked {{.data.room}}", "url": "/bookings/{{.data.id}}"},
	"email": {"template": "booking-created", "from": "Acme <hello@acme.example>"},
	"push": {"title": "New booking", "body": "{{.data.guest}}, {{.data.nights}} nights"}},
	"defaults": {"in_app": true, "email": true, "push": true},
	"group": "bookings"}`

// bookingDigestType is bookingType with the digest: its email and
// push go out once per property per 10 minutes (see digest_test.go).
const bookingDigestType = `{"channels": {
	"in_app": {"title": "New booking", "body": "{{.data.guest}} booked {{.data.room}}", "url": "/bookings/{{.data.id}}"},
	"email": {"template": "booking-digest", "from": "Acme <hello@acme.example>"},
	"push": {"title": "New booking", "body": "{{.data.guest}}, {{.data.nights}} nights"}},
	"defaults": {"in_app": true, "email": true, "push": true},
	"group": "bookings",
	"digest": {"window": "10m", "key": "{{.data.property_id}}"}}`

const bookingTemplate = `{"default_locale": "en", "variants": {
	"en": {"subject": "New booking by {{.data.guest}}", "text": "Hello {{.contact.name}}, {{.data.guest}} booked {{.data.room}}."},
	"de": {"subject": "Neue Buchung von {{.data.guest}}", "text": "Hallo {{.contact.name}}, {{.data.guest}} hat {{.data.room}} gebucht."}}}`

// storeUnchanged fails unless no table's row count moved since before.
func storeUnchanged(t *testing.T, env *apptest.Env, before map[string]int) {
	t.Helper()
	storetest.Unchanged(t, before, env.Snapshot(t))
}
