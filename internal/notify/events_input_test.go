package notify_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/apptest"
)

// TestEventBadInput: an unknown type is 422 unknown_type naming it,
// malformed recipients are 400 naming the index, NUL in data keys or
// values, too many or no recipients and data that is not an object are
// 400: each stores nothing (no event, no job).
func TestEventBadInput(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		newTenant(t, env, "acme")
		c := newCaller(t, env, "acme")
		c.do(t, "PUT", "/v1/notification-types/ping", `{"channels":{"in_app":{"title":"Ping"}}}`).must(t, http.StatusCreated, "type")
		before := env.Snapshot(t)
		r := c.do(t, "POST", "/v1/events", `{"type":"no.such","recipients":["a"]}`)
		r.wantProblem(t, http.StatusUnprocessableEntity, "unknown_type", "type")
		if !strings.Contains(string(r.body), "no.such") {
			t.Fatalf("unknown type not named: %s", r.body)
		}
		many := make([]string, 10001)
		for i := range many {
			many[i] = fmt.Sprintf("c%d", i)
		}
		manyJSON, _ := json.Marshal(many)
		cases := []struct{ body, code, field string }{
			{`{"type":"ping","recipients":[]}`, "recipients_required", "recipients"},
			{`{"type":"ping"}`, "recipients_required", "recipients"},
			{`{"type":"ping","recipients":` + string(manyJSON) + `}`, "too_many_recipients", "recipients"},
			{`{"type":"ping","recipients":["ok",42]}`, "invalid_recipient", "recipients[1]"},
			{`{"type":"ping","recipients":["ok",{"id":"x","mail":"a@b.example"}]}`, "invalid_recipient", "recipients[1]"},
			{`{"type":"ping","recipients":["ok","ok",{"id":"x","email":"nope"}]}`, "invalid_email", "recipients[2].email"},
			{`{"type":"ping","recipients":[{"id":"x","locale":"not a locale!"}]}`, "invalid_locale", "recipients[0].locale"},
			{`{"type":"ping","recipients":["has space"]}`, "invalid_contact_id", "recipients[0].id"},
			{`{"type":"ping","recipients":[{"email":"a@b.example"}]}`, "invalid_contact_id", "recipients[0].id"},
			{`{"type":"ping","recipients":["a"],"data":[1,2]}`, "invalid_data", "data"},
			{`{"type":"ping","recipients":["a"],"data":{"k\u0000":"v"}}`, "invalid_text", ""},
			{`{"type":"ping","recipients":["a"],"data":{"k":"v\u0000"}}`, "invalid_text", ""},
			{`{"type":"ping","recipients":["a\u0000"]}`, "invalid_text", ""},
			{`{"type":"bad type","recipients":["a"]}`, "invalid_type_name", "type"},
			{`{"type":"ping","recipients":["a"],"actor":"` + strings.Repeat("x", 256) + `"}`, "invalid_actor", "actor"},
		}
		for _, tc := range cases {
			c.do(t, "POST", "/v1/events", tc.body).wantProblem(t, http.StatusBadRequest, tc.code, tc.field)
		}
		storeUnchanged(t, env, before)
	})
}
