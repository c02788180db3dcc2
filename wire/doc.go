// Package wire holds the JSON shapes of joist's HTTP API: what the server
// writes and the public Go client (package client) reads, one definition
// for both. /openapi.json describes the same shapes; the server's tests
// check its real traffic against that document.
//
// Types are grouped by the system that answers them: foundation.go
// (tenants, keys, contacts, timeline, audit), jobs.go, schedules.go,
// webhooks.go, billing.go, email_templates.go (templates, layouts,
// previews), email.go (the domain doctor).
package wire
