package core

import (
	"errors"
	"fmt"

	"github.com/joist-dev/joist/internal/store"
)

// Error kinds, mapped to HTTP statuses at the edge.
var (
	ErrInvalid   = errors.New("invalid")
	ErrForbidden = errors.New("forbidden")
	ErrNotFound  = store.ErrNotFound
	ErrConflict  = store.ErrConflict
)

// Error is a domain error with a stable code and a message a person can act on.
type Error struct {
	Kind    error
	Code    string
	Message string
	// ExistingID names the stored object a conflict is about, when known.
	ExistingID string
	// Field names where invalid input was, when one field is to blame.
	Field string
}

func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is match the kind.
func (e *Error) Unwrap() error { return e.Kind }

func invalid(code, format string, args ...any) error {
	return &Error{Kind: ErrInvalid, Code: code, Message: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &Error{Kind: ErrForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &Error{Kind: ErrNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

func conflict(code, format string, args ...any) error {
	return &Error{Kind: ErrConflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// The constructors below let every system report errors the way core
// does; the edge (HTTP, the dashboard) maps their kinds to statuses.

// Invalid is a 400-kind error with a stable code.
func Invalid(code, format string, args ...any) error { return invalid(code, format, args...) }

// NotFound is a 404-kind error.
func NotFound(format string, args ...any) error { return notFound(format, args...) }

// Forbidden is a 403-kind error.
func Forbidden(format string, args ...any) error { return forbidden(format, args...) }

// Conflict is a 409-kind error naming the existing object when known.
func Conflict(code, existingID, format string, args ...any) error {
	return &Error{Kind: ErrConflict, Code: code, Message: fmt.Sprintf(format, args...), ExistingID: existingID}
}

// InvalidText is the error for text joist cannot store: a NUL byte or
// invalid UTF-8 in field (see store.ValidText).
func InvalidText(field string) error {
	return &Error{Kind: ErrInvalid, Code: "invalid_text", Field: field,
		Message: field + " holds a NUL byte or is not valid UTF-8; joist stores text as UTF-8 without NUL, so send it encoded that way (binary data as base64)"}
}
