package notify_test

import (
	"net/http"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/notify"
	"github.com/joist-dev/joist/wire"
)

// TestDecide is the preference model over override x group x critical x
// channel x the type's default: the type's override beats the group's,
// which beats the global channel switch (off only), which beats the
// type's default; a critical type ignores all of them.
func TestDecide(t *testing.T) {
	t.Parallel()
	off, on := false, true
	type ov struct {
		typ, grp, ch *bool
	}
	cases := []struct {
		name     string
		o        ov
		critical bool
		grouped  bool
		def      bool
		want     bool
		reason   string
	}{
		{"no override, default on", ov{}, false, true, true, true, "type_default"},
		{"no override, default off", ov{}, false, true, false, false, "type_default"},
		{"type off", ov{typ: &off}, false, true, true, false, "type_off"},
		{"type on beats default off", ov{typ: &on}, false, true, false, true, "type_on"},
		{"type on beats group off", ov{typ: &on, grp: &off}, false, true, true, true, "type_on"},
		{"type off beats group on", ov{typ: &off, grp: &on}, false, true, true, false, "type_off"},
		{"type on beats channel off", ov{typ: &on, ch: &off}, false, true, true, true, "type_on"},
		{"group off", ov{grp: &off}, false, true, true, false, "group_off"},
		{"group on beats channel off", ov{grp: &on, ch: &off}, false, true, true, true, "group_on"},
		{"group on beats default off", ov{grp: &on}, false, true, false, true, "group_on"},
		{"group override of a type without group", ov{grp: &off}, false, false, true, true, "type_default"},
		{"channel off", ov{ch: &off}, false, true, true, false, "channel_off"},
		{"channel on lets default off stand", ov{ch: &on}, false, true, false, false, "type_default"},
		{"channel on, default on", ov{ch: &on}, false, true, true, true, "type_default"},
		{"critical ignores type off", ov{typ: &off}, true, true, true, true, "critical"},
		{"critical ignores group off", ov{grp: &off}, true, true, true, true, "critical"},
		{"critical ignores channel off", ov{ch: &off}, true, true, true, true, "critical"},
		{"critical ignores its own default off", ov{}, true, true, false, true, "critical"},
	}
	for _, ch := range notify.Channels {
		for _, tc := range cases {
			typ := notify.Type{Name: "booking.created", Critical: tc.critical, Defaults: map[string]bool{ch: tc.def}}
			if tc.grouped {
				typ.Group = "bookings"
			}
			o := wire.NotificationPreferencesPut{}
			if tc.o.typ != nil {
				o.Types = map[string]map[string]bool{"booking.created": {ch: *tc.o.typ}, "other.type": {ch: !*tc.o.typ}}
			}
			if tc.o.grp != nil {
				o.Groups = map[string]map[string]bool{"bookings": {ch: *tc.o.grp}}
			}
			if tc.o.ch != nil {
				o.Channels = map[string]bool{ch: *tc.o.ch}
			}
			// Another channel's overrides never leak into this one.
			other := "in_app"
			if ch == other {
				other = "push"
			}
			if o.Channels == nil {
				o.Channels = map[string]bool{other: false}
			}
			got, why := notify.Decide(typ, o, ch)
			if got != tc.want || why != tc.reason {
				t.Errorf("%s / %s: got %v %s, want %v %s", ch, tc.name, got, why, tc.want, tc.reason)
			}
		}
	}
}

// TestPreferencesRouteDeliveries runs the preference model end to end on
// both stores: contacts with a type override, a group override, a channel
// switch off, a suppressed address and no address get events of a normal
// and a critical type of one group; each delivery's recorded status and
// reason follow the model (critical types ignore opt-outs, but not a
// suppression or a missing address). GET shows the effective values.
func TestPreferencesRouteDeliveries(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/email/templates/booking-created", bookingTemplate).must(t, http.StatusCreated, "template")
		c.do(t, "PUT", "/v1/notification-types/booking.created", bookingType).must(t, http.StatusCreated, "type")
		c.do(t, "PUT", "/v1/notification-types/security.alert", `{"channels":{"in_app":{"title":"Security alert"},
			"email":{"template":"booking-created","from":"hello@acme.example"}},"critical":true,"group":"bookings"}`).must(t, http.StatusCreated, "critical type")
		for _, id := range []string{"plain", "typeoff", "groupoff", "chanoff", "supp"} {
			c.do(t, "PUT", "/v1/contacts/"+id, `{"email":"`+id+`@x.example","name":"`+id+`"}`).must(t, http.StatusCreated, "contact")
		}
		c.do(t, "PUT", "/v1/contacts/noaddr", `{"name":"No address"}`).must(t, http.StatusCreated, "contact")
		c.do(t, "PUT", "/v1/contacts/typeoff/preferences", `{"types":{"booking.created":{"email":false}}}`).must(t, http.StatusOK, "prefs")
		c.do(t, "PUT", "/v1/contacts/groupoff/preferences", `{"groups":{"bookings":{"email":false,"in_app":false}}}`).must(t, http.StatusOK, "prefs")
		c.do(t, "PUT", "/v1/contacts/chanoff/preferences", `{"channels":{"in_app":false,"email":true}}`).must(t, http.StatusOK, "prefs")
		c.do(t, "PUT", "/v1/email/suppressions/supp@x.example", `{"category":"transactional"}`).must(t, http.StatusOK, "suppress")
		// Muting a critical type is refused, storing nothing.
		before := env.Snapshot(t)
		c.do(t, "PUT", "/v1/contacts/plain/preferences", `{"types":{"security.alert":{"email":false}}}`).wantProblem(t, 422, "type_is_critical", "types.security.alert.email")
		c.do(t, "PUT", "/v1/contacts/plain/preferences", `{"channels":{"sms":false}}`).wantProblem(t, 400, "unknown_channel", "channels.sms")
		c.do(t, "PUT", "/v1/contacts/plain/preferences", `{"groups":{"g":{"fax":false}}}`).wantProblem(t, 400, "unknown_channel", "groups.g.fax")
		c.do(t, "PUT", "/v1/contacts/nobody/preferences", `{}`).must(t, http.StatusNotFound, "unknown contact")
		c.do(t, "GET", "/v1/contacts/nobody/preferences", nil).must(t, http.StatusNotFound, "unknown contact")
		storeUnchanged(t, env, before)

		var p wire.NotificationPreferences
		c.do(t, "GET", "/v1/contacts/groupoff/preferences", nil).must(t, http.StatusOK, "prefs").json(t, &p)
		eff := map[string]wire.NotificationPreference{}
		for _, e := range p.Effective {
			eff[e.Type+"/"+e.Channel] = e
		}
		if p.Overrides.Groups["bookings"]["email"] || eff["booking.created/email"].Reason != "group_off" || eff["booking.created/email"].Enabled ||
			!eff["security.alert/email"].Enabled || eff["security.alert/email"].Reason != "critical" || eff["booking.created/push"].Reason != "type_default" ||
			len(p.Effective) != 5 {
			t.Fatalf("effective: %+v", p)
		}

		recips := `["plain","typeoff","groupoff","chanoff","supp","noaddr"]`
		type want struct{ inApp, email string }
		check := func(typ string, wants map[string]want) {
			t.Helper()
			var ev wire.NotifyEvent
			c.do(t, "POST", "/v1/events", `{"type":"`+typ+`","recipients":`+recips+`,"data":{"guest":"Ana","room":"4","id":"1","nights":2,"property_id":"p"}}`).
				must(t, http.StatusAccepted, "post").json(t, &ev)
			eventDone(t, c, ev.ID)
			for _, n := range notificationsOf(t, c, ev.ID) {
				d := byChannel(n)
				w := wants[n.Contact]
				got := want{d["in_app"].Status + "/" + d["in_app"].Reason, d["email"].Status + "/" + d["email"].Reason}
				if got != w {
					t.Errorf("%s to %s: got %+v, want %+v", typ, n.Contact, got, w)
				}
				if n.InFeed != (d["in_app"].Status == "delivered") {
					t.Errorf("%s to %s: in_feed %v with in_app %s", typ, n.Contact, n.InFeed, d["in_app"].Status)
				}
			}
		}
		check("booking.created", map[string]want{
			"plain":    {"delivered/", "queued/"},
			"typeoff":  {"delivered/", "skipped/muted"},
			"groupoff": {"skipped/muted", "skipped/muted"},
			"chanoff":  {"skipped/muted", "queued/"},
			"supp":     {"delivered/", "skipped/suppressed"},
			"noaddr":   {"delivered/", "skipped/no_address"},
		})
		check("security.alert", map[string]want{
			"plain":    {"delivered/", "queued/"},
			"typeoff":  {"delivered/", "queued/"},
			"groupoff": {"delivered/", "queued/"},
			"chanoff":  {"delivered/", "queued/"},
			"supp":     {"delivered/", "skipped/suppressed"},
			"noaddr":   {"delivered/", "skipped/no_address"},
		})
	})
}
