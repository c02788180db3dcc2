package verify

import (
	"net/http"
	"testing"
	"time"
)

// TestPostmark: Basic credentials of the webhook URL, right or wrong, and
// the event id made of the record's type and id (or message and recipient).
func TestPostmark(t *testing.T) {
	cfg := Config{Provider: Postmark, Secrets: []Secret{{Value: "joist:s3cret"}}}
	now := time.Now()
	req := func(user, pass, body string) Request {
		r, _ := http.NewRequest("POST", "https://joist.example/in/acme/pm", nil)
		if user != "" {
			r.SetBasicAuth(user, pass)
		}
		return Request{Method: "POST", Header: r.Header, Body: []byte(body)}
	}
	bounce := `{"RecordType":"Bounce","ID":4323372036854775807,"Type":"HardBounce","MessageID":"m-1","Email":"a@x.example"}`
	res, err := Verify(cfg, req("joist", "s3cret", bounce), now)
	if err != nil || res.EventID != "Bounce:4323372036854775807" || res.EventType != "Bounce" {
		t.Fatalf("bounce: %+v %v", res, err)
	}
	res, err = Verify(cfg, req("joist", "s3cret", `{"RecordType":"Delivery","MessageID":"m-1","Recipient":"A@x.example"}`), now)
	if err != nil || res.EventID != "Delivery:m-1:a@x.example" {
		t.Fatalf("delivery: %+v %v", res, err)
	}
	for _, c := range []struct{ user, pass, code string }{{"joist", "wrong", CodeBadSignature}, {"joist", "s3cret ", CodeBadSignature},
		{"", "", CodeMissingSignature}} {
		_, err := Verify(cfg, req(c.user, c.pass, bounce), now)
		if e, ok := err.(*Error); !ok || e.Code != c.code {
			t.Errorf("%q:%q: got %v, want %s", c.user, c.pass, err, c.code)
		}
	}
	if _, err := Verify(cfg, req("joist", "s3cret", `{"Type":"HardBounce"}`), now); err == nil {
		t.Error("a body without RecordType was accepted")
	}
}
