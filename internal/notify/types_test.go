package notify_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
	"github.com/joist-dev/joist/wire"
)

// TestTypesTenantAndInstance: the root key without Joist-Tenant writes the
// instance's types, which every tenant resolves; a tenant's own type of a
// name wins, in GET, the list and an event's fan-out; deleting it brings
// the instance's back.
func TestTypesTenantAndInstance(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		inst := newCaller(t, env, "")
		c := newCaller(t, env, "acme")
		inst.do(t, "PUT", "/v1/notification-types/account.welcome", `{"channels":{"in_app":{"title":"Welcome from the instance"}}}`).must(t, http.StatusCreated, "instance type")
		inst.do(t, "PUT", "/v1/notification-types/only.instance", `{"channels":{"push":{"title":"x"}},"defaults":{"push":false}}`).must(t, http.StatusCreated, "instance type")
		var got wire.NotificationType
		c.do(t, "GET", "/v1/notification-types/account.welcome", nil).must(t, http.StatusOK, "get").json(t, &got)
		if got.Owner != "instance" || got.Channels.InApp.Title != "Welcome from the instance" || !got.Defaults["in_app"] {
			t.Fatalf("instance's: %+v", got)
		}
		c.do(t, "PUT", "/v1/notification-types/account.welcome", `{"channels":{"in_app":{"title":"Welcome, {{.contact.name}}"}}}`).must(t, http.StatusCreated, "own type")
		c.do(t, "GET", "/v1/notification-types/account.welcome", nil).must(t, http.StatusOK, "get").json(t, &got)
		if got.Owner != "tenant" {
			t.Fatalf("own: %+v", got)
		}
		var l wire.List[wire.NotificationType]
		c.do(t, "GET", "/v1/notification-types?limit=1", nil).must(t, http.StatusOK, "list").json(t, &l)
		if len(l.Data) != 1 || l.Data[0].Name != "account.welcome" || l.Data[0].Owner != "tenant" || l.NextCursor == "" {
			t.Fatalf("page 1: %+v", l)
		}
		c.do(t, "GET", "/v1/notification-types?limit=1&cursor="+l.NextCursor, nil).must(t, http.StatusOK, "list").json(t, &l)
		if len(l.Data) != 1 || l.Data[0].Name != "only.instance" || l.Data[0].Owner != "instance" || l.Data[0].Defaults["push"] || l.NextCursor != "" {
			t.Fatalf("page 2: %+v", l)
		}
		c.do(t, "PUT", "/v1/contacts/ana", `{"name":"Ana"}`).must(t, http.StatusCreated, "contact")
		var ev wire.NotifyEvent
		c.do(t, "POST", "/v1/events", `{"type":"account.welcome","recipients":["ana"]}`).must(t, http.StatusAccepted, "post").json(t, &ev)
		eventDone(t, c, ev.ID)
		ns := notificationsOf(t, c, ev.ID)
		if len(ns) != 1 || ns[0].Title != "Welcome, Ana" || len(ns[0].Deliveries) != 1 {
			t.Fatalf("the tenant's own type did not win: %+v", ns)
		}
		c.do(t, "DELETE", "/v1/notification-types/account.welcome", nil).must(t, http.StatusNoContent, "delete")
		c.do(t, "GET", "/v1/notification-types/account.welcome", nil).must(t, http.StatusOK, "get").json(t, &got)
		if got.Owner != "instance" {
			t.Fatalf("after delete: %+v", got)
		}
		c.do(t, "DELETE", "/v1/notification-types/only.instance", nil).must(t, http.StatusNotFound, "the instance's is not the tenant's to delete")
		c.do(t, "GET", "/v1/notification-types/nope", nil).must(t, http.StatusNotFound, "unknown")
	})
}

// TestTypeBadInput: each invalid type is refused 400 with a code naming
// the field, storing nothing.
func TestTypeBadInput(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		before := env.Snapshot(t)
		long := strings.Repeat("a", 129)
		cases := []struct{ name, body, code, field string }{
			{"bad!name", `{"channels":{"in_app":{"title":"x"}}}`, "invalid_type_name", "path.type"},
			{long, `{"channels":{"in_app":{"title":"x"}}}`, "invalid_type_name", "path.type"},
			{"t", `{"channels":{}}`, "channels_required", "channels"},
			{"t", `{"channels":{"sms":{"title":"x"}}}`, "unknown_field", ""},
			{"t", `{"channels":{"in_app":{"title":""}}}`, "title_required", "channels.in_app.title"},
			{"t", `{"channels":{"in_app":{"title":"{{.data.x"}}}`, "invalid_template", "channels.in_app.title"},
			{"t", `{"channels":{"in_app":{"title":"x","url":"{{if}}"}}}`, "invalid_template", "channels.in_app.url"},
			{"t", `{"channels":{"push":{"title":"x","body":"{{end}}"}}}`, "invalid_template", "channels.push.body"},
			{"t", `{"channels":{"email":{"template":"Bad Name","from":"a@b.example"}}}`, "invalid_template_name", "channels.email.template"},
			{"t", `{"channels":{"email":{"template":"ok","from":"a@b.example\r\nBcc: x@y.example"}}}`, "header_injection", "channels.email.from"},
			{"t", `{"channels":{"email":{"template":"ok","from":"not an address"}}}`, "invalid_address", "channels.email.from"},
			{"t", `{"channels":{"in_app":{"title":"x"}},"defaults":{"fax":true}}`, "unknown_channel", "defaults.fax"},
			{"t", `{"channels":{"in_app":{"title":"x"}},"defaults":{"push":true}}`, "channel_not_defined", "defaults.push"},
			{"t", `{"channels":{"in_app":{"title":"x"}},"group":"no group"}`, "invalid_type_name", "group"},
			{"t", `{"channels":{"in_app":{"title":"x"}},"digest":{"window":"soon"}}`, "invalid_window", "digest.window"},
			{"t", `{"channels":{"in_app":{"title":"x"}},"digest":{"window":"30s"}}`, "invalid_window", "digest.window"},
			{"t", `{"channels":{"in_app":{"title":"x"}},"digest":{"window":"200h"}}`, "invalid_window", "digest.window"},
			{"t", `{"channels":{"in_app":{"title":"x"}},"digest":{"window":"10m","key":"{{.data"}}`, "invalid_template", "digest.key"},
			{"t", `{"channels":{"in_app":{"title":"x\u0000"}}}`, "invalid_text", ""},
		}
		for _, tc := range cases {
			c.do(t, "PUT", "/v1/notification-types/"+tc.name, tc.body).wantProblem(t, http.StatusBadRequest, tc.code, tc.field)
		}
		storeUnchanged(t, env, before)
	})
}
