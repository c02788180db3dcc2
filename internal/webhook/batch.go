package webhook

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/joist-dev/joist/internal/jobs"
	"github.com/joist-dev/joist/internal/store"
)

// Ingest batching: verified deliveries that arrive together are stored in
// one store.DB.Write (one multi-row insert of their events, then one River
// batch insert and one multi-row jobs insert for all their forward jobs), so
// the per-statement work is paid per batch rather than per event. There is
// no goroutine: a waiting request leads. It queues a Write whose function
// takes the batch only when the writer runs it, so the batch holds every
// delivery that arrived while the previous one was being written (a
// delivery waits for at most the batch in progress and its own), and a new
// leader may queue the next Write at once. After the commit the leader
// answers its batch. Every request still answers after its commit.

// maxBatch bounds the deliveries written in one transaction.
const maxBatch = 200

// maxInFlight bounds the batches taken and not yet answered (the next
// leader waits for a free slot before it queues its Write). On SQLite one is
// written at a time, so this leaves room for a batch being answered while
// the next is written; on PostgreSQL up to this many transactions run.
const maxInFlight = 3

// ingestItem is one verified delivery waiting to be stored.
type ingestItem struct {
	ctx           context.Context
	ls            loadedSource
	ev            Event
	hdrs          map[string]string
	contact       string // the contact external id named by the delivery, if any
	correlationID string
	forward       bool
	fwd           jobs.PreparedPush // the forward job (JobID = ev.ForwardJobID), when forward

	out  IngestResult // set before done
	err  error
	sig  chan struct{} // wakes the request: it leads, or it is done
	lead atomic.Bool
	done atomic.Bool
}

type batcher struct {
	mu       sync.Mutex
	queue    []*ingestItem
	pending  bool // a leader exists that has not taken its batch yet
	inFlight int  // batches taken and not yet answered
}

func wake(it *ingestItem) {
	select {
	case it.sig <- struct{}{}:
	default:
	}
}

// appoint makes the first queued item the leader if there is room for
// another batch. b.mu is held.
func (b *batcher) appoint() {
	if b.pending || b.inFlight >= maxInFlight || len(b.queue) == 0 {
		return
	}
	b.pending = true
	next := b.queue[0]
	next.lead.Store(true)
	wake(next)
}

// take ends the leader's wait: it removes up to maxBatch queued items for
// its batch and lets another leader queue the next one.
func (b *batcher) take() []*ingestItem {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = false
	b.inFlight++
	n := min(len(b.queue), maxBatch)
	batch := append([]*ingestItem(nil), b.queue[:n]...)
	b.queue = append(b.queue[:0], b.queue[n:]...)
	b.appoint()
	return batch
}

// submit queues it and returns its result after the commit that stored it.
func (s *Service) submit(it *ingestItem) (IngestResult, error) {
	b := &s.batch
	it.sig = make(chan struct{}, 1)
	b.mu.Lock()
	b.queue = append(b.queue, it)
	b.appoint()
	b.mu.Unlock()
	// Waiting and waking take no lock: the batch's answers must not
	// contend with the writer taking the next batch.
	for {
		if it.done.Load() {
			return it.out, it.err
		}
		if it.lead.Swap(false) {
			s.lead(it.ctx)
			continue
		}
		<-it.sig
	}
}

// lead writes one batch and answers it.
func (s *Service) lead(ctx context.Context) {
	b := &s.batch
	ctx = context.WithoutCancel(ctx) // the batch is other requests' too
	var batch []*ingestItem
	var outs []IngestResult
	taken := false
	// The function takes its batch when the writer runs it (an effect
	// outside the transaction, but only of this process's memory: whatever
	// becomes of the Write, this leader answers the batch it took).
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if !taken {
			batch, taken = b.take(), true
			outs = make([]IngestResult, len(batch))
		}
		return s.writeBatch(ctx, tx, batch, outs)
	})
	if !taken {
		// The Write never ran the function (the store is closing): the
		// queued deliveries are stored, or fail, one by one.
		batch, err = b.take(), errRetryOneByOne
	}
	if err != nil {
		if err != errRetryOneByOne {
			s.log.Warn("webhook ingest batch failed; storing its deliveries one by one", "n", len(batch), "err", err)
		}
		for _, it := range batch {
			it.out, it.err = s.store(it.ctx, it)
		}
	} else {
		for i, it := range batch {
			it.out = outs[i]
		}
	}
	b.mu.Lock()
	b.inFlight--
	b.appoint()
	b.mu.Unlock()
	for _, it := range batch {
		it.done.Store(true)
		wake(it)
	}
}

var errRetryOneByOne = errors.New("webhook ingest: batch not written")

// writeBatch stores a batch in tx: its events with one multi-row insert per
// tenant, then timeline and billing per new event, then all new forward jobs
// with one CreateManyTx; outs gets each delivery's answer. A batch of one
// takes the path of a delivery written on its own.
func (s *Service) writeBatch(ctx context.Context, tx *store.Tx, batch []*ingestItem, outs []IngestResult) error {
	if len(batch) == 1 {
		var err error
		outs[0], err = s.storeTx(ctx, tx, batch[0])
		return err
	}
	// Items by tenant, in batch order (a batch almost always has one).
	var tenants []string
	byTenant := map[string][]int{}
	for i, it := range batch {
		t := it.ls.tenant.ID
		if _, ok := byTenant[t]; !ok {
			tenants = append(tenants, t)
		}
		byTenant[t] = append(byTenant[t], i)
	}
	inserted := make([]bool, len(batch))
	for _, t := range tenants {
		idx := byTenant[t]
		evs := make([]Event, len(idx))
		for k, i := range idx {
			evs[k] = batch[i].ev
		}
		ins, err := eventInsertMany(ctx, tx.Tenant(t), evs)
		if err != nil {
			return err
		}
		for k, i := range idx {
			inserted[i] = ins[k]
			outs[i] = IngestResult{EventID: evs[k].ID, Duplicate: !ins[k]}
		}
	}
	var many []jobs.PushMany
	for i, it := range batch {
		if !inserted[i] {
			continue
		}
		if err := s.afterInsert(ctx, tx, tx.Tenant(it.ls.tenant.ID), it); err != nil {
			return err
		}
		if it.forward {
			many = append(many, jobs.PushMany{TenantID: it.ls.tenant.ID, Push: it.fwd, CorrelationID: it.correlationID})
		}
	}
	if len(many) == 0 {
		return nil
	}
	_, err := s.jobs.CreateManyTx(ctx, tx, many)
	return err
}
