package store

import (
	"encoding/base64"
	"errors"
	"strings"
)

// Page asks for one page of a list.
type Page struct {
	// Limit is the page size; 0 means 50. Callers validate the upper bound.
	Limit int
	// Cursor is the opaque next_cursor of the previous page.
	Cursor string
}

// ErrBadCursor is returned for a cursor this store did not issue.
var ErrBadCursor = errors.New("cursor is not one this API returned")

// Size is the page size to fetch (Limit, or 50); fetch Size()+1 rows and
// give them to PageOf.
func (p Page) Size() int {
	if p.Limit <= 0 {
		return 50
	}
	return p.Limit
}

// After decodes the cursor into the id the page starts after.
func (p Page) After() (string, error) {
	if p.Cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil || !strings.HasPrefix(string(b), "c1:") {
		return "", ErrBadCursor
	}
	return string(b[3:]), nil
}

// EncodeCursor makes the opaque cursor for a page ending at id.
func EncodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("c1:" + id))
}

// PageOf trims a result fetched with limit+1 rows and returns the next cursor.
func PageOf[T any](items []T, limit int, id func(T) string) ([]T, string) {
	if len(items) > limit {
		items = items[:limit]
		return items, EncodeCursor(id(items[len(items)-1]))
	}
	return items, ""
}

// Collect scans all rows with scan (an empty slice, not nil, for none).
func Collect[T any](rows Rows, err error, scan func(Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// MorePlaceholders is ", ?" n times, for an IN list after a first "?".
func MorePlaceholders(n int) string {
	return strings.Repeat(", ?", n)
}
