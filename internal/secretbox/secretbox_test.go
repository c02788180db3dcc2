package secretbox

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	b1, _ := New(k1)
	b2, _ := New(k2)
	s := b1.Seal([]byte("whsec_abc"))
	if s == b1.Seal([]byte("whsec_abc")) {
		t.Fatal("two seals of one secret are equal: no nonce")
	}
	got, err := b1.Open(s)
	if err != nil || string(got) != "whsec_abc" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := b2.Open(s); err != ErrOpen {
		t.Fatalf("another key opened it: %v", err)
	}
	tampered := s[:len(s)-2] + "AA"
	if _, err := b1.Open(tampered); err != ErrOpen {
		t.Fatalf("tampered value opened: %v", err)
	}
	for _, bad := range []string{"", "v1:", "v2:abc", "v1:!!!"} {
		if _, err := b1.Open(bad); err != ErrOpen {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}
