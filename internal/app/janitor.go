package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// janitor deletes expired idempotency records and old webhook events every
// few minutes.
type janitor struct {
	core             *core.Service
	log              *slog.Logger
	interval         time.Duration
	webhookRetention time.Duration

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func newJanitor(c *core.Service, log *slog.Logger, webhookRetention time.Duration) *janitor {
	return &janitor{core: c, log: log, interval: 5 * time.Minute, webhookRetention: webhookRetention}
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
	if j.webhookRetention <= 0 {
		return
	}
	err = j.core.DB().Write(ctx, func(tx *store.Tx) error {
		_, err := tx.WebhookEventPurge(ctx, j.core.Now().Add(-j.webhookRetention), 5000)
		return err
	})
	if err != nil && ctx.Err() == nil {
		j.log.Warn("purge webhook events", "err", err)
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
