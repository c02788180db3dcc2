package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/store"
)

// TxIdempotency is the Idempotency-Key of a request to an IdempotentInTx
// route, kept by the handler inside the transaction that stores what the
// request creates: Claim before its first write, Complete once the
// response is known. The claim and the response commit with the request's
// effects or not at all, so a crash never leaves the key claimed, and a
// failed request (rolled back) keeps nothing, as on other routes. A nil
// *TxIdempotency (no key sent) claims nothing and only encodes.
type TxIdempotency struct {
	rec       store.IdempotencyRecord
	now       time.Time
	redact    func([]byte) []byte
	completed bool
}

// Idempotency returns the request's in-transaction Idempotency-Key, or nil
// when it was sent without one (or the route is not IdempotentInTx).
func (r *Request) Idempotency() *TxIdempotency { return r.idem }

// keyTaken is Claim's error when another request holds the key: the kit
// answers it as it answers any reused key (replay or 409).
type keyTaken struct{ existing store.IdempotencyRecord }

func (keyTaken) Error() string { return "idempotency key already used" }

// Claim takes the key inside tx. When another request holds it, it
// returns an error the handler must return as it is (after its
// transaction rolls back): the kit then replays the first response, or
// answers 409.
func (t *TxIdempotency) Claim(ctx context.Context, tx *store.Tx) error {
	if t == nil {
		return nil
	}
	ex, err := tx.IdempotencyClaim(ctx, t.rec, t.now)
	if errors.Is(err, store.ErrConflict) {
		return keyTaken{existing: ex}
	}
	return err
}

// Complete encodes v as the JSON response (as WriteJSON does), keeps it
// with status and the replayed headers of header as the key's response
// inside tx, and returns the body for the handler to write with
// WriteJSONBody once tx has committed.
func (t *TxIdempotency) Complete(ctx context.Context, tx *store.Tx, status int, header http.Header, v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	if t == nil {
		return buf.Bytes(), nil
	}
	rec := t.rec
	rec.Status, rec.ContentType, rec.Body = status, "application/json", buf.Bytes()
	var hs []string
	for _, k := range replayedHeaders {
		if v := header.Get(k); v != "" {
			hs = append(hs, k+": "+v)
		}
	}
	rec.Headers = strings.Join(hs, "\n")
	if t.redact != nil {
		rec.Body = t.redact(rec.Body)
	}
	if err := tx.IdempotencyComplete(ctx, rec); err != nil {
		return nil, err
	}
	t.completed = true
	return buf.Bytes(), nil
}

// WriteJSONBody writes a JSON body encoded by Complete.
func WriteJSONBody(w http.ResponseWriter, status int, body []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// idempotentInTx serves an IdempotentInTx route: the handler claims and
// completes the key in its own transaction. On SQLite a key already kept
// is first looked for on a reader, so that a replay or a conflict is
// answered without the single writer (and before a handler that reads
// ahead of its write could answer otherwise); on PostgreSQL that would be
// one transaction more per request, and the claim in the handler's
// transaction answers the same.
func (a *API) idempotentInTx(w http.ResponseWriter, r *Request, rt Route, rec store.IdempotencyRecord, now time.Time) error {
	ctx := r.Context()
	if a.db.Dialect() == store.SQLite {
		var existing store.IdempotencyRecord
		err := a.db.Read(ctx, func(tx *store.Tx) error {
			var err error
			existing, err = tx.IdempotencyGet(ctx, rec.TenantID, rec.Route, rec.Key, now)
			return err
		})
		switch {
		case err == nil && !(existing.State == "pending" && existing.CreatedAt.Before(now.Add(-store.PendingClaimTimeout))):
			return replay(w, existing, rec)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	t := &TxIdempotency{rec: rec, now: now, redact: rt.Redact}
	r.idem = t
	rw := &recorder{header: http.Header{}}
	herr := rt.Handler(rw, r)
	var taken keyTaken
	if errors.As(herr, &taken) {
		return replay(w, taken.existing, rec)
	}
	if herr != nil {
		return herr
	}
	if !t.completed && rw.status >= 200 && rw.status <= 299 {
		// A handler that answered 2xx without keeping the key (a defect):
		// keep it now, so that a retry still replays rather than runs again.
		a.log.Error("idempotent route did not keep its Idempotency-Key in its transaction", "route", rec.Route)
		rec.Status, rec.ContentType, rec.Body = rw.status, rw.header.Get("Content-Type"), rw.body.Bytes()
		var hs []string
		for _, k := range replayedHeaders {
			if v := rw.header.Get(k); v != "" {
				hs = append(hs, k+": "+v)
			}
		}
		rec.Headers = strings.Join(hs, "\n")
		if rt.Redact != nil {
			rec.Body = rt.Redact(rec.Body)
		}
		if err := a.db.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.IdempotencyClaim(ctx, rec, now); err != nil {
				return err
			}
			return tx.IdempotencyComplete(ctx, rec)
		}); err != nil {
			a.log.Error("store idempotent response", "err", err)
		}
	}
	for k, v := range rw.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rw.status)
	_, err := w.Write(rw.body.Bytes())
	return err
}
