package admin

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (a client IP, an email) in a sliding
// window, in memory. It is per node: with N nodes behind a load balancer an
// attacker gets at most N times the budget, which still stops guessing.
// Hand-written because it is twenty lines and needs an injectable clock.
type limiter struct {
	mu     sync.Mutex
	now    func() time.Time
	max    int
	window time.Duration
	fails  map[string][]time.Time // failure times, oldest first, at most max
}

// maxLimiterKeys bounds memory: past it, keys without recent failures are
// dropped (and, under a flood of distinct keys, all of them).
const maxLimiterKeys = 100_000

func newLimiter(now func() time.Time, max int, window time.Duration) *limiter {
	return &limiter{now: now, max: max, window: window, fails: map[string][]time.Time{}}
}

// blocked reports whether any key has used up its failures, and when the
// earliest of the blocking keys frees up.
func (l *limiter) blocked(keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		ts := l.recent(k, now)
		if len(ts) >= l.max {
			if w := ts[0].Add(l.window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait > 0, wait
}

// fail records one failure for each key.
func (l *limiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.fails) >= maxLimiterKeys {
		for k := range l.fails {
			if len(l.recent(k, now)) == 0 {
				delete(l.fails, k)
			}
		}
		if len(l.fails) >= maxLimiterKeys {
			clear(l.fails)
		}
	}
	for _, k := range keys {
		ts := append(l.recent(k, now), now)
		if len(ts) > l.max {
			ts = ts[len(ts)-l.max:]
		}
		l.fails[k] = ts
	}
}

// reset forgets a key's failures (an email after a successful login).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// recent drops a key's failures older than the window and returns the rest.
func (l *limiter) recent(k string, now time.Time) []time.Time {
	ts := l.fails[k]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.window {
		i++
	}
	if i == len(ts) {
		delete(l.fails, k)
		return nil
	}
	ts = ts[i:]
	l.fails[k] = ts
	return ts
}
