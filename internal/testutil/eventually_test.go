package testutil

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records Fatalf instead of stopping.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestEventuallyReturnsOnceTrue(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	r := &recorder{TB: t}
	start := time.Now()
	Eventually(r, 5*time.Second, func() error {
		if n.Add(1) < 4 {
			return errors.New("not yet")
		}
		return nil
	})
	if r.fatal != "" {
		t.Fatalf("failed a condition that became true: %s", r.fatal)
	}
	if got := n.Load(); got != 4 {
		t.Fatalf("f called %d times, want 4 (it returns as soon as f holds)", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %s for three short pauses", d)
	}
}

func TestEventuallyFailsWithTheLastReason(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	r := &recorder{TB: t}
	start := time.Now()
	Eventually(r, 200*time.Millisecond, func() error {
		return fmt.Errorf("saw %d deliveries, want 3", n.Add(1))
	})
	d := time.Since(start)
	last := fmt.Sprintf("saw %d deliveries, want 3", n.Load())
	if !strings.Contains(r.fatal, last) || !strings.Contains(r.fatal, "200ms") {
		t.Fatalf("failure %q does not carry the timeout and the last reason %q", r.fatal, last)
	}
	if d < 200*time.Millisecond || d > 2*time.Second {
		t.Fatalf("gave up after %s, want about 200ms", d)
	}
	if n.Load() < 3 {
		t.Fatalf("f tried only %d times in 200ms", n.Load())
	}
}

func TestEventuallyTriesOnceWithNoTime(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	r := &recorder{TB: t}
	Eventually(r, 0, func() error { n.Add(1); return nil })
	if r.fatal != "" || n.Load() != 1 {
		t.Fatalf("a true condition with no time: %d calls, failure %q", n.Load(), r.fatal)
	}
	Eventually(r, 0, func() error { return errors.New("never") })
	if !strings.Contains(r.fatal, "never") {
		t.Fatalf("a false condition with no time did not fail: %q", r.fatal)
	}
}
