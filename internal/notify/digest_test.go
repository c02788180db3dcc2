package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// bookingDigestTemplate lists a digest's events (the template context of
// a digest's email: the latest event's data, with .data.digest).
const bookingDigestTemplate = `{"default_locale": "en", "variants": {
	"en": {"subject": "{{.data.digest.count}} new bookings", "text": "Hello {{.contact.name}},{{range .data.digest.events}}\n- {{.data.guest}} booked {{.data.room}}{{end}}\nLatest: {{.data.guest}}"}}}`

// digestEnv is a joist with the digest type and its template, the
// notification system's clock shifted by *offset.
type digestEnv struct {
	env    *apptest.Env
	c      *caller
	tenant store.Tenant
	offset *atomic.Int64
}

func newDigestEnv(t *testing.T, env *apptest.Env, typ string) *digestEnv {
	t.Helper()
	d := &digestEnv{env: env, offset: &atomic.Int64{}}
	off := d.offset
	env.App.Notify.SetClockForTest(func() time.Time { return time.Now().UTC().Truncate(time.Microsecond).Add(time.Duration(off.Load())) })
	d.tenant = newTenant(t, env, "acme")
	d.c = newCaller(t, env, "acme")
	d.c.do(t, "PUT", "/v1/email/templates/booking-digest", bookingDigestTemplate).must(t, http.StatusCreated, "template")
	var nt wire.NotificationType
	d.c.do(t, "PUT", "/v1/notification-types/booking.created", typ).must(t, http.StatusCreated, "type").json(t, &nt)
	if nt.Digest == nil || nt.Digest.Key != "{{.data.property_id}}" {
		t.Fatalf("type: %+v", nt)
	}
	return d
}

// post posts one booking event to recipients (on the caller given, or d's)
// and waits for its fan-out.
func (d *digestEnv) post(t *testing.T, c *caller, guest, room, property string, recips ...string) wire.NotifyEvent {
	t.Helper()
	if c == nil {
		c = d.c
	}
	var ev wire.NotifyEvent
	c.do(t, "POST", "/v1/events", fmt.Sprintf(`{"type":"booking.created","recipients":["%s"],"data":{"guest":%q,"room":%q,"id":"b","nights":1,"property_id":%q}}`,
		strings.Join(recips, `","`), guest, room, property)).must(t, http.StatusAccepted, "post").json(t, &ev)
	return eventDone(t, c, ev.ID)
}

func (d *digestEnv) digest(t *testing.T, id string) wire.NotificationDigestView {
	t.Helper()
	var v wire.NotificationDigestView
	d.c.do(t, "GET", "/v1/digests/"+id, nil).must(t, http.StatusOK, "digest").json(t, &v)
	return v
}

// capturedEmail waits for email id to be in the outbox and returns it.
func (d *digestEnv) capturedEmail(t *testing.T, id string) wire.Email {
	t.Helper()
	var em wire.Email
	waitFor(t, 30*time.Second, "email "+id+" in the outbox", func() bool {
		d.c.do(t, "GET", "/v1/emails/"+id, nil).must(t, http.StatusOK, "email").json(t, &em)
		return em.Status == "captured"
	})
	return em
}

func digestChannels(v wire.NotificationDigestView) map[string]wire.NotificationDelivery {
	m := map[string]wire.NotificationDelivery{}
	for _, x := range v.Deliveries {
		m[x.Channel] = x
	}
	return m
}

// TestDigestGathersEvents: three events of a digest type for one contact
// and key inside the window keep three in-app notifications but record
// their email and push as digested into one digest; a different key is a
// separate digest, a muted channel is skipped muted (not digested), and
// an event after the window opens a new digest. When the window closes
// the digest goes out once (its job run twice): one email listing all
// three events, in the outbox.
func TestDigestGathersEvents(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		d := newDigestEnv(t, env, bookingDigestType)
		c := d.c
		c.do(t, "PUT", "/v1/contacts/host", `{"email":"host@host.example","name":"Hans"}`).must(t, http.StatusCreated, "contact")
		c.do(t, "PUT", "/v1/contacts/quiet", `{"email":"quiet@host.example","name":"Quinn"}`).must(t, http.StatusCreated, "contact")
		c.do(t, "PUT", "/v1/contacts/quiet/preferences", `{"types":{"booking.created":{"email":false}}}`).must(t, http.StatusOK, "prefs")

		var evs []wire.NotifyEvent
		for _, g := range []string{"Ana", "Bob", "Cy"} {
			evs = append(evs, d.post(t, nil, g, "Suite "+g, "p1", "host", "quiet"))
		}
		other := d.post(t, nil, "Dee", "Loft", "p2", "host")
		digestOf := func(ev wire.NotifyEvent, contact string) (wire.Notification, string) {
			t.Helper()
			for _, n := range notificationsOf(t, c, ev.ID) {
				if n.Contact != contact {
					continue
				}
				ch := byChannel(n)
				if ch["in_app"].Status != "delivered" || !n.InFeed {
					t.Fatalf("in_app of a digested notification: %+v", n)
				}
				return n, ch["email"].Target
			}
			t.Fatalf("no notification of %s for %s", ev.ID, contact)
			return wire.Notification{}, ""
		}
		var first string
		for i, ev := range evs {
			n, id := digestOf(ev, "host")
			ch := byChannel(n)
			for _, x := range []string{"email", "push"} {
				if ch[x].Status != "skipped" || ch[x].Reason != "digested" || ch[x].Target != id || !strings.HasPrefix(id, "ndg_") {
					t.Fatalf("event %d %s: %+v", i, x, ch[x])
				}
			}
			if first == "" {
				first = id
			} else if id != first {
				t.Fatalf("event %d went into digest %s, not %s", i, id, first)
			}
			// The muted channel is skipped muted, the other digested (a
			// digest of its own: another contact).
			qn, _ := digestOf(ev, "quiet")
			qc := byChannel(qn)
			if qc["email"].Status != "skipped" || qc["email"].Reason != "muted" || qc["push"].Reason != "digested" || qc["push"].Target == first {
				t.Fatalf("quiet's deliveries: %+v", qn.Deliveries)
			}
		}
		_, second := digestOf(other, "host")
		if second == first || second == "" {
			t.Fatalf("another key went into %q (first %q)", second, first)
		}
		v := d.digest(t, first)
		if v.Status != "open" || v.Count != 3 || len(v.Notifications) != 3 || v.Contact != "host" || v.Key != "p1" || len(v.Deliveries) != 0 ||
			!v.WindowEnd.Equal(v.WindowStart.Add(10*time.Minute)) || v.JobID == "" || v.SentAt != nil {
			t.Fatalf("open digest: %+v", v)
		}
		if d.digest(t, second).Count != 1 {
			t.Fatalf("second digest: %+v", d.digest(t, second))
		}

		// After the window, an event opens a new digest; the old one is
		// closed (no event joins it) until its job sends it.
		d.offset.Store(int64(11 * time.Minute))
		late := d.post(t, nil, "Eve", "Attic", "p1", "host")
		if _, id := digestOf(late, "host"); id == first || id == second || id == "" {
			t.Fatalf("an event after the window went into %q", id)
		}
		if v := d.digest(t, first); v.Status != "closed" || v.Count != 3 {
			t.Fatalf("digest after its window: %+v", v)
		}
		emails := env.Count(t, "emails")

		// The job, twice (a retry, a second node): one email, one
		// delivery per channel.
		ctx := context.Background()
		for range 2 {
			if err := env.App.Notify.DigestSendForTest(ctx, d.tenant.ID, first); err != nil {
				t.Fatal(err)
			}
		}
		v = d.digest(t, first)
		dc := digestChannels(v)
		if v.Status != "sent" || v.SentAt == nil || len(v.Deliveries) != 2 || dc["email"].Status != "queued" || !strings.HasPrefix(dc["email"].Target, "em_") ||
			dc["push"].Status != "skipped" || dc["push"].Reason != "no_subscription" {
			t.Fatalf("sent digest: %+v", v)
		}
		if n := env.Count(t, "emails"); n != emails+1 {
			t.Fatalf("%d emails after the digest, want %d", n, emails+1)
		}
		em := d.capturedEmail(t, dc["email"].Target)
		want := "Hello Hans,\n- Ana booked Suite Ana\n- Bob booked Suite Bob\n- Cy booked Suite Cy\nLatest: Cy"
		if em.Subject != "3 new bookings" || !strings.Contains(em.Text, want) || em.To[0] != "host@host.example" {
			t.Fatalf("digest email: %q %q", em.Subject, em.Text)
		}

		// A key the event's data does not fit fails its email and push,
		// saying why; the in-app notification stands.
		var bad wire.NotifyEvent
		c.do(t, "POST", "/v1/events", `{"type":"booking.created","recipients":["host"],"data":{"guest":"X","room":"Y","id":"b","nights":1}}`).
			must(t, http.StatusAccepted, "post").json(t, &bad)
		eventDone(t, c, bad.ID)
		bn := notificationsOf(t, c, bad.ID)[0]
		if bc := byChannel(bn); bc["email"].Status != "failed" || !strings.Contains(bc["email"].Detail, "digest key") || bc["push"].Status != "failed" ||
			bc["in_app"].Status != "delivered" {
			t.Fatalf("a key that does not render: %+v", bn.Deliveries)
		}

		// Preferences apply again when a digest goes out: email muted
		// during the window skips the second digest's email.
		c.do(t, "PUT", "/v1/contacts/host/preferences", `{"types":{"booking.created":{"email":false}}}`).must(t, http.StatusOK, "prefs")
		if err := env.App.Notify.DigestSendForTest(ctx, d.tenant.ID, second); err != nil {
			t.Fatal(err)
		}
		if sc := digestChannels(d.digest(t, second)); sc["email"].Status != "skipped" || sc["email"].Reason != "muted" || sc["push"].Reason != "no_subscription" {
			t.Fatalf("second digest's deliveries: %+v", sc)
		}
		if n := env.Count(t, "emails"); n != emails+1 {
			t.Fatalf("%d emails after a muted digest, want %d", n, emails+1)
		}

		// Another tenant does not see it.
		newTenant(t, env, "other")
		newCaller(t, env, "other").do(t, "GET", "/v1/digests/"+first, nil).must(t, http.StatusNotFound, "other tenant's digest")
		c.do(t, "GET", "/v1/digests/ndg_nope", nil).must(t, http.StatusNotFound, "unknown digest")
	})
}

// TestDigestJobAtWindowEnd: the digest's job, scheduled at its window's
// end by the fan-out that opened it, sends it then without anyone's help
// (the notification system's clock is set back so that the one-minute
// window ends two seconds after the event).
func TestDigestJobAtWindowEnd(t *testing.T) {
	t.Parallel()
	typ := strings.Replace(bookingDigestType, `"window": "10m"`, `"window": "1m"`, 1)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		d := newDigestEnv(t, env, typ)
		d.offset.Store(int64(-58 * time.Second))
		d.c.do(t, "PUT", "/v1/contacts/host", `{"email":"host@host.example","name":"Hans"}`).must(t, http.StatusCreated, "contact")
		ev := d.post(t, nil, "Ana", "Suite 4", "p1", "host")
		id := byChannel(notificationsOf(t, d.c, ev.ID)[0])["email"].Target
		var v wire.NotificationDigestView
		waitFor(t, 60*time.Second, "the digest to be sent", func() bool {
			v = d.digest(t, id)
			return v.Status == "sent"
		})
		em := d.capturedEmail(t, digestChannels(v)["email"].Target)
		if em.Subject != "1 new bookings" || !strings.Contains(em.Text, "- Ana booked Suite 4") {
			t.Fatalf("digest email: %q %q", em.Subject, em.Text)
		}
	})
}

// TestDigestExactlyOnce: twenty events posted at once for one contact and
// key (on PostgreSQL through two nodes of one database) gather into
// exactly one digest; its job run concurrently on both nodes sends one
// email.
func TestDigestExactlyOnce(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		d := newDigestEnv(t, env, bookingDigestType)
		d.c.do(t, "PUT", "/v1/contacts/host", `{"email":"host@host.example","name":"Hans"}`).must(t, http.StatusCreated, "contact")
		nodes := []*apptest.Env{env}
		if env.Dialect == store.Postgres {
			nodes = append(nodes, env.Node(t))
			nodes[1].App.Notify.SetClockForTest(func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) })
		}
		callers := make([]*caller, len(nodes))
		for i, n := range nodes {
			callers[i] = newCaller(t, n, "acme")
		}
		const events = 20
		var wg sync.WaitGroup
		ids := make([]string, events)
		for i := range events {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var ev wire.NotifyEvent
				r := callers[i%len(callers)].do(t, "POST", "/v1/events", fmt.Sprintf(`{"type":"booking.created","recipients":["host"],
					"data":{"guest":"G%02d","room":"R","id":"b","nights":1,"property_id":"p1"}}`, i))
				if r.status != http.StatusAccepted {
					t.Errorf("post %d: %d %s", i, r.status, r.body)
					return
				}
				r.json(t, &ev)
				ids[i] = ev.ID
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		targets := map[string]int{}
		for _, id := range ids {
			eventDone(t, d.c, id)
			ch := byChannel(notificationsOf(t, d.c, id)[0])
			if ch["email"].Reason != "digested" {
				t.Fatalf("event %s: %+v", id, ch["email"])
			}
			targets[ch["email"].Target]++
		}
		if len(targets) != 1 || env.Count(t, "notification_digests") != 1 {
			t.Fatalf("digests: %v (%d rows)", targets, env.Count(t, "notification_digests"))
		}
		var id string
		for id = range targets {
		}
		if v := d.digest(t, id); v.Count != events || v.Status != "open" {
			t.Fatalf("digest: %+v", v)
		}
		emails := env.Count(t, "emails")
		var jwg sync.WaitGroup
		for i := range 4 {
			jwg.Add(1)
			go func() {
				defer jwg.Done()
				if err := nodes[i%len(nodes)].App.Notify.DigestSendForTest(context.Background(), d.tenant.ID, id); err != nil {
					t.Error(err)
				}
			}()
		}
		jwg.Wait()
		v := d.digest(t, id)
		if n := env.Count(t, "emails"); n != emails+1 || env.Count(t, "notification_digest_deliveries") != 2 || v.Status != "sent" {
			t.Fatalf("%d emails (want %d), digest %+v", n, emails+1, v)
		}
		em := d.capturedEmail(t, digestChannels(v)["email"].Target)
		if em.Subject != fmt.Sprintf("%d new bookings", events) || strings.Count(em.Text, "\n- G") != events {
			t.Fatalf("digest email: %q %q", em.Subject, em.Text)
		}
	})
}
