package webhook

import (
	"context"
	"sync"

	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// Ingest batching: verified deliveries that arrive together are stored in
// one store.DB.Write (one insert per event as before, then one River batch
// insert and one multi-row jobs insert for all their forward jobs), so the
// per-job statement work is paid per batch rather than per event. There is
// no goroutine: the first waiting request leads, writes what is queued (up
// to maxBatch), wakes the others with their results, and hands the lead to
// the next queued request. Every request still answers after its commit.

// maxBatch bounds the deliveries written in one transaction.
const maxBatch = 200

// maxLeaders is how many batches may be in flight at once.
const maxLeaders = 2

// ingestItem is one verified delivery waiting to be stored.
type ingestItem struct {
	ctx           context.Context
	ls            loadedSource
	ev            store.WebhookEvent
	hdrs          map[string]string
	contact       string // the contact external id named by the delivery, if any
	correlationID string
	forward       bool

	out  IngestResult
	err  error
	sig  chan struct{}
	lead bool // guarded by batcher.mu
	done bool // guarded by batcher.mu
}

type batcher struct {
	mu      sync.Mutex
	queue   []*ingestItem
	leaders int
}

func (s *Service) batcher() *batcher { return &s.batch }

func wake(it *ingestItem) {
	select {
	case it.sig <- struct{}{}:
	default:
	}
}

// submit queues it and returns its result after the commit that stored it.
func (s *Service) submit(it *ingestItem) (IngestResult, error) {
	b := s.batcher()
	it.sig = make(chan struct{}, 1)
	b.mu.Lock()
	b.queue = append(b.queue, it)
	lead := b.leaders < maxLeaders
	if lead {
		b.leaders++
	}
	b.mu.Unlock()
	for {
		if lead {
			s.runBatch(b, it.ctx)
		}
		b.mu.Lock()
		if it.done {
			b.mu.Unlock()
			return it.out, it.err
		}
		b.mu.Unlock()
		<-it.sig
		b.mu.Lock()
		lead, it.lead = it.lead, false
		b.mu.Unlock()
	}
}

// runBatch writes up to maxBatch queued items, answers them, and passes the
// lead to the next queued item (or gives it up when none is left).
func (s *Service) runBatch(b *batcher, ctx context.Context) {
	b.mu.Lock()
	n := min(len(b.queue), maxBatch)
	batch := append([]*ingestItem(nil), b.queue[:n]...)
	b.queue = append(b.queue[:0], b.queue[n:]...)
	b.mu.Unlock()

	if len(batch) > 0 {
		s.writeBatch(context.WithoutCancel(ctx), batch)
	}

	b.mu.Lock()
	for _, it := range batch {
		it.done = true
	}
	if len(b.queue) > 0 {
		next := b.queue[0]
		next.lead = true
		wake(next)
	} else {
		b.leaders--
	}
	b.mu.Unlock()
	for _, it := range batch {
		wake(it)
	}
}

// writeBatch stores the batch in one Write. Should that Write fail, each
// item is written again on its own, so one bad delivery does not fail the
// others.
func (s *Service) writeBatch(ctx context.Context, batch []*ingestItem) {
	live := batch[:0:0]
	for _, it := range batch {
		if it.forward {
			// A forward that CreateTx would refuse fails its own delivery
			// only, before anything is written.
			if err := s.jobs.ValidatePush(s.forwardInput(it.ls.source, it.ev, it.hdrs)); err != nil {
				it.err = err
				continue
			}
			it.ev.ForwardJobID = store.NewID("job_")
		}
		live = append(live, it)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		it := live[0]
		it.out, it.err = s.store(it.ctx, it)
		return
	}
	outs := make([]IngestResult, len(live))
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var many []jobs.PushMany
		for i, it := range live {
			sc := tx.Tenant(it.ls.tenant.ID)
			stored, inserted, err := sc.WebhookEventInsert(ctx, it.ev)
			if err != nil {
				return err
			}
			outs[i] = IngestResult{EventID: stored.ID, Duplicate: !inserted}
			if !inserted {
				continue
			}
			if err := s.afterInsert(ctx, tx, sc, it); err != nil {
				return err
			}
			if it.forward {
				in := s.forwardInput(it.ls.source, it.ev, it.hdrs)
				in.JobID = it.ev.ForwardJobID
				many = append(many, jobs.PushMany{TenantID: it.ls.tenant.ID, Input: in, CorrelationID: it.correlationID})
			}
		}
		if len(many) == 0 {
			return nil
		}
		_, err := s.jobs.CreateManyTx(ctx, tx, many)
		return err
	})
	if err == nil {
		for i, it := range live {
			it.out = outs[i]
		}
		return
	}
	s.log.Warn("webhook ingest batch failed; storing its deliveries one by one", "n", len(live), "err", err)
	for _, it := range live {
		it.out, it.err = s.store(it.ctx, it)
	}
}
