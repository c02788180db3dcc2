package signing

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The example from the Standard Webhooks / Svix documentation.
func TestPublishedVector(t *testing.T) {
	got, err := Signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

func TestSignWithRotationAndVerify(t *testing.T) {
	oldS, newS := NewSecret(), NewSecret()
	if !strings.HasPrefix(newS, "whsec_") || oldS == newS {
		t.Fatal("secrets")
	}
	h := http.Header{}
	now := time.Now()
	body := []byte(`{"a":1}`)
	if err := Sign(h, []string{newS, oldS}, "job_1", now, body); err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get("webhook-signature"))); n != 2 {
		t.Fatalf("%d signatures during a rotation, want 2", n)
	}
	for _, s := range []string{oldS, newS} {
		if err := Verify(s, h, body, now, 5*time.Minute); err != nil {
			t.Fatalf("verify: %v", err)
		}
	}
	if Verify(NewSecret(), h, body, now, 5*time.Minute) == nil {
		t.Fatal("a stranger's secret verified")
	}
	if Verify(newS, h, []byte(`{"a":2}`), now, 5*time.Minute) == nil {
		t.Fatal("a changed body verified")
	}
	if Verify(newS, h, body, now.Add(10*time.Minute), 5*time.Minute) == nil || Verify(newS, h, body, now.Add(-10*time.Minute), 5*time.Minute) == nil {
		t.Fatal("a stale or future timestamp verified")
	}
	if _, err := Signature("whsec_!!!", "x", now, body); err == nil {
		t.Fatal("bad secret accepted")
	}
}
