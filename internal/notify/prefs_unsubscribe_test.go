package notify_test

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/wire"
)

// TestEmailUnsubscribeScopeExact: the List-Unsubscribe token of a
// notification email names the type (no group) or the type's group, and
// its one-click POST mutes exactly that scope's email: no other type or
// group, no other channel.
func TestEmailUnsubscribeScopeExact(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		c, _ := prefsFixture(t, env, "acme")
		unsub := func(typ, wantScope string) {
			t.Helper()
			n := sendEvent(t, c, typ)
			var em wire.Email
			c.do(t, "GET", "/v1/emails/"+byChannel(n)["email"].Target, nil).must(t, http.StatusOK, "email").json(t, &em)
			link := strings.Trim(em.Headers["List-Unsubscribe"], "<>")
			u, err := env.App.Email.ParseUnsubscribeToken(strings.TrimPrefix(link, env.URL+"/u/"))
			if err != nil || u.Scope != wantScope || u.Address != "host@host.example" {
				t.Fatalf("%s: token of %q: %+v %v", typ, link, u, err)
			}
			res, err := http.PostForm(link, url.Values{"List-Unsubscribe": {"One-Click"}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("one-click: %d", res.StatusCode)
			}
		}
		unsub("news.weekly", "notification:type:news.weekly")
		p := prefsOf(t, c)
		if !reflect.DeepEqual(p.Overrides.Types, map[string]map[string]bool{"news.weekly": {"email": false}}) || len(p.Overrides.Groups) != 0 ||
			len(p.Overrides.Channels) != 0 {
			t.Fatalf("after the type's unsubscribe: %+v", p.Overrides)
		}
		if d := byChannel(sendEvent(t, c, "booking.cancelled")); d["email"].Status != "queued" {
			t.Fatalf("another type's email after the type's unsubscribe: %+v", d)
		}
		if d := byChannel(sendEvent(t, c, "news.weekly")); d["email"].Reason != "muted" || d["in_app"].Status == "skipped" {
			t.Fatalf("the type after its unsubscribe: %+v", d)
		}
		unsub("booking.created", "notification:group:bookings")
		p = prefsOf(t, c)
		if !reflect.DeepEqual(p.Overrides.Groups, map[string]map[string]bool{"bookings": {"email": false}}) || len(p.Overrides.Types) != 1 ||
			len(p.Overrides.Channels) != 0 {
			t.Fatalf("after the group's unsubscribe: %+v", p.Overrides)
		}
		for _, e := range p.Effective {
			muted := e.Channel == "email" && (e.Group == "bookings" || e.Type == "news.weekly") && !e.Critical
			if e.Enabled == muted {
				t.Fatalf("effective after both unsubscribes: %+v", e)
			}
		}
	})
}
