// Package render parses and renders joist's email templates: per-locale
// variants (subject, preheader, HTML, text) in Go template syntax, wrapped
// in an optional layout, with CSS inlined and a text part derived from the
// HTML when none is given. It touches no database: the email system stores
// templates and layouts, and calls ParseTemplate and ParseLayout when they
// are saved and Render when a message is previewed or sent.
//
// Every error is a *core.Error with Kind core.ErrInvalid, a stable Code, a
// message naming the locale, field and line, and Field set to the request
// field to blame. The codes of a template or layout that cannot be saved
// (CodeInvalidTemplate, CodeInvalidLayout, CodeInvalidLocale) are 400s; the
// codes of data that does not fit a valid template (CodeMissingVariable,
// CodeInvalidSubject, CodeRenderFailed, CodeMissingLayout) are the 422s of
// preview and send: see Unprocessable.
package render
