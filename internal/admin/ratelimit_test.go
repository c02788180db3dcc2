package admin

import (
	"testing"
	"time"
)

func TestLimiterWindow(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := newLimiter(func() time.Time { return now }, 5, 15*time.Minute)
	for i := range 5 {
		if blocked, _ := l.blocked("ip:1", "email:a"); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("ip:1", "email:a")
		now = now.Add(time.Minute)
	}
	blocked, wait := l.blocked("ip:1", "email:b")
	if !blocked || wait != 10*time.Minute {
		t.Fatalf("after 5 failures in 5 minutes: blocked=%v wait=%v, want true 10m", blocked, wait)
	}
	if blocked, _ := l.blocked("ip:2", "email:a"); !blocked {
		t.Fatal("the email is not blocked from another address")
	}
	if blocked, _ := l.blocked("ip:2", "email:b"); blocked {
		t.Fatal("an unrelated address and email are blocked")
	}
	// The oldest failure leaves the window: one more attempt is allowed.
	now = now.Add(10 * time.Minute)
	if blocked, _ := l.blocked("ip:1"); blocked {
		t.Fatal("still blocked once the first failure is 15 minutes old")
	}
	l.fail("ip:1")
	if blocked, _ := l.blocked("ip:1"); !blocked {
		t.Fatal("not blocked again after a fresh failure")
	}
	l.reset("email:a")
	now = now.Add(-time.Minute) // a clock going back must not panic or unblock
	if blocked, _ := l.blocked("email:a"); blocked {
		t.Fatal("email still blocked after reset")
	}
}

func TestLimiterBoundsMemory(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(func() time.Time { return now }, 5, time.Minute)
	for i := range maxLimiterKeys + 10 {
		l.fail(string(rune(i)) + "k")
	}
	if len(l.fails) > maxLimiterKeys {
		t.Fatalf("%d keys kept, limit %d", len(l.fails), maxLimiterKeys)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "/admin/",
		"/admin":                     "/admin",
		"/admin/tenants/x?q=a":       "/admin/tenants/x?q=a",
		"/admin/../v1/tenants":       "/admin/",
		"//evil.example":             "/admin/",
		"/\\evil.example":            "/admin/",
		"https://evil.example/admin": "/admin/",
		"javascript:alert(1)":        "/admin/",
		"/admin/\r\nSet-Cookie: x":   "/admin/",
		"/v1/contacts":               "/admin/",
		"/administrator":             "/admin/",
		"/admin/..":                  "/admin/",
		"/admin/./tenants":           "/admin/./tenants",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
