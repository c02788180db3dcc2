// Package store is joist's database kit: opening SQLite or PostgreSQL,
// transactions and the tenant Scope, group commit, ids, pages and cursors,
// the migration runner that applies every system's MigrationSet, the core
// schema, and the storage methods of the foundation's records (tenants,
// contacts, API keys, operators, sessions, the audit log, the timeline and
// idempotency records). Each system keeps its own SQL in its own folder,
// written against Tx and Scope.
//
// Two rules shape the package:
//
//   - Writes go through DB.Write. On PostgreSQL that is a plain pgx
//     transaction. On SQLite there is exactly one writer connection, and
//     concurrent Write calls are batched into one shared transaction (group
//     commit): each call runs inside its own SAVEPOINT, so a failing call rolls
//     back alone, and one fsync acknowledges the whole batch. A Write returns
//     nil only after its batch committed.
//   - Tenant data is only reachable through a Scope (Tx.Tenant): its methods,
//     and every system's tenant-scoped queries, take the Scope and constrain
//     on its tenant id. Unscoped queries exist only for instance-level
//     records (tenants, operators, sessions, root keys) and maintenance.
//
// SQL is written once with '?' placeholders; the PostgreSQL side rebinds them
// to $n. Times are time.Time in Go, timestamptz on PostgreSQL and fixed-width
// RFC 3339 UTC text on SQLite (so text order is time order).
package store
