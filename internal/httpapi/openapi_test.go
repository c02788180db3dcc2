package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/joist-dev/joist/internal/httpapi"
)

func TestMergeOpenAPI(t *testing.T) {
	frag := func(s string) httpapi.System { return httpapi.System{Name: "gears", OpenAPI: []byte(s)} }
	doc, err := httpapi.MergeOpenAPI([]httpapi.System{frag(`{
		"tags": [{"name": "gears"}],
		"paths": {"/v1/gears": {"get": {"tags": ["gears"], "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Gear"}}}},
			"404": {"$ref": "#/components/responses/NotFound"}}}}},
		"components": {"schemas": {"Gear": {"type": "object"}}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths      map[string]any
		Components struct{ Schemas, Responses map[string]any }
		Tags       []struct{ Name string }
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	if d.Paths["/v1/gears"] == nil || d.Paths["/v1/audit"] == nil || d.Components.Schemas["Gear"] == nil ||
		d.Components.Schemas["Problem"] == nil || d.Tags[len(d.Tags)-1].Name != "gears" {
		t.Fatalf("merged document lacks the kit's or the fragment's parts: %s", doc[:200])
	}
	// Every operation may answer 431: the merge says so on each.
	gears, _ := d.Paths["/v1/gears"].(map[string]any)["get"].(map[string]any)["responses"].(map[string]any)["431"].(map[string]any)
	if gears["$ref"] != "#/components/responses/HeadersTooLarge" {
		t.Fatal("the fragment's operation lacks the 431 every operation may answer")
	}

	for _, c := range []struct{ name, frag, want string }{
		{"path twice", `{"paths": {"/v1/audit": {}}}`, "gears describes path /v1/audit, which is already described"},
		{"component twice", `{"components": {"schemas": {"Problem": {}}}}`, "components/schemas/Problem, which is already defined"},
		{"tag twice", `{"tags": [{"name": "jobs"}, {"name": "jobs"}]}`, `tag "jobs", which is already defined`},
		{"dangling ref", `{"paths": {"/v1/x": {"get": {"responses": {"200": {"$ref": "#/components/responses/Nope"}}}}}}`, "#/components/responses/Nope"},
		{"unknown member", `{"servers": []}`, `unknown field "servers"`},
		{"not JSON", `{"paths": `, "fragment of gears"},
	} {
		if _, err := httpapi.MergeOpenAPI([]httpapi.System{frag(c.frag)}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestCombineFragments(t *testing.T) {
	a := `{"tags":[{"name":"email"}],"paths":{"/v1/emails":{}},"components":{"schemas":{"Email":{}}}}`
	b := `{"paths":{"/v1/domains":{}},"components":{"schemas":{"Domain":{}}}}`
	out, err := httpapi.CombineFragments([]byte(a), []byte(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := httpapi.MergeOpenAPI([]httpapi.System{{Name: "email", OpenAPI: out}}); err != nil {
		t.Fatalf("a combined fragment does not merge: %v", err)
	}
	for _, c := range []struct{ b, want string }{
		{`{"paths":{"/v1/emails":{}}}`, "path /v1/emails described twice"},
		{`{"components":{"schemas":{"Email":{}}}}`, "components/schemas/Email defined twice"},
		{`{"tags":[{"name":"email"}]}`, `tag "email" defined twice`},
		{`{"servers":[]}`, "fragment 2"},
	} {
		if _, err := httpapi.CombineFragments([]byte(a), []byte(c.b)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
}
