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
	// List names the list the page is of (the HTTP kit sets the route,
	// "GET /v1/contacts"). A cursor carries the name of its list, and a
	// cursor of another list is refused (ErrBadCursor) instead of being
	// read as a position in this one.
	List string
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

// After decodes the cursor into the id the page starts after; a cursor
// of another list, or one that is not joist's, is ErrBadCursor.
func (p Page) After() (string, error) {
	if p.Cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil {
		return "", ErrBadCursor
	}
	list, id, ok := strings.Cut(string(b), "\n")
	if !ok || list != "c2:"+p.List {
		return "", ErrBadCursor
	}
	return id, nil
}

// EncodeCursor makes the opaque cursor of list for a page ending at id.
func EncodeCursor(list, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("c2:" + list + "\n" + id))
}

// PageOf trims a result fetched with p.Size()+1 rows and returns the next
// cursor (of p's list).
func PageOf[T any](items []T, p Page, id func(T) string) ([]T, string) {
	if limit := p.Size(); len(items) > limit {
		items = items[:limit]
		return items, EncodeCursor(p.List, id(items[len(items)-1]))
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
