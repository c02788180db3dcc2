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
// It is the admin shell: it imports no system. Each system (jobs,
// schedules, webhook, billing, ...) supplies a Section (Options.Sections):
// its pages and routes, partials shared by every page, links on the tenant
// page, panels on the tenant and contact pages, and its flash messages;
// docs/admin.md describes how.
package admin
