// Package golden holds the API's golden-file test: one deterministic
// scenario drives every route family of a running joist (apptest) with raw
// net/http requests and compares each response (status line, a few stable
// headers and the body bytes as returned, with only volatile values such as
// ids, secrets, times and ports normalised) to testdata/<step>.golden. The
// golden files were generated with the released version 3e3f61e, so the test
// proves that restructuring the code leaves the JSON on the wire
// byte-identical. Run with -update to rewrite them (only on purpose: a
// change of the wire format is a change for every client).
//
// One change was made on purpose since: on PostgreSQL a webhook event's
// "headers" object (GET /v1/webhook-events/{event}) came in jsonb's key
// order; it now comes sorted, as on SQLite, because server and client share
// one type for it (wire.WebhookEvent, a map). testdata/postgres/077 and 084
// were updated for that alone.
//
// The folder holds only tests; this file names the package and says what
// it is for.
package golden
