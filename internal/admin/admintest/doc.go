// Package admintest is for tests of dashboard sections: the shell's own
// tests in internal/admin and every system's admin tests (internal/jobs,
// internal/schedules, internal/webhook, internal/billing, ...) use it, so
// each system folder holds the tests of its own pages.
//
// It offers a browser without JavaScript (Client: a cookie jar that logs
// in and posts forms with their CSRF token), fixtures made as the
// bootstrap commands would (MkTenant, MkContact, MkOperator), assertions on
// pages (Want, RegexpFind, AuditTargets), an app endpoint for push jobs
// (Target), and a headless Chromium driven by chromedp (Chromium,
// NewBrowser, Step, LoginAs, Shot, Text, AcceptDialogs).
//
// It imports no system: a helper one system's tests share with another's
// belongs to a test package of the system it is about (webhook sources
// and events, which billing's tests use too, are in
// internal/webhook/webhooktest).
package admintest
