package jobs

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// riverLog is the slog handler River logs through. River names jobs by its
// own numeric id (job_id=7) while the API, the admin and joist's own logs
// use joist's (job_01...): riverLog writes joist's id as job_id and keeps
// River's as river_job_id, so that a job seen in the dashboard can be found
// in the log. River's "Producer job counts" line, written at INFO every
// few seconds while jobs run, is lowered to DEBUG.
type riverLog struct {
	inner slog.Handler
	ids   *jobIDs
}

func (h riverLog) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h riverLog) WithAttrs(as []slog.Attr) slog.Handler {
	return riverLog{inner: h.inner.WithAttrs(as), ids: h.ids}
}

func (h riverLog) WithGroup(name string) slog.Handler {
	return riverLog{inner: h.inner.WithGroup(name), ids: h.ids}
}

func (h riverLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && strings.HasSuffix(r.Message, "Producer job counts") {
		if !h.inner.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	var riverID int64
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "job_id" && a.Value.Kind() == slog.KindInt64 {
			riverID, found = a.Value.Int64(), true
			return false
		}
		return true
	})
	if !found {
		return h.inner.Handle(ctx, r)
	}
	id := h.ids.lookup(ctx, riverID)
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "job_id" && a.Value.Kind() == slog.KindInt64 {
			if id != "" {
				out.AddAttrs(slog.String("job_id", id))
			}
			out.AddAttrs(slog.Int64("river_job_id", riverID))
			return true
		}
		out.AddAttrs(a)
		return true
	})
	return h.inner.Handle(ctx, out)
}

// jobIDs maps River's job ids to joist's: workers remember the jobs they
// run (River logs about a job right after its worker returns), and other
// ids are read from joist's jobs table, bounded by a short timeout. The
// most recent entries are kept.
type jobIDs struct {
	load func(ctx context.Context, riverID int64) (string, error)

	mu   sync.Mutex
	ids  map[int64]string
	ring []int64
	next int
}

const jobIDsKept = 4096

func newJobIDs(load func(ctx context.Context, riverID int64) (string, error)) *jobIDs {
	return &jobIDs{load: load, ids: map[int64]string{}, ring: make([]int64, jobIDsKept)}
}

// remember records that River's riverID is joist's id.
func (m *jobIDs) remember(riverID int64, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ids[riverID]; ok {
		return
	}
	if old := m.ring[m.next]; old != 0 {
		delete(m.ids, old)
	}
	m.ring[m.next] = riverID
	m.next = (m.next + 1) % len(m.ring)
	m.ids[riverID] = id
}

// lookup returns joist's id of River's riverID, or "" if none is known.
func (m *jobIDs) lookup(ctx context.Context, riverID int64) string {
	m.mu.Lock()
	id, ok := m.ids[riverID]
	m.mu.Unlock()
	if ok || m.load == nil {
		return id
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	id, err := m.load(ctx, riverID)
	if err != nil {
		return ""
	}
	m.remember(riverID, id)
	return id
}

// jobIDByRiverID reads joist's id of a River job from the jobs table.
func jobIDByRiverID(db *store.DB) func(ctx context.Context, riverID int64) (string, error) {
	return func(ctx context.Context, riverID int64) (string, error) {
		var id string
		err := db.Read(ctx, func(tx *store.Tx) error {
			err := tx.QueryRow(ctx, "SELECT id FROM jobs WHERE river_id = ?", riverID).Scan(&id)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		})
		return id, err
	}
}
