package testutil

import (
	"testing"
	"time"
)

// Pauses between two checks of an Eventually condition: the first is
// firstPoll, each next one doubles, up to maxPoll.
const (
	firstPoll = 5 * time.Millisecond
	maxPoll   = 100 * time.Millisecond
)

// Eventually calls f until it returns nil, pausing between calls with a
// backoff from 5ms to 100ms. If f has not returned nil by timeout,
// Eventually fails the test (t.Fatalf) with f's last error and how many
// times it was tried. f is always called at least once, and once more at or
// after the deadline, so a condition that becomes true just before the end
// is still seen.
//
// f runs on the calling goroutine, so it may itself call t.Fatal for errors
// that must not be retried (a failed request, an impossible state); its
// returned error is for "not yet", and should say what was expected and what
// was seen instead.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := firstPoll
	for tries := 1; ; tries++ {
		err := f()
		if err == nil {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("still not true after %s (%d tries): %v", timeout, tries, err)
			return // for a testing.TB whose Fatalf returns
		}
		time.Sleep(min(pause, left))
		pause = min(2*pause, maxPoll)
	}
}
