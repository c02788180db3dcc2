package notify_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/admin/admintest"
	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

// hostileGuest is what an attacker could type as their name in the app's
// booking form: it ends up in an event's data and its in-app title.
const hostileGuest = `<img src=x onerror="document.title='pwned'">`

// fcmToken is a device's registration token; the pages show only a hint.
const fcmToken = "fcm-token-0123456789-SECRETMIDDLE-abcdefghij"

// adminFixture is a tenant with an email template, a type with every
// channel, an instance's critical type, a contact with an address and a
// phone, and one event posted through the API to the contact and an
// unknown id, fanned out.
type adminFixture struct {
	tenant store.Tenant
	event  wire.NotifyEvent
	note   wire.Notification
}

func newAdminFixture(t *testing.T, env *apptest.Env, slug string) adminFixture {
	t.Helper()
	tn := newTenant(t, env, slug)
	c := newCaller(t, env, slug)
	c.do(t, "PUT", "/v1/email/templates/booking-created", bookingTemplate).must(t, http.StatusCreated, "template")
	c.do(t, "PUT", "/v1/notification-types/booking.created", strings.Replace(bookingType, `"title": "New booking"`, `"title": "{{.data.guest}} booked"`, 1)).
		must(t, http.StatusCreated, "type")
	c.do(t, "PUT", "/v1/contacts/host", `{"email":"host@`+slug+`.example","name":"Hans"}`).must(t, http.StatusCreated, "contact")
	c.do(t, "POST", "/v1/contacts/host/devices", `{"platform":"fcm","token":"`+fcmToken+`"}`).must(t, http.StatusCreated, "device")
	c.do(t, "PUT", "/v1/contacts/host/preferences", `{"types":{"booking.created":{"push":false}}}`).must(t, http.StatusOK, "preferences")
	var ev wire.NotifyEvent
	c.do(t, "POST", "/v1/events", map[string]any{"type": "booking.created", "recipients": []string{"host", "ghost-" + slug},
		"data": map[string]any{"guest": hostileGuest, "room": "4", "id": "b-" + slug, "nights": 2, "property_id": "p"}},
		"Joist-Correlation-Id", "corr-"+slug).must(t, http.StatusAccepted, "post").json(t, &ev)
	ev = eventDone(t, c, ev.ID)
	notes := notificationsOf(t, c, ev.ID)
	if len(notes) != 1 {
		t.Fatalf("%d notifications", len(notes))
	}
	return adminFixture{tenant: tn, event: ev, note: notes[0]}
}

// instanceType puts a critical type on the instance (root key, no
// Joist-Tenant): every tenant resolves it.
func instanceType(t *testing.T, env *apptest.Env) {
	t.Helper()
	newCaller(t, env, "").do(t, "PUT", "/v1/notification-types/security.alert",
		`{"channels":{"in_app":{"title":"Security alert"}},"critical":true,"group":"security"}`).must(t, http.StatusCreated, "instance type")
}

// TestNotifyAdminPages: a viewer goes from the tenant page to the events,
// filters them by type, opens an event with its data, counts, skipped
// recipient and its notification's deliveries (the email's linked to the
// email's page, the muted push with its reason), sees the types with
// their owner (the tenant's, the instance's), and the contact page's card
// with the notification and its feed state, the phone (a hint of its
// token, never the token) and the effective preferences with their
// reasons. A hostile guest name in the data and title is text everywhere.
func TestNotifyAdminPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		instanceType(t, env)
		fx := newAdminFixture(t, env, "acme")
		byCh := byChannel(fx.note)
		if byCh["email"].Target == "" || byCh["push"].Status != "skipped" {
			t.Fatalf("deliveries: %+v", fx.note.Deliveries)
		}
		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)
		v := admintest.NewClient(t, env)
		v.Login("vera@example.com", admintest.Password)

		admintest.Want(t, "tenant page", v.Get("/admin/tenants/acme"), http.StatusOK,
			`href="/admin/tenants/acme/notifications"`, `id="tenant-notifications"`, `id="tenant-notification-types"`)
		admintest.Want(t, "instance page", v.Get("/admin/tenants/_"), http.StatusOK, `href="/admin/tenants/_/notifications/types"`)

		list := v.Get("/admin/tenants/acme/notifications")
		admintest.Want(t, "events", list, http.StatusOK, fx.event.ID, "booking.created", ">done<", `aria-current="page">all<`,
			`href="/admin/tenants/acme/notifications?type=security.alert"`)
		admintest.Want(t, "events of another type", v.Get("/admin/tenants/acme/notifications?type=security.alert"), http.StatusOK, "No event matches.")
		admintest.Want(t, "events of the type", v.Get("/admin/tenants/acme/notifications?type=booking.created"), http.StatusOK, fx.event.ID,
			`aria-current="page">booking.created<`)
		admintest.Want(t, "a bad cursor", v.Get("/admin/tenants/acme/notifications?cursor=nonsense"), http.StatusBadRequest)
		admintest.Want(t, "the instance has no events", v.Get("/admin/tenants/_/notifications"), http.StatusNotFound)

		page := v.Get("/admin/tenants/acme/notifications/events/" + fx.event.ID)
		admintest.Want(t, "event", page, http.StatusOK, fx.event.ID, `id="event-status">done<`, "2 named, 2 handled: 1 notified, 1 skipped",
			`id="event-skips"`, "ghost-acme", "unknown_contact", `&#34;room&#34;: &#34;4&#34;`,
			"corr-acme", `href="/admin/tenants/acme/contacts/host"`, fx.note.ID,
			`href="/admin/tenants/acme/emails/`+byCh["email"].Target+`"`, ">"+byCh["email"].Status+"<",
			">push<", ">skipped<", "<code>muted</code>", ">in_app<", "&lt;img src=x onerror=")
		admintest.Want(t, "unknown event", v.Get("/admin/tenants/acme/notifications/events/nev_nope"), http.StatusNotFound)

		// A digest type shows its window and key.
		newCaller(t, env, "acme").do(t, "PUT", "/v1/notification-types/booking.digest", bookingDigestType).must(t, http.StatusCreated, "digest type")
		types := v.Get("/admin/tenants/acme/notifications/types")
		admintest.Want(t, "types", types, http.StatusOK, "booking.created", `badge ok">tenant<`, "security.alert", `badge">instance<`,
			`badge revoked">critical<`, "<code>bookings</code>", "10m", "{{.data.property_id}}", "booking-created")
		inst := v.Get("/admin/tenants/_/notifications/types")
		admintest.Want(t, "instance types", inst, http.StatusOK, "security.alert")
		if strings.Contains(inst.Body, "booking.created") {
			t.Fatal("the instance's types list a tenant's type")
		}

		contact := v.Get("/admin/tenants/acme/contacts/host")
		admintest.Want(t, "contact card", contact, http.StatusOK, `id="contact-notifications"`, fx.note.ID, ">unseen<",
			`id="contact-push-targets"`, ">fcm<", "fcm-to…efghij", `id="contact-preferences"`, "type_off", "type_default", "<code>critical</code>",
			"&lt;img src=x onerror=")
		if strings.Contains(contact.Body, "SECRETMIDDLE") {
			t.Fatal("the contact page shows the device's whole token")
		}
		admintest.Want(t, "a contact without notifications", v.Get("/admin/tenants/acme/contacts/"+url.PathEscape("ghost-acme")), http.StatusNotFound)

		for path, r := range map[string]admintest.Response{"events": list, "event": page, "types": types, "contact": contact} {
			if strings.Contains(r.Body, "<img src=x") || strings.Contains(r.Body, `onerror="document`) {
				t.Fatalf("the %s page holds the hostile name unescaped", path)
			}
		}
		for _, r := range []admintest.Response{list, page, types} {
			if strings.Count(r.Body, `method="post"`) > 1 { // the layout's logout form alone
				t.Fatal("a notification page has a form that writes")
			}
		}
	})
}

// TestNotifyAdminTenantScope: an operator scoped to tenant A gets 404 for
// B's events, event (even with A in the path), types and the instance's
// types, and A's pages never list B's rows.
func TestNotifyAdminTenantScope(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		alpha := newAdminFixture(t, env, "alpha")
		bravo := newAdminFixture(t, env, "bravo")
		newCaller(t, env, "bravo").do(t, "PUT", "/v1/notification-types/bravo.secret", `{"channels":{"in_app":{"title":"Bravo's secret"}}}`).
			must(t, http.StatusCreated, "bravo's type")
		admintest.MkOperator(t, env, "sam@example.com", auth.RoleSupport, alpha.tenant.ID)
		sam := admintest.NewClient(t, env)
		sam.Login("sam@example.com", admintest.Password)

		admintest.Want(t, "own events", sam.Get("/admin/tenants/alpha/notifications"), http.StatusOK, alpha.event.ID)
		for _, path := range []string{
			"/admin/tenants/bravo/notifications",
			"/admin/tenants/bravo/notifications?type=bravo.secret",
			"/admin/tenants/bravo/notifications/events/" + bravo.event.ID,
			"/admin/tenants/" + bravo.tenant.ID + "/notifications/events/" + bravo.event.ID,
			"/admin/tenants/alpha/notifications/events/" + bravo.event.ID, // own tenant in the path, the other's event
			"/admin/tenants/bravo/notifications/types",
			"/admin/tenants/_/notifications/types",
			"/admin/tenants/bravo/contacts/host",
		} {
			r := sam.Get(path)
			admintest.Want(t, "GET "+path, r, http.StatusNotFound)
			// (the event's id may be in the message: it is in the path)
			if (!strings.Contains(path, bravo.event.ID) && strings.Contains(r.Body, bravo.event.ID)) ||
				strings.Contains(r.Body, "bravo.secret") && !strings.Contains(path, "bravo.secret") || strings.Contains(r.Body, "ghost-bravo") {
				t.Fatalf("GET %s shows the other tenant's rows", path)
			}
		}
		for _, path := range []string{"/admin/tenants/alpha/notifications", "/admin/tenants/alpha/notifications?type=booking.created",
			"/admin/tenants/alpha/notifications/types", "/admin/tenants/alpha/contacts/host",
			"/admin/tenants/alpha/notifications/events/" + alpha.event.ID} {
			r := sam.Get(path)
			admintest.Want(t, "GET "+path, r, http.StatusOK)
			for _, theirs := range []string{bravo.event.ID, bravo.note.ID, "bravo.secret", "ghost-bravo", "host@bravo.example"} {
				if strings.Contains(r.Body, theirs) {
					t.Fatalf("GET %s shows %s of the other tenant", path, theirs)
				}
			}
		}
	})
}

// TestNotifyAdminForgetTarget: support (contacts.write) forgets a
// contact's phone and browser from the contact page's card, each audited
// and gone for the API too; a viewer sees no Forget button and their POST
// with a valid token is 403, a scoped operator of another tenant gets
// 404, and a POST without the token is 403: all change nothing.
func TestNotifyAdminForgetTarget(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		fx := newAdminFixture(t, env, "acme")
		other := newTenant(t, env, "other")
		devs, err := env.App.Push.DeviceList(ctx, root, fx.tenant.ID, "host")
		if err != nil || len(devs) != 1 {
			t.Fatalf("devices: %v %v", devs, err)
		}
		phone := devs[0].ID
		var hostID string
		const sub = "psub_01admintest"
		err = env.App.DB.Write(ctx, func(tx *store.Tx) error {
			if err := tx.QueryRow(ctx, "SELECT id FROM contacts WHERE tenant_id = ? AND external_id = 'host'", fx.tenant.ID).Scan(&hostID); err != nil {
				return err
			}
			now := env.App.Core.Now()
			_, err := tx.Exec(ctx, `INSERT INTO push_subscriptions (id, tenant_id, contact_id, endpoint, p256dh, auth, created_at, updated_at)
				VALUES (?, ?, ?, 'https://push.example.net/send/abcdefghijklmnop', 'k', 'a', ?, ?)`, sub, fx.tenant.ID, hostID, now, now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		const contact = "/admin/tenants/acme/contacts/host"
		forget := func(id string) string {
			return "/admin/tenants/acme/notifications/contacts/host/targets/" + id + "/forget"
		}
		counts := func() [2]int { return [2]int{env.Count(t, "push_devices"), env.Count(t, "push_subscriptions")} }
		before := counts()

		admintest.MkOperator(t, env, "vera@example.com", auth.RoleViewer)
		admintest.MkOperator(t, env, "olga@example.com", auth.RoleAdmin, other.ID)
		admintest.MkOperator(t, env, "sam@example.com", auth.RoleSupport, fx.tenant.ID)
		v := admintest.NewClient(t, env)
		v.Login("vera@example.com", admintest.Password)
		vp := v.Get(contact)
		admintest.Want(t, "viewer's card", vp, http.StatusOK, "https://push.example.net/…klmnop", "fcm-to…efghij")
		if strings.Contains(vp.Body, `id="forget-`) {
			t.Fatal("the viewer sees a Forget button")
		}
		admintest.Want(t, "viewer forgets", v.Post(forget(phone), url.Values{"csrf": {v.CSRF(contact)}}), http.StatusForbidden)
		o := admintest.NewClient(t, env)
		o.Login("olga@example.com", admintest.Password)
		admintest.Want(t, "another tenant's admin forgets", o.Post(forget(phone), url.Values{"csrf": {o.CSRF("/admin/tenants/other")}}), http.StatusNotFound)
		s := admintest.NewClient(t, env)
		s.Login("sam@example.com", admintest.Password)
		admintest.Want(t, "no token", s.Post(forget(phone), url.Values{}), http.StatusForbidden)
		if got := counts(); got != before {
			t.Fatalf("refused posts changed the targets: %v -> %v", before, got)
		}

		page := s.Get(contact)
		admintest.Want(t, "support's card", page, http.StatusOK, `id="forget-`+phone+`"`, `id="forget-`+sub+`"`, `data-confirm="Forget this fcm target?`)
		csrf := s.CSRF(contact)
		admintest.Want(t, "unknown target", s.Post(forget("dev_nope"), url.Values{"csrf": {csrf}}), http.StatusNotFound)
		for _, id := range []string{phone, sub} {
			r := s.Post(forget(id), url.Values{"csrf": {csrf}})
			if r.Status != http.StatusSeeOther || r.Location != contact+"?flash=push_target_forgotten" {
				t.Fatalf("forget %s: %d %q\n%s", id, r.Status, r.Location, r.Body)
			}
		}
		admintest.Want(t, "after", s.Get(contact+"?flash=push_target_forgotten"), http.StatusOK, "was forgotten", "No device or browser registered for push.")
		if got := counts(); got != [2]int{before[0] - 1, before[1] - 1} {
			t.Fatalf("targets %v -> %v", before, got)
		}
		if devs, err := env.App.Push.DeviceList(ctx, root, fx.tenant.ID, "host"); err != nil || len(devs) != 0 {
			t.Fatalf("the API still lists %v (%v)", devs, err)
		}
		if got := admintest.AuditTargets(t, env, "push.device_deleted"); !slices.Equal(got, []string{phone}) {
			t.Fatalf("device audit: %v", got)
		}
		if got := admintest.AuditTargets(t, env, "push.subscription_deleted"); !slices.Equal(got, []string{sub}) {
			t.Fatalf("subscription audit: %v", got)
		}
	})
}
