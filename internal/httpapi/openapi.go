package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

//go:embed openapi.json
var baseDoc []byte

// System is what one system adds to the API: its routes, and the OpenAPI
// fragment that describes them.
type System struct {
	// Name names the system in errors ("jobs", "webhook", ...).
	Name string
	// Routes are served like the kit's own: authenticated, tenant resolved,
	// idempotent, measured.
	Routes []Route
	// Prefixes are catch-alls: a pattern ending in "/" without a method,
	// answering any request under it that no route matched (a 405 naming
	// the right method, say). They are public and not listed in Routes.
	Prefixes []Route
	// OpenAPI is a JSON object with "tags", "paths" and "components" (each
	// optional), merged into /openapi.json at start-up. Its $refs may name
	// components of the kit's document or of another system's fragment.
	OpenAPI []byte
}

// MergeOpenAPI builds the document served at /openapi.json: the kit's own
// (operations, audit, the shared parameters, responses and problem shapes)
// with each system's fragment merged in, and the answers every operation
// may give (431 headers_too_large) added to each. A path,
// component or tag defined twice, an unknown top-level member, or a $ref
// that resolves nowhere is an error, so a system cannot shadow another's
// description by accident.
func MergeOpenAPI(systems []System) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(baseDoc, &doc); err != nil {
		return nil, fmt.Errorf("openapi: kit document: %w", err)
	}
	paths := doc["paths"].(map[string]any)
	comps := doc["components"].(map[string]any)
	tags, _ := doc["tags"].([]any)
	tagNames := map[string]bool{}
	for _, t := range tags {
		tagNames[t.(map[string]any)["name"].(string)] = true
	}
	for _, s := range systems {
		if len(s.OpenAPI) == 0 {
			continue
		}
		var frag struct {
			Tags       []map[string]any          `json:"tags"`
			Paths      map[string]any            `json:"paths"`
			Components map[string]map[string]any `json:"components"`
		}
		dec := json.NewDecoder(strings.NewReader(string(s.OpenAPI)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&frag); err != nil {
			return nil, fmt.Errorf("openapi: fragment of %s: %w", s.Name, err)
		}
		for p, item := range frag.Paths {
			if _, dup := paths[p]; dup {
				return nil, fmt.Errorf("openapi: %s describes path %s, which is already described", s.Name, p)
			}
			paths[p] = item
		}
		for kind, items := range frag.Components {
			m, _ := comps[kind].(map[string]any)
			if m == nil {
				m = map[string]any{}
				comps[kind] = m
			}
			for name, v := range items {
				if _, dup := m[name]; dup {
					return nil, fmt.Errorf("openapi: %s defines components/%s/%s, which is already defined", s.Name, kind, name)
				}
				m[name] = v
			}
		}
		for _, t := range frag.Tags {
			name, _ := t["name"].(string)
			if tagNames[name] {
				return nil, fmt.Errorf("openapi: %s defines tag %q, which is already defined", s.Name, name)
			}
			tagNames[name] = true
			tags = append(tags, t)
		}
	}
	doc["tags"] = tags
	for _, item := range paths {
		for method, op := range item.(map[string]any) {
			if !slices.Contains([]string{"get", "put", "post", "delete", "patch", "head", "options"}, method) {
				continue
			}
			rs, _ := op.(map[string]any)["responses"].(map[string]any)
			if rs != nil && rs["431"] == nil {
				rs["431"] = map[string]any{"$ref": "#/components/responses/HeadersTooLarge"}
			}
		}
	}
	describeSystems(doc, tags)
	if missing := unresolvedRefs(doc, comps); len(missing) > 0 {
		return nil, fmt.Errorf("openapi: $ref to undefined components: %s", strings.Join(missing, ", "))
	}
	return json.MarshalIndent(doc, "", "  ")
}

// describeSystems ends info.summary with every tag but operations (the
// kit's and each system's) and appends to info.description one line per tag,
// so that the document says what this build's API covers.
func describeSystems(doc map[string]any, tags []any) {
	info, _ := doc["info"].(map[string]any)
	if info == nil {
		return
	}
	var names []string
	var lines strings.Builder
	for _, t := range tags {
		m, _ := t.(map[string]any)
		name, _ := m["name"].(string)
		if name == "" || name == "operations" {
			continue
		}
		names = append(names, name)
		desc, _ := m["description"].(string)
		fmt.Fprintf(&lines, "\n- **%s**: %s", name, desc)
	}
	if len(names) == 0 {
		return
	}
	summary, _ := info["summary"].(string)
	info["summary"] = summary + ": " + strings.Join(names, ", ") + "."
	description, _ := info["description"].(string)
	info["description"] = description + "\n\nWhat this API covers:\n" + lines.String()
}

// CombineFragments joins the fragments of one system's parts into one
// fragment (tags, paths and components), refusing a tag, path or
// component defined twice.
func CombineFragments(frags ...[]byte) ([]byte, error) {
	out := struct {
		Tags       []map[string]any          `json:"tags,omitempty"`
		Paths      map[string]any            `json:"paths,omitempty"`
		Components map[string]map[string]any `json:"components,omitempty"`
	}{Paths: map[string]any{}, Components: map[string]map[string]any{}}
	tags := map[string]bool{}
	for i, f := range frags {
		var frag struct {
			Tags       []map[string]any          `json:"tags"`
			Paths      map[string]any            `json:"paths"`
			Components map[string]map[string]any `json:"components"`
		}
		dec := json.NewDecoder(strings.NewReader(string(f)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&frag); err != nil {
			return nil, fmt.Errorf("openapi: fragment %d: %w", i+1, err)
		}
		for _, t := range frag.Tags {
			name, _ := t["name"].(string)
			if tags[name] {
				return nil, fmt.Errorf("openapi: tag %q defined twice", name)
			}
			tags[name] = true
			out.Tags = append(out.Tags, t)
		}
		for p, item := range frag.Paths {
			if _, dup := out.Paths[p]; dup {
				return nil, fmt.Errorf("openapi: path %s described twice", p)
			}
			out.Paths[p] = item
		}
		for kind, items := range frag.Components {
			if out.Components[kind] == nil {
				out.Components[kind] = map[string]any{}
			}
			for name, v := range items {
				if _, dup := out.Components[kind][name]; dup {
					return nil, fmt.Errorf("openapi: components/%s/%s defined twice", kind, name)
				}
				out.Components[kind][name] = v
			}
		}
	}
	return json.Marshal(out)
}

func unresolvedRefs(doc map[string]any, comps map[string]any) []string {
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if ref, ok := e.(string); ok && k == "$ref" {
					kind, name, _ := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
					if m, _ := comps[kind].(map[string]any); m == nil || m[name] == nil {
						seen[ref] = true
					}
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
