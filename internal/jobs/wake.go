package jobs

import (
	"context"
	"sync/atomic"

	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivershared/baseservice"
	"github.com/riverqueue/river/rivershared/riverpilot"
	"github.com/riverqueue/river/rivertype"

	"github.com/joist-dev/joist/internal/store"
)

// On PostgreSQL a transaction that enqueues a job also sends River's
// NOTIFY, so a producer fetches the job as soon as it commits. SQLite has
// no LISTEN/NOTIFY: River's SQLite driver emulates it with a table that
// each enqueue writes a row to and that a listener polls every 50 ms, so a
// job waited up to 50 ms (and a fetch cooldown) before it started, and
// every enqueue cost one more write on SQLite's single writer. A SQLite
// database has one joist process, so joist wakes the producers in memory
// instead, once the transaction that enqueued the job has committed
// (store.Tx.AfterCommit): the driver is wrapped to tell River it has no
// listener (River then runs as it does on any driver without one: leader
// election, cancellations and queue pauses by polling), and to give River
// a standard pilot that keeps the function River wakes producers with.

// wakePilot is River's standard pilot, keeping the function that wakes
// producers after a committed insert.
type wakePilot struct {
	*riverpilot.StandardPilot
	notify atomic.Pointer[func(context.Context, []*rivertype.JobInsertResult)]
}

func (p *wakePilot) PilotInit(archetype *baseservice.Archetype, params *riverpilot.PilotInitParams) {
	p.StandardPilot.PilotInit(archetype, params)
	f := params.NotifyNonTxJobInsert
	p.notify.Store(&f)
}

// wake tells the producers of queues that jobs were committed there.
func (p *wakePilot) wake(queues []string) {
	f := p.notify.Load()
	if f == nil || len(queues) == 0 {
		return
	}
	res := make([]*rivertype.JobInsertResult, len(queues))
	for i, q := range queues {
		res[i] = &rivertype.JobInsertResult{Job: &rivertype.JobRow{Queue: q}}
	}
	(*f)(context.Background(), res)
}

// wakeDriver is River's SQLite driver with the wakePilot.
type wakeDriver struct {
	*riversqlite.Driver
	pilot *wakePilot
}

// SupportsListener and SupportsListenNotify say no: joist wakes the
// producers itself (wakeAfterCommit), without the notification table.
func (d wakeDriver) SupportsListener() bool     { return false }
func (d wakeDriver) SupportsListenNotify() bool { return false }

func (d wakeDriver) PluginInit(*baseservice.Archetype) {}
func (d wakeDriver) PluginPilot() riverpilot.Pilot     { return d.pilot }

// wakeAfterCommit arranges for the producers of the queues of res (or of
// opts, for inserts that return no rows) to fetch once tx commits. It is a
// no-op on PostgreSQL, whose NOTIFY does the same.
func (e *Engine) wakeAfterCommit(tx *store.Tx, res []*rivertype.JobInsertResult) {
	if e.wake == nil || len(res) == 0 {
		return
	}
	seen := map[string]bool{}
	var queues []string
	for _, r := range res {
		q := ""
		if r != nil && r.Job != nil {
			q = r.Job.Queue
		}
		if q == "" || r.UniqueSkippedAsDuplicate {
			continue
		}
		if !seen[q] {
			seen[q] = true
			queues = append(queues, q)
		}
	}
	if len(queues) == 0 {
		return
	}
	tx.AfterCommit(func() { e.wake.wake(queues) })
}
