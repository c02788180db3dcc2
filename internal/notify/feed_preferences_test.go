package notify_test

import (
	"net/http"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/internal/store/storetest"
	"github.com/joist-dev/joist/wire"
)

// TestFeedPreferences: an end user reads and replaces their own
// preferences with their contact token (the same model as the API key
// route, which then shows the change); muting a critical type is 422 and
// stores nothing; an API key is refused; another contact's preferences
// are untouched.
func TestFeedPreferences(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		f := newFx(t, env, "acme")
		f.contact(t, "ana")
		f.contact(t, "bob")
		f.want(t, http.StatusCreated, "PUT", "/v1/notification-types/booking.created", "key",
			`{"channels":{"in_app":{"title":"New booking"},"push":{"title":"New booking"}},"group":"bookings"}`)
		f.want(t, http.StatusCreated, "PUT", "/v1/notification-types/password.reset", "key",
			`{"channels":{"in_app":{"title":"Reset"}},"critical":true}`)
		tok := f.token(t, "ana")

		var got wire.NotificationPreferences
		f.want(t, http.StatusOK, "GET", "/v1/feed/preferences", tok, nil).json(t, &got)
		f.want(t, http.StatusOK, "PUT", "/v1/feed/preferences", tok, `{"groups":{"bookings":{"push":false}}}`).json(t, &got)
		var viaKey wire.NotificationPreferences
		f.want(t, http.StatusOK, "GET", "/v1/contacts/ana/preferences", "key", nil).json(t, &viaKey)
		if viaKey.Overrides.Groups["bookings"]["push"] != false || len(viaKey.Overrides.Groups) != 1 {
			t.Fatalf("the override is not stored: %+v", viaKey.Overrides)
		}
		before := env.Snapshot(t)
		r := f.do(t, "PUT", "/v1/feed/preferences", tok, `{"types":{"password.reset":{"in_app":false}}}`)
		if r.status != http.StatusUnprocessableEntity || r.code(t) != "type_is_critical" {
			t.Fatalf("muting a critical type: %d %s", r.status, r.body)
		}
		storetest.Unchanged(t, before, env.Snapshot(t))
		f.want(t, http.StatusOK, "GET", "/v1/contacts/ana/preferences", "key", nil).json(t, &viaKey)
		if len(viaKey.Overrides.Types) != 0 || viaKey.Overrides.Groups["bookings"]["push"] != false {
			t.Fatalf("a refused PUT changed the overrides: %+v", viaKey.Overrides)
		}
		if r := f.do(t, "GET", "/v1/feed/preferences", "key", nil); r.status != http.StatusUnauthorized || r.code(t) != "contact_token_required" {
			t.Fatalf("an API key on the feed's preferences: %d %s", r.status, r.body)
		}
		var bob wire.NotificationPreferences
		f.want(t, http.StatusOK, "GET", "/v1/feed/preferences", f.token(t, "bob"), nil).json(t, &bob)
		if len(bob.Overrides.Groups) != 0 {
			t.Fatalf("bob's preferences changed: %+v", bob.Overrides)
		}
	})
}
