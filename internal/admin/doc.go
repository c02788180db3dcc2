// Package admin is the operator dashboard at /admin: server-rendered HTML
// (html/template, one shared layout) with a little hand-written JavaScript
// and CSS, all embedded in the binary.
//
// Every page and action goes through core, which checks the operator's role
// and tenant scope and writes the audit entry; this package adds what a
// browser needs on top: database-backed sessions in an HttpOnly cookie,
// CSRF tokens and same-origin checks on every form post, login rate
// limiting, and strict security headers (a Content-Security-Policy that
// allows no inline script or style).
//
// Other systems (jobs, webhooks, email...) add their own pages with
// (*Admin).AddSection; docs/admin.md describes how.
package admin
