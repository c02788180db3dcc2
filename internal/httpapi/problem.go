package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

// Problem is an RFC 9457 problem detail with joist's stable code.
type Problem struct {
	Type          string `json:"type"`
	Title         string `json:"title"`
	Status        int    `json:"status"`
	Detail        string `json:"detail"`
	Code          string `json:"code"`
	CorrelationID string `json:"correlation_id,omitempty"`
	// ExistingID names the object that made a request a conflict, when known.
	ExistingID string `json:"existing_id,omitempty"`
	// Field names where invalid input was (invalid_text): a body field
	// ("metadata.plan"), "query.q", "path.contact" or "header.Idempotency-Key".
	Field string `json:"field,omitempty"`
}

func (p *Problem) Error() string { return p.Detail }

// NewProblem builds a Problem; handlers return it as an error.
func NewProblem(status int, code, detail string) *Problem {
	return &Problem{Type: "urn:joist:problem:" + code, Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

// toProblem maps any error to a Problem: domain kinds to statuses at the edge.
func toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(ce.Kind, core.ErrInvalid):
			status = http.StatusBadRequest
		case errors.Is(ce.Kind, core.ErrForbidden):
			status = http.StatusForbidden
		case errors.Is(ce.Kind, core.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(ce.Kind, core.ErrConflict):
			status = http.StatusConflict
		case errors.Is(ce.Kind, core.ErrUnauthorized):
			status = http.StatusUnauthorized
		}
		p := NewProblem(status, ce.Code, ce.Message)
		p.ExistingID, p.Field = ce.ExistingID, ce.Field
		return p
	}
	switch {
	case errors.Is(err, store.ErrBadCursor):
		return NewProblem(http.StatusBadRequest, "invalid_cursor", "cursor is not one this API returned; pass next_cursor from the previous page unchanged")
	case errors.Is(err, store.ErrNotFound):
		return NewProblem(http.StatusNotFound, "not_found", "not found")
	case errors.Is(err, store.ErrConflict):
		return NewProblem(http.StatusConflict, "conflict", "the request conflicts with a stored object")
	}
	return NewProblem(http.StatusInternalServerError, "internal", "internal error; the server log has details under this request's correlation id")
}

func writeProblem(w http.ResponseWriter, p *Problem, correlationID string) {
	p.CorrelationID = correlationID
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
