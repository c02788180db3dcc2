package notify

import (
	"context"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// FanoutForTest runs an event's fan-out as its job does, chunk recipients
// per transaction, failing after failAfter chunks (0: never) as a crash
// mid-way would.
func (s *Service) FanoutForTest(ctx context.Context, tenantID, eventID string, chunk, failAfter int) error {
	return s.fanout(ctx, tenantID, eventID, chunk, failAfter)
}

// EventWithoutJobForTest stores an event as POST /v1/events does but
// without its fan-out job, so a test runs the fan-out by hand alone.
func (s *Service) EventWithoutJobForTest(ctx context.Context, tenantID, typ string, ids []string) (string, error) {
	return s.EventDataWithoutJobForTest(ctx, tenantID, typ, ids, []byte(`{"v":0}`))
}

// EventDataWithoutJobForTest is EventWithoutJobForTest with the event's
// data (a JSON object).
func (s *Service) EventDataWithoutJobForTest(ctx context.Context, tenantID, typ string, ids []string, data []byte) (string, error) {
	rs := make([]recipient, len(ids))
	for i, id := range ids {
		rs[i] = recipient{ID: id}
	}
	e := Event{ID: store.NewID("nev_"), TenantID: tenantID, Type: typ, Data: data, Recipients: jsonOf(rs), RecipientCount: len(rs),
		Status: EventPending, CreatedAt: s.now()}
	return e.ID, s.db.Write(ctx, func(tx *store.Tx) error { return eventInsert(ctx, tx.Tenant(tenantID), e) })
}

// SetChannelForTest registers a delivery channel on a running service, as
// Options.Email and Options.Push do at New.
func (s *Service) SetChannelForTest(c Channel) { s.channels[c.Name()] = c }

// FeedAppend is feedAppend, for the external tests' stand-in of the
// fan-out (a notification row and its feed log entry in one transaction).
var FeedAppend = feedAppend

// Listening is closed once the feed's LISTEN connection is in place
// (PostgreSQL).
func (f *Feed) Listening() <-chan struct{} { return f.broker.listening }

// ListenerPID is the PostgreSQL backend of the feed's LISTEN connection.
func (f *Feed) ListenerPID() uint32 { return f.broker.pid.Load() }

// DigestSendForTest runs a digest's notify_digest job now, as the job
// engine runs it at the window's end.
func (s *Service) DigestSendForTest(ctx context.Context, tenantID, digestID string) error {
	return s.digestSend(ctx, tenantID, digestID)
}

// SetClockForTest replaces the service's clock; call it before anything
// is posted (the fan-out and digest jobs read it).
func (s *Service) SetClockForTest(now func() time.Time) { s.now = now }

// ByKeysForTest runs byKeys' query for cols of table in tx and returns
// the rows, each as its columns' text.
func ByKeysForTest(ctx context.Context, tx *store.Tx, cols, table, key, tenantID string, keys []string, cond string, condArgs ...any) ([][]string, error) {
	q, args := byKeys(tx, cols, table, key, tenantID, keys, cond, condArgs...)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	n := len(strings.Split(cols, ","))
	for rows.Next() {
		vals := make([]string, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}
