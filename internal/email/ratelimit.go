package email

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// A provider's rate limit is per account, so it is kept in the database
// that every node shares, not in memory: one row per provider holds the
// next free slot. Before each API call a node takes the slot with one
// UPDATE (PostgreSQL locks the row for the statement, so concurrent nodes
// queue on it and each sees the other's slot; SQLite's single writer
// serialises the same way) and waits until the slot comes.

// maxRateWait is the longest a send waits for its slot within one attempt.
// A slot further out is not taken: the send is retried after that long.
const maxRateWait = time.Minute

// rateLimiter spaces one provider's requests 1/rate seconds apart across
// every node of the database.
type rateLimiter struct {
	db       *store.DB
	provider string
	interval time.Duration
	now      func() time.Time
}

func newRateLimiter(db *store.DB, provider string, perSecond int, now func() time.Time) *rateLimiter {
	return &rateLimiter{db: db, provider: provider, interval: time.Second / time.Duration(perSecond), now: now}
}

// take reserves the next free slot, at most maxRateWait away, and returns
// it; ok is false (with the next free slot) when every slot within that is taken.
func (l *rateLimiter) take(ctx context.Context) (slot time.Time, ok bool, err error) {
	now := l.now().UnixMicro()
	var next int64
	err = l.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO email_provider_rate (provider, next_us) VALUES (?, 0) ON CONFLICT (provider) DO NOTHING",
			l.provider); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `UPDATE email_provider_rate SET next_us = (CASE WHEN next_us > ? THEN next_us ELSE ? END) + ?
			WHERE provider = ? AND next_us <= ? RETURNING next_us`,
			now, now, l.interval.Microseconds(), l.provider, now+maxRateWait.Microseconds()).Scan(&next)
		if errors.Is(err, store.ErrNotFound) {
			ok = false
			return tx.QueryRow(ctx, "SELECT next_us FROM email_provider_rate WHERE provider = ?", l.provider).Scan(&next)
		}
		ok = err == nil
		if ok {
			next -= l.interval.Microseconds() // the slot taken, before the one left for the next send
		}
		return err
	})
	return time.UnixMicro(next), ok, err
}

// wait takes a slot and sleeps until it comes. When none is free within
// maxRateWait it returns a transient *SendError whose RetryAfter is the
// wait, so the send job is retried then.
func (l *rateLimiter) wait(ctx context.Context) error {
	slot, ok, err := l.take(ctx)
	if err != nil {
		return fmt.Errorf("%s rate limit: %w", l.provider, err)
	}
	d := slot.Sub(l.now())
	if !ok {
		return &SendError{Err: fmt.Errorf("%s rate limit: no free request slot for %s", l.provider, d.Round(time.Second)), RetryAfter: d}
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rateLimited is a provider behind the shared rate limit.
type rateLimited struct {
	Provider
	lim *rateLimiter
}

// Send waits for a slot, then sends.
func (r rateLimited) Send(ctx context.Context, m *Message) (Result, error) {
	if err := r.lim.wait(ctx); err != nil {
		return Result{}, err
	}
	return r.Provider.Send(ctx, m)
}
