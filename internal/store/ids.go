package store

import (
	"strings"

	"github.com/oklog/ulid/v2"
)

// Prefixes of object ids: an id names its type, and never collides with a slug.
const (
	PrefixTenant    = "tn_"
	PrefixContact   = "ct_"
	PrefixKey       = "key_"
	PrefixOperator  = "op_"
	PrefixAudit     = "aud_"
	PrefixTimeline  = "tl_"
	PrefixCorrelate = "cor_"
)

// NewID returns a new sortable id with the given prefix: the prefix and a
// lower-case ULID (time-ordered to the millisecond, random after).
func NewID(prefix string) string {
	return prefix + strings.ToLower(ulid.Make().String())
}
