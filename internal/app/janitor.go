package app

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// janitor deletes expired idempotency records every few minutes and runs
// each system's own maintenance (the webhook system purges old events).
type janitor struct {
	core     *core.Service
	log      *slog.Logger
	interval time.Duration
	systems  map[string]maintainer

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// maintainer is a system whose maintenance the janitor runs: Maintain does
// one round of it (bounded, so a round never holds the writer for long).
type maintainer interface {
	Maintain(ctx context.Context) error
}

func newJanitor(c *core.Service, log *slog.Logger, systems map[string]maintainer) *janitor {
	return &janitor{core: c, log: log, interval: 5 * time.Minute, systems: systems}
}

func (j *janitor) Start(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cancel != nil {
		return nil
	}
	ctx, j.cancel = context.WithCancel(context.WithoutCancel(ctx))
	j.done = make(chan struct{})
	go func() {
		defer close(j.done)
		t := time.NewTicker(j.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				j.sweep(ctx)
			}
		}
	}()
	return nil
}

func (j *janitor) sweep(ctx context.Context) {
	err := j.core.DB().Write(ctx, func(tx *store.Tx) error {
		n, err := tx.IdempotencyPurge(ctx, j.core.Now())
		if n > 0 {
			j.log.Debug("purged idempotency keys", "count", n)
		}
		return err
	})
	if err != nil && ctx.Err() == nil {
		j.log.Warn("purge idempotency keys", "err", err)
	}
	for _, name := range slices.Sorted(maps.Keys(j.systems)) {
		if err := j.systems[name].Maintain(ctx); err != nil && ctx.Err() == nil {
			j.log.Warn("maintenance", "system", name, "err", err)
		}
	}
}

func (j *janitor) Stop() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cancel == nil {
		return
	}
	j.cancel()
	<-j.done
	j.cancel = nil
}
