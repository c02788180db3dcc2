package jobs

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBodyFromArgs: where a push job's body comes from survives River's
// args: args written by the previous version (body_event) name the
// webhook_event body source, jobs of that source are still written that
// way, and any other source is named with body_source and body_ref.
func TestBodyFromArgs(t *testing.T) {
	var old PushArgs
	if err := json.Unmarshal([]byte(`{"job_id":"job_1","tenant_id":"tn_1","url":"http://app/x","method":"POST","timeout_ms":30000,"webhook_id":"evt_1","body_event":"evt_1"}`), &old); err != nil {
		t.Fatal(err)
	}
	if src, ref := old.bodyFrom(); src != "webhook_event" || ref != "evt_1" {
		t.Fatalf("previous version's args: body from %q %q", src, ref)
	}
	for _, c := range []struct{ source, ref, want, not string }{
		{"webhook_event", "evt_2", `"body_event":"evt_2"`, "body_source"},
		{"inbox_message", "msg_3", `"body_source":"inbox_message","body_ref":"msg_3"`, "body_event"},
		{"", "", `"url"`, "body_"},
	} {
		a := PushArgs{URL: "http://app/x"}
		a.setBodyFrom(c.source, c.ref)
		b, _ := json.Marshal(a)
		if !strings.Contains(string(b), c.want) || strings.Contains(string(b), c.not) {
			t.Fatalf("%q: args %s, want %s and no %s", c.source, b, c.want, c.not)
		}
		var back PushArgs
		_ = json.Unmarshal(b, &back)
		if src, ref := back.bodyFrom(); src != c.source || ref != c.ref {
			t.Fatalf("%q: read back as %q %q", c.source, src, ref)
		}
	}
}
