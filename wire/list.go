package wire

// List is one page of a list: {"data": [...], "next_cursor": "..."}; an
// empty next_cursor means the last page.
type List[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

// Items is a list without paging, for small bounded lists: {"data": [...]}.
type Items[T any] struct {
	Data []T `json:"data"`
}
