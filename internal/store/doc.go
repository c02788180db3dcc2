// Package store owns joist's database: opening SQLite or PostgreSQL, the
// embedded migrations for each dialect, transactions, and the storage methods
// of the core records (tenants, contacts, API keys, operators, sessions, the
// audit log, the timeline and idempotency records).
//
// Two rules shape the package:
//
//   - Writes go through DB.Write. On PostgreSQL that is a plain pgx
//     transaction. On SQLite there is exactly one writer connection, and
//     concurrent Write calls are batched into one shared transaction (group
//     commit): each call runs inside its own SAVEPOINT, so a failing call rolls
//     back alone, and one fsync acknowledges the whole batch. A Write returns
//     nil only after its batch committed.
//   - Tenant data is only reachable through a Scope (Tx.Tenant), whose methods
//     all constrain on tenant_id. Unscoped methods on Tx exist only for
//     instance-level records (tenants, operators, sessions, root keys).
//
// SQL is written once with '?' placeholders; the PostgreSQL side rebinds them
// to $n. Times are time.Time in Go, timestamptz on PostgreSQL and fixed-width
// RFC 3339 UTC text on SQLite (so text order is time order).
package store
