package notify_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/wire"
)

// The page's fixtures: a group of two types, an ungrouped type with an
// HTML email, and a critical type; the template of the ungrouped type
// has an HTML part with a body.
const (
	cancelType = `{"channels": {"in_app": {"title": "Booking cancelled"}, "email": {"template": "booking-created", "from": "hello@acme.example"}},
		"group": "bookings"}`
	newsType     = `{"channels": {"email": {"template": "news", "from": "hello@acme.example"}, "in_app": {"title": "News for {{.data.guest}}"}}}`
	newsTemplate = `{"default_locale": "en", "variants": {"en": {"subject": "News",
		"html": "<html><body><p>News for {{.data.guest}}</p></body></html>", "text": "News for {{.data.guest}}"}}}`
	resetType = `{"channels": {"email": {"template": "booking-created", "from": "hello@acme.example"}, "in_app": {"title": "Password reset <b>now</b>"}},
		"critical": true, "group": "account"}`
)

// prefsFixture sets up tenant slug with the types above and a contact
// "host", and returns the caller and the tenant's id.
func prefsFixture(t *testing.T, env *apptest.Env, slug string) (*caller, string) {
	t.Helper()
	tn := newTenant(t, env, slug)
	c := newCaller(t, env, slug)
	c.do(t, "PUT", "/v1/email/templates/booking-created", bookingTemplate).must(t, http.StatusCreated, "template")
	c.do(t, "PUT", "/v1/email/templates/news", newsTemplate).must(t, http.StatusCreated, "news template")
	c.do(t, "PUT", "/v1/notification-types/booking.created", bookingType).must(t, http.StatusCreated, "type")
	c.do(t, "PUT", "/v1/notification-types/booking.cancelled", cancelType).must(t, http.StatusCreated, "cancel type")
	c.do(t, "PUT", "/v1/notification-types/news.weekly", newsType).must(t, http.StatusCreated, "news type")
	c.do(t, "PUT", "/v1/notification-types/password.reset", resetType).must(t, http.StatusCreated, "critical type")
	c.do(t, "PUT", "/v1/contacts/host", `{"email":"host@host.example","name":"Hans <Host>"}`).must(t, http.StatusCreated, "contact")
	return c, tn.ID
}

// sendEvent posts an event of typ to host and answers its notification.
func sendEvent(t *testing.T, c *caller, typ string) wire.Notification {
	t.Helper()
	var ev wire.NotifyEvent
	c.do(t, "POST", "/v1/events", `{"type":"`+typ+`","recipients":["host"],"data":{"guest":"Ana","room":"4","id":"1","nights":2,"property_id":"p"}}`).
		must(t, http.StatusAccepted, "post").json(t, &ev)
	eventDone(t, c, ev.ID)
	return notificationsOf(t, c, ev.ID)[0]
}

// page fetches a preferences page without a key (validated against
// /openapi.json like every exchange).
func (c *caller) page(t *testing.T, method, link string, form url.Values, hdr ...string) resp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, link, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

var (
	boxRE   = regexp.MustCompile(`<input type="checkbox"[^>]*name="([^"]+)" value="on"[^>]*?( checked)?>`)
	proofRE = regexp.MustCompile(`name="proof" value="([^"]+)"`)
	linkRE  = regexp.MustCompile(`https?://[^\s"<>]+/p/[A-Za-z0-9_-]+`)
)

// boxes reads a page's checkboxes: key -> ticked.
func boxes(t *testing.T, r resp) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, m := range boxRE.FindAllStringSubmatch(string(r.body), -1) {
		out[html.UnescapeString(m[1])] = m[2] != ""
	}
	if len(out) == 0 {
		t.Fatalf("no checkboxes on the page: %s", r.body)
	}
	return out
}

// formOf is the form a browser sends for page r with the boxes of set
// ticked as given (and the others as the page shows them).
func formOf(t *testing.T, r resp, set map[string]bool) url.Values {
	t.Helper()
	m := proofRE.FindStringSubmatch(string(r.body))
	if m == nil {
		t.Fatalf("no proof on the page: %s", r.body)
	}
	f := url.Values{"proof": {html.UnescapeString(m[1])}}
	b := boxes(t, r)
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f.Add("shown", k)
		on := b[k]
		if v, ok := set[k]; ok {
			on = v
		}
		if on {
			f.Set(k, "on")
		}
	}
	return f
}

func prefsOf(t *testing.T, c *caller) wire.NotificationPreferences {
	t.Helper()
	var p wire.NotificationPreferences
	c.do(t, "GET", "/v1/contacts/host/preferences", nil).must(t, http.StatusOK, "prefs").json(t, &p)
	return p
}

// TestPrefsPageFromEmail: a notification email's footer (text and HTML)
// links the contact's preferences page; the page shows every type with
// its effective values, grouped, critical types always on and escaped;
// unticking a group's email saves a group override that the API shows
// and the next event honours (email skipped muted, in-app still sent).
func TestPrefsPageFromEmail(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		c, _ := prefsFixture(t, env, "acme")
		n := sendEvent(t, c, "booking.created")
		var em wire.Email
		c.do(t, "GET", "/v1/emails/"+byChannel(n)["email"].Target, nil).must(t, http.StatusOK, "email").json(t, &em)
		link := linkRE.FindString(em.Text)
		if !strings.HasPrefix(link, env.URL+"/p/") || !strings.Contains(em.Text, "Manage your notification preferences: "+link) {
			t.Fatalf("no preferences link in the text: %q", em.Text)
		}
		news := sendEvent(t, c, "news.weekly")
		var nm wire.Email
		c.do(t, "GET", "/v1/emails/"+byChannel(news)["email"].Target, nil).must(t, http.StatusOK, "news email").json(t, &nm)
		if i := strings.Index(nm.HTML, `<a href="`+link+`"`); i < 0 || i > strings.Index(nm.HTML, "</body>") || !strings.Contains(nm.Text, link) {
			t.Fatalf("no preferences link before </body> in the HTML: %q / %q", nm.HTML, nm.Text)
		}

		pg := c.page(t, "GET", link, nil)
		if pg.status != http.StatusOK || pg.header.Get("Cache-Control") != "no-store" || !strings.Contains(pg.header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("page: %d %v %s", pg.status, pg.header, pg.body)
		}
		body := string(pg.body)
		for _, want := range []string{"Hans &lt;Host&gt;", "New booking", "booking.created", "Booking cancelled", "bookings", "Other notifications",
			"news.weekly", "Password reset &lt;b&gt;now&lt;/b&gt;", "can't be turned off"} {
			if !strings.Contains(body, want) {
				t.Fatalf("page lacks %q: %s", want, body)
			}
		}
		if strings.Contains(body, "<b>now</b>") || strings.Contains(body, "Hans <Host>") {
			t.Fatal("the page does not escape what the tenant wrote")
		}
		want := map[string]bool{"channel.in_app": true, "channel.email": true, "channel.push": true,
			"group.in_app.bookings": true, "group.email.bookings": true, "group.push.bookings": true,
			"type.in_app.booking.created": true, "type.email.booking.created": true, "type.push.booking.created": true,
			"type.in_app.booking.cancelled": true, "type.email.booking.cancelled": true,
			"type.email.news.weekly": true, "type.in_app.news.weekly": true}
		if got := boxes(t, pg); !reflect.DeepEqual(got, want) {
			t.Fatalf("boxes:\n got %v\nwant %v", got, want)
		}

		saved := c.page(t, "POST", link, formOf(t, pg, map[string]bool{"group.email.bookings": false}), "Origin", env.URL)
		if saved.status != http.StatusOK || !strings.Contains(string(saved.body), "Your preferences are saved.") {
			t.Fatalf("save: %d %s", saved.status, saved.body)
		}
		got := boxes(t, saved)
		if got["group.email.bookings"] || got["type.email.booking.created"] || got["type.email.booking.cancelled"] || !got["type.email.news.weekly"] || !got["type.in_app.booking.created"] {
			t.Fatalf("boxes after saving: %v", got)
		}
		p := prefsOf(t, c)
		if !reflect.DeepEqual(p.Overrides.Groups, map[string]map[string]bool{"bookings": {"email": false}}) || len(p.Overrides.Types) != 0 {
			t.Fatalf("overrides after saving: %+v", p.Overrides)
		}
		d := byChannel(sendEvent(t, c, "booking.created"))
		if d["email"].Status != "skipped" || d["email"].Reason != "muted" || d["in_app"].Status == "skipped" {
			t.Fatalf("after muting the group's email: %+v", d)
		}
		if d := byChannel(sendEvent(t, c, "password.reset")); d["email"].Status != "queued" {
			t.Fatalf("critical email after muting: %+v", d)
		}

		// Turning email off everywhere: the types' ticked boxes do not
		// keep it on; news.weekly's email is skipped too.
		pg = c.page(t, "GET", link, nil)
		c.page(t, "POST", link, formOf(t, pg, map[string]bool{"channel.email": false}), "Referer", link).must(t, http.StatusOK, "email off")
		if p := prefsOf(t, c); p.Overrides.Channels["email"] || len(p.Overrides.Types) != 0 {
			t.Fatalf("overrides after email off: %+v", p.Overrides)
		}
		if d := byChannel(sendEvent(t, c, "news.weekly")); d["email"].Reason != "muted" {
			t.Fatalf("news email after email off: %+v", d)
		}
		// Email on again: every type is as it was (the group still off);
		// then one type of the group ticked on against its group is a
		// type override.
		pg = c.page(t, "GET", link, nil)
		c.page(t, "POST", link, formOf(t, pg, map[string]bool{"channel.email": true}), "Origin", env.URL).must(t, http.StatusOK, "email on")
		p = prefsOf(t, c)
		if !p.Overrides.Channels["email"] || len(p.Overrides.Types) != 0 || p.Overrides.Groups["bookings"]["email"] {
			t.Fatalf("overrides after email on: %+v", p.Overrides)
		}
		pg = c.page(t, "GET", link, nil)
		c.page(t, "POST", link, formOf(t, pg, map[string]bool{"type.email.booking.cancelled": true}), "Origin", env.URL).must(t, http.StatusOK, "one type on")
		p = prefsOf(t, c)
		if !p.Overrides.Types["booking.cancelled"]["email"] || len(p.Overrides.Types) != 1 || p.Overrides.Groups["bookings"]["email"] {
			t.Fatalf("overrides after one type on: %+v", p.Overrides)
		}
		if d := byChannel(sendEvent(t, c, "news.weekly")); d["email"].Status != "queued" {
			t.Fatalf("news email after email on: %+v", d)
		}
		if len(env.ErrorLines()) != 0 {
			t.Fatalf("ERROR logged: %v", env.ErrorLines())
		}
	})
}

// TestPrefsPageRefuses: a forged or altered token is a 404 page; a
// token never reaches another tenant's contact; a form muting a critical
// type, holding a NUL byte, invalid UTF-8, an unknown channel, a field
// the page did not show, no proof, or sent from another origin is
// refused with a page saying why, and nothing is stored; no ERROR is
// logged.
func TestPrefsPageRefuses(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		c, tenantID := prefsFixture(t, env, "acme")
		other, _ := prefsFixture(t, env, "other")
		var host, otherHost wire.Contact
		c.do(t, "GET", "/v1/contacts/host", nil).must(t, http.StatusOK, "contact").json(t, &host)
		other.do(t, "GET", "/v1/contacts/host", nil).must(t, http.StatusOK, "other contact").json(t, &otherHost)
		link := env.App.Notify.PreferencesURL(tenantID, host.ID)
		pg := c.page(t, "GET", link, nil).must(t, http.StatusOK, "page")
		before, otherBefore, snap := prefsOf(t, c), prefsOf(t, other), env.Snapshot(t)

		tok := strings.TrimPrefix(link, env.URL+"/p/")
		flipped := []byte(tok)
		flipped[len(flipped)/2] ^= 1
		if flipped[len(flipped)/2] == '`' {
			flipped[len(flipped)/2] = 'a'
		}
		for _, bad := range []string{env.URL + "/p/" + string(flipped), env.URL + "/p/nothing", env.URL + "/p/" + tok + "A",
			// tenant acme's token naming the other tenant's contact
			env.App.Notify.PreferencesURL(tenantID, otherHost.ID)} {
			for _, m := range []string{"GET", "POST"} {
				var f url.Values
				if m == "POST" {
					f = formOf(t, pg, map[string]bool{"channel.email": false})
				}
				r := c.page(t, m, bad, f)
				if r.status != http.StatusNotFound || !strings.Contains(string(r.body), "This link does not work") || strings.Contains(string(r.body), "Hans") {
					t.Fatalf("%s %s: %d %s", m, bad, r.status, r.body)
				}
			}
		}

		good := formOf(t, pg, nil)
		with := func(k, v string) url.Values {
			f := url.Values{}
			for kk, vv := range good {
				f[kk] = append([]string(nil), vv...)
			}
			f.Add("shown", k)
			if v != "" {
				f.Set(k, v)
			}
			return f
		}
		cases := []struct {
			name   string
			form   url.Values
			hdr    []string
			status int
			says   string
		}{
			{"critical muted", with("type.email.password.reset", ""), nil, http.StatusUnprocessableEntity, "can&#39;t be turned off. Nothing was saved."},
			{"NUL", with("channel.email", "on\x00"), nil, http.StatusBadRequest, "not text"},
			{"invalid UTF-8", with("type.email.news.weekly\xff", "on"), nil, http.StatusBadRequest, "not text"},
			{"unknown channel", with("type.sms.news.weekly", "on"), nil, http.StatusBadRequest, "names no channel"},
			{"bad name", with("type.email.bad name", "on"), nil, http.StatusBadRequest, "does not name"},
			{"not shown", func() url.Values { f := with("channel.email", "on"); f.Set("group.email.bookings2", "on"); return f }(), nil,
				http.StatusBadRequest, "did not show"},
			{"no proof", func() url.Values { f := with("channel.email", ""); f.Del("proof"); return f }(), nil, http.StatusBadRequest, "out of date"},
			{"forged proof", func() url.Values { f := with("channel.email", ""); f.Set("proof", "1.AAAA"); return f }(), nil, http.StatusBadRequest, "out of date"},
			{"other origin", with("channel.email", ""), []string{"Origin", "https://evil.example"}, http.StatusForbidden, "another site"},
			{"null origin", with("channel.email", ""), []string{"Origin", "null"}, http.StatusForbidden, "another site"},
			{"other referer", with("channel.email", ""), []string{"Referer", "https://evil.example/x"}, http.StatusForbidden, "another site"},
		}
		for _, tc := range cases {
			r := c.page(t, "POST", link, tc.form, tc.hdr...)
			if r.status != tc.status || !strings.Contains(string(r.body), tc.says) {
				t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
			}
		}
		if after := prefsOf(t, c); !reflect.DeepEqual(after, before) {
			t.Fatalf("preferences changed:\n%+v\n%+v", before, after)
		}
		if after := prefsOf(t, other); !reflect.DeepEqual(after, otherBefore) {
			t.Fatalf("the other tenant's preferences changed: %+v", after)
		}
		storeUnchanged(t, env, snap)
		if len(env.ErrorLines()) != 0 {
			t.Fatalf("ERROR logged: %v", env.ErrorLines())
		}
		// The same form, whole, saves.
		c.page(t, "POST", link, formOf(t, pg, map[string]bool{"type.push.booking.created": false}), "Origin", env.URL).must(t, http.StatusOK, "save")
		if p := prefsOf(t, c); p.Overrides.Types["booking.created"]["push"] || !hasType(p.Overrides.Types, "booking.created", "push") {
			t.Fatalf("after a good save: %+v", p.Overrides)
		}
		// A tenant without types: the page says so, with no form.
		empty := newTenant(t, env, "empty")
		e := newCaller(t, env, "empty")
		var ec wire.Contact
		e.do(t, "PUT", "/v1/contacts/solo", `{"email":"solo@x.example"}`).must(t, http.StatusCreated, "contact").json(t, &ec)
		r := e.page(t, "GET", env.App.Notify.PreferencesURL(empty.ID, ec.ID), nil).must(t, http.StatusOK, "empty page")
		if !strings.Contains(string(r.body), "no notifications to choose from") || strings.Contains(string(r.body), "<form") {
			t.Fatalf("empty page: %s", r.body)
		}
	})
}

func hasType(m map[string]map[string]bool, name, ch string) bool {
	_, ok := m[name][ch]
	return ok
}
