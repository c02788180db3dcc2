package notify

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/httpapi"
)

// streamPath is the stream's path: the one feed route that takes its
// token as ?token= (EventSource cannot send headers).
const streamPath = "/v1/feed/stream"

// replayBatch is how many feed log entries a stream reads at a time.
const replayBatch = 200

// writeWindow is how long one write of a stream may take before the
// connection is given up (a client that stopped reading); it replaces
// any server-wide WriteTimeout for the stream, which would otherwise
// cut every stream at the same age.
const writeWindow = 30 * time.Second

// stream serves GET /v1/feed/stream: Server-Sent Events of the contact's
// feed. Events: notification (a new one), state (one notification's
// seen, read or archived state changed), counts (after any change, and
// once on connect); each event's id is the feed sequence it reflects,
// so Last-Event-ID (or ?last_event_id=) resumes from the feed log, on any
// node, without a gap. A comment every Heartbeat keeps proxies from
// closing the connection.
func (a *feedAPI) stream(w http.ResponseWriter, r *httpapi.Request) error {
	f := a.feed
	p, err := a.auth(w, r)
	if err != nil {
		return err
	}
	tenantID, contactID := p.tenantID, p.contactID
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	var after int64
	if last != "" {
		if after, err = strconv.ParseInt(strings.TrimSpace(last), 10, 64); err != nil || after < 0 {
			return httpapi.NewProblem(http.StatusBadRequest, "invalid_last_event_id", "Last-Event-ID must be an event id this stream sent (a number)")
		}
	}
	// Subscribe before reading, so a change committed meanwhile wakes us.
	sub := f.hub.subscribe(tenantID, contactID)
	defer f.hub.unsubscribe(sub)
	// What was missed since Last-Event-ID (nothing without it), then the
	// counts (sent even when nothing was missed, so a badge is right at
	// once): one read transaction, unless more than replayBatch was missed.
	after, missed, counts, err := f.streamStart(r.Context(), tenantID, contactID, after, last == "", replayBatch)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: rc}
	if after, err = s.entries(missed, after); err != nil {
		return err
	}
	if len(missed) < replayBatch {
		err = s.event("counts", after, counts)
	} else {
		after, err = a.catchUp(r.Context(), s, tenantID, contactID, after, true)
	}
	if err != nil {
		return err
	}
	sub.doneReading(after)
	// The stream ends when its token expires: the client reconnects
	// with a fresh one (and Last-Event-ID), so a token stops working
	// everywhere at its expiry, open streams included.
	expired := time.NewTimer(time.Until(p.expires))
	defer expired.Stop()
	ctx := r.Context()
	owesCounts := false // a full batch was sent without its counts
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.done:
			return nil
		case <-expired.C:
			return nil
		case <-sub.wake:
		}
		// The hub's dispatcher has read for us (batches), or we must
		// read the log ourselves, or owe a heartbeat.
		batches, read, beat := sub.take()
		if beat {
			if err := s.comment("heartbeat"); err != nil {
				return err
			}
		}
		for _, b := range batches {
			var sent, counts bool
			if after, sent, counts, err = s.batch(b, after); err != nil {
				if ctx.Err() != nil {
					return nil // the client went away
				}
				return err
			}
			owesCounts = (owesCounts || sent) && !counts
		}
		if read {
			if after, err = a.catchUp(ctx, s, tenantID, contactID, after, owesCounts); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			owesCounts = false
			sub.doneReading(after)
		}
	}
}

// catchUp sends every feed log entry after seq, then the counts (when
// it sent anything, or always), and returns the last sequence sent.
func (a *feedAPI) catchUp(ctx context.Context, s *sse, tenantID, contactID string, seq int64, always bool) (int64, error) {
	sent := false
	for {
		entries, err := a.feed.logAfter(ctx, tenantID, contactID, seq, replayBatch)
		if err != nil {
			return seq, err
		}
		if len(entries) > 0 {
			sent = true
		}
		if seq, err = s.entries(entries, seq); err != nil {
			return seq, err
		}
		if len(entries) < replayBatch {
			break
		}
	}
	if !sent && !always {
		return seq, nil
	}
	return seq, a.sendCounts(ctx, s, tenantID, contactID, seq)
}

// entries sends feed log entries, and returns the last sequence sent
// (seq when none).
func (s *sse) entries(entries []logEntry, seq int64) (int64, error) {
	for _, e := range entries {
		seq = e.Seq
		if e.Item == nil {
			continue // no longer in the feed: nothing to show, the counts follow
		}
		kind := "state"
		if e.Kind == FeedNew {
			kind = "notification"
		}
		if err := s.event(kind, e.Seq, e.Item); err != nil {
			return seq, err
		}
	}
	return seq, nil
}

func (a *feedAPI) sendCounts(ctx context.Context, s *sse, tenantID, contactID string, seq int64) error {
	c, err := a.feed.Counts(ctx, tenantID, contactID)
	if err != nil {
		return err
	}
	return s.event("counts", seq, c)
}

// sse writes Server-Sent Events, flushing each, with a write deadline
// per write (see writeWindow).
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s *sse) write(b []byte) error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(writeWindow)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *sse) event(name string, id int64, v any) error {
	b, err := encodeEvent(name, id, v)
	if err != nil {
		return err
	}
	return s.write(b)
}

// batch sends what b has after seq (the events, then the counts when it
// sent any and b has them), flushed once, and returns the last sequence
// sent, whether it sent any and whether it sent the counts.
func (s *sse) batch(b *feedBatch, seq int64) (last int64, sent, counts bool, err error) {
	n := 0
	for _, e := range b.entries {
		if e.seq <= seq {
			continue // this stream has it
		}
		if n == 0 {
			if err := s.rc.SetWriteDeadline(time.Now().Add(writeWindow)); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return seq, false, false, err
			}
		}
		seq = e.seq
		n++
		if e.event == nil {
			continue // no longer in the feed: nothing to show, the counts follow
		}
		if _, err := s.w.Write(e.event); err != nil {
			return seq, true, false, err
		}
	}
	if n == 0 {
		return seq, false, false, nil
	}
	if b.counts != nil {
		if _, err := s.w.Write(b.counts); err != nil {
			return seq, true, false, err
		}
	}
	return seq, true, b.counts != nil, s.rc.Flush()
}

func (s *sse) comment(text string) error { return s.write([]byte(": " + text + "\n\n")) }
