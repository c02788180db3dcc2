package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/joist-dev/joist/internal/store"
)

// idempotent runs a creating POST under its Idempotency-Key, scoped to
// (tenant, route, key): the same key and body replays the first response;
// the same key with another body is 409 idempotency_conflict. Only
// successful responses are kept: a failed request stored nothing, so a retry
// must run again.
func (a *API) idempotent(w http.ResponseWriter, r *Request, rt Route) error {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return rt.Handler(w, r)
	}
	if len(key) > 255 {
		return NewProblem(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be at most 255 characters")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return NewProblem(http.StatusRequestEntityTooLarge, "body_too_large", "request body is larger than the "+strconv.FormatInt(mbe.Limit, 10)+"-byte limit")
		}
		return NewProblem(http.StatusBadRequest, "unreadable_body", err.Error())
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	now := a.core.Now()
	rec := store.IdempotencyRecord{TenantID: r.Tenant.ID, Route: rt.Method + " " + rt.Pattern, Key: key,
		RequestHash: hex.EncodeToString(h.Sum(nil)), CreatedAt: now, ExpiresAt: now.Add(a.opts.IdempotencyTTL)}
	if rt.IdempotentInTx {
		return a.idempotentInTx(w, r, rt, rec, now)
	}
	var existing store.IdempotencyRecord
	err = a.db.Write(r.Context(), func(tx *store.Tx) error {
		var err error
		existing, err = tx.IdempotencyClaim(r.Context(), rec, now)
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return replay(w, existing, rec)
	}
	if err != nil {
		return err
	}
	rw := &recorder{header: http.Header{}}
	herr := rt.Handler(rw, r)
	ctx := r.Context()
	if herr != nil || rw.status < 200 || rw.status > 299 {
		if err := a.db.Write(ctx, func(tx *store.Tx) error { return tx.IdempotencyRelease(ctx, rec.TenantID, rec.Route, rec.Key) }); err != nil {
			a.log.Error("release idempotency key", "err", err)
		}
	} else {
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
		if err := a.db.Write(ctx, func(tx *store.Tx) error { return tx.IdempotencyComplete(ctx, rec) }); err != nil {
			a.log.Error("store idempotent response", "err", err)
		}
	}
	if herr != nil {
		return herr
	}
	for k, v := range rw.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rw.status)
	_, err = w.Write(rw.body.Bytes())
	return err
}

// replay answers a request whose key is taken: the first response again
// when the body is the same, 409 otherwise or while the first runs.
func replay(w http.ResponseWriter, existing, rec store.IdempotencyRecord) error {
	switch {
	case existing.RequestHash != rec.RequestHash:
		return NewProblem(http.StatusConflict, "idempotency_conflict",
			"this Idempotency-Key was already used with a different request body; use a new key for a new request")
	case existing.State != "done":
		return NewProblem(http.StatusConflict, "idempotency_in_progress",
			"a request with this Idempotency-Key is still being processed; retry in a moment")
	}
	w.Header().Set("Content-Type", existing.ContentType)
	for _, line := range strings.Split(existing.Headers, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			w.Header().Set(k, v)
		}
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(existing.Status)
	_, _ = w.Write(existing.Body)
	return nil
}

// replayedHeaders are the response headers a replay repeats.
var replayedHeaders = []string{"Location", "Cache-Control"}

// RedactFields returns a Route.Redact that removes the named top-level
// fields from a stored response: a secret is shown once, never stored in
// plain text, and a replay answers with the rest (the created key's id
// and prefix, say) but without the secret.
func RedactFields(names ...string) func([]byte) []byte {
	return func(body []byte) []byte {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil {
			return nil
		}
		for _, n := range names {
			delete(m, n)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil
		}
		return append(b, '\n')
	}
}

// recorder buffers a handler's response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
