package notify

import (
	"slices"

	"github.com/joist-dev/joist/internal/store"
)

// Lookups of a chunk's rows by a list of keys (up to a chunk of
// recipients), written per store so that each key is one index probe
// whatever the table's statistics say.
//
// "tenant_id = ? AND key IN (?, ?, ...)" is what SQLite probes the index
// with. PostgreSQL, whose prepared statement soon runs a generic plan,
// often chose (on tables just filled, without statistics: the contacts an
// event's inline recipients created a moment ago, the devices registered
// since) to scan all of the tenant's rows, comparing each with every one
// of the 500 parameters: 95 ms a chunk for 4,000 contacts, growing with
// the tenant. There the keys go as one array, each probed through a
// LATERAL subquery, which PostgreSQL runs once per key. Without LIMIT 1
// (the key is unique anyway): with it, on a table without statistics,
// PostgreSQL expected a scan to find the row at once and scanned the
// table once per key (27 ms a chunk for 1,000 contacts); without it, it
// probes the index. (A semi-join, "key IN (SELECT unnest(?))", was
// worse: a scan per key for the counts, 116 ms a chunk.)

// byKeys returns the query for "cols of table's rows of tenantID that
// match cond (with condArgs; "" for none) and whose column key is one of
// keys" and its arguments. key must be unique among the rows cond allows
// (a key's row is at most one). Duplicate keys are asked once.
func byKeys(tx *store.Tx, cols, table, key, tenantID string, keys []string, cond string, condArgs ...any) (string, []any) {
	if cond != "" {
		cond = " AND " + cond
	}
	if tx.Dialect() == store.Postgres {
		args := append([]any{distinct(keys), tenantID}, condArgs...)
		return `SELECT r.* FROM unnest(?::text[]) AS k(v) CROSS JOIN LATERAL (SELECT ` + cols + ` FROM ` + table +
			` WHERE tenant_id = ?` + cond + ` AND ` + key + ` = k.v) r`, args
	}
	args := make([]any, 0, len(keys)+1+len(condArgs))
	args = append(append(args, tenantID), condArgs...)
	for _, k := range keys {
		args = append(args, k)
	}
	return "SELECT " + cols + " FROM " + table + " WHERE tenant_id = ?" + cond + " AND " + key + " IN (?" + store.MorePlaceholders(len(keys)-1) + ")", args
}

// countByKeys returns the query for "each key of keys with the count of
// table's rows of tenantID whose column key it is (and that match cond,
// with condArgs)": (key, count) rows, keys with no rows may be left out.
func countByKeys(tx *store.Tx, table, key, cond string, condArgs []any, tenantID string, keys []string) (string, []any) {
	if cond != "" {
		cond = " AND " + cond
	}
	if tx.Dialect() == store.Postgres {
		args := append([]any{tenantID}, condArgs...)
		return `SELECT k.v, (SELECT COUNT(*) FROM ` + table + ` WHERE tenant_id = ? AND ` + key + ` = k.v` + cond + `) FROM unnest(?::text[]) AS k(v)`,
			append(args, distinct(keys))
	}
	args := make([]any, 0, len(keys)+1+len(condArgs))
	args = append(args, tenantID)
	for _, k := range keys {
		args = append(args, k)
	}
	return "SELECT " + key + ", COUNT(*) FROM " + table + " WHERE tenant_id = ? AND " + key + " IN (?" + store.MorePlaceholders(len(keys)-1) + ")" +
		cond + " GROUP BY " + key, append(args, condArgs...)
}

// distinct is keys without repeats, in order.
func distinct(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return slices.Clip(out)
}
