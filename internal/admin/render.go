package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/httpapi"
	"github.com/joist-dev/joist/internal/store"
)

// view is what every page template receives as ".".
type view struct {
	Op   *Op    // nil on the login and invite pages
	CSRF string // the session's CSRF token, for the hidden "csrf" field
	Nav  []navLink
	// Tenants in the operator's scope, for the sidebar (the first page).
	Tenants     []store.Tenant
	MoreTenants bool
	Flash       string
	Error       string
	Data        any
}

// shellFlashes are the messages the shell's own redirects may ask the next
// page to show, by code, so that no free text travels in a URL (sections
// add theirs: Section.Flashes).
var shellFlashes = map[string]string{
	"password_set": "Your password is set. Log in with it.",
	"logged_out":   "You are logged out.",
}

var funcs = template.FuncMap{
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"timep": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"json": func(raw json.RawMessage) string {
		var buf bytes.Buffer
		if len(raw) == 0 || json.Indent(&buf, raw, "", "  ") != nil {
			return string(raw)
		}
		return buf.String()
	},
	"path":    url.PathEscape,
	"id":      idCell,
	"url":     urlCell,
	"name":    nameCell,
	"details": detailsCell,
}

// Render writes page (a template name from a Section's Templates) inside the
// shared layout with status. data is available to the template as .Data;
// the layout also gives .Op, .CSRF and .Error. The page is rendered whole
// before anything is written, so a template error gives a clean 500.
func (a *Admin) Render(w http.ResponseWriter, r *http.Request, op *Op, status int, page string, data any) error {
	return a.render(w, r, op, status, page, view{Data: data})
}

// RenderFlash is Render with a message above the page, for flashes made
// from numbers a redirect carries ("3 jobs were retried").
func (a *Admin) RenderFlash(w http.ResponseWriter, r *http.Request, op *Op, status int, page string, data any, flash string) error {
	return a.render(w, r, op, status, page, view{Data: data, Flash: flash})
}

// RenderError is Render with an error message above the page.
func (a *Admin) RenderError(w http.ResponseWriter, r *http.Request, op *Op, status int, page string, data any, msg string) error {
	return a.render(w, r, op, status, page, view{Data: data, Error: msg})
}

// Tab is a filter tab of a list page: a value with its count, linking to
// the list filtered by it.
type Tab struct {
	Name   string
	Count  int
	URL    string
	Active bool
}

// FilterTabs are the tabs of a list filtered by one value: "all" (the
// value "") first, then each of values; url gives a value's link, and the
// tab of active is marked.
func FilterTabs(values []string, active string, url func(value string) string) []Tab {
	tabs := []Tab{{Name: "all", URL: url(""), Active: active == ""}}
	for _, v := range values {
		tabs = append(tabs, Tab{Name: v, URL: url(v), Active: active == v})
	}
	return tabs
}

// RenderForm shows page again with err's message above it, when err is a
// validation error (400) or a conflict (409): the way a form answers bad
// input. Any other error is returned unchanged, for the error page.
func (a *Admin) RenderForm(w http.ResponseWriter, r *http.Request, op *Op, page string, data any, err error) error {
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, core.ErrInvalid):
	case errors.Is(err, core.ErrConflict):
		status = http.StatusConflict
	default:
		return err
	}
	return a.render(w, r, op, status, page, view{Data: data, Error: Message(err)})
}

func (a *Admin) render(w http.ResponseWriter, r *http.Request, op *Op, status int, page string, v view) error {
	a.mu.RLock()
	t := a.pages[page]
	a.mu.RUnlock()
	if t == nil {
		return fmt.Errorf("admin: no template %q", page)
	}
	v.Op = op
	if op != nil {
		v.CSRF = op.Session.CSRFToken
		v.Nav = a.navFor(op, r.URL.Path)
		ts, next, err := a.core.TenantList(r.Context(), op.Actor, store.Page{Limit: 20})
		if err != nil {
			return err
		}
		v.Tenants, v.MoreTenants = ts, next != ""
	}
	if v.Flash == "" {
		a.mu.RLock()
		v.Flash = a.flashes[r.URL.Query().Get("flash")]
		a.mu.RUnlock()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("admin: render %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// errorPage shows a message with status; op may be nil.
func (a *Admin) errorPage(w http.ResponseWriter, r *http.Request, op *Op, status int, title, msg string) {
	data := map[string]any{"Title": title, "Message": msg, "Status": status,
		"CorrelationID": httpapi.CorrelationID(r.Context())}
	if err := a.render(w, r, op, status, "error.html", view{Data: data}); err != nil {
		a.log.Error("render error page", "err", err)
		http.Error(w, msg, status)
	}
}

// fail shows the error page that err calls for.
func (a *Admin) fail(w http.ResponseWriter, r *http.Request, op *Op, err error) {
	switch {
	case errors.Is(err, core.ErrNotFound):
		a.errorPage(w, r, op, http.StatusNotFound, "Not found", Message(err))
	case errors.Is(err, core.ErrForbidden):
		a.errorPage(w, r, op, http.StatusForbidden, "Forbidden", Message(err))
	case errors.Is(err, core.ErrInvalid):
		a.errorPage(w, r, op, http.StatusBadRequest, "Bad request", Message(err))
	case errors.Is(err, core.ErrConflict):
		a.errorPage(w, r, op, http.StatusConflict, "Conflict", Message(err))
	case errors.Is(err, store.ErrBadCursor):
		a.errorPage(w, r, op, http.StatusBadRequest, "Bad request", "This page link is out of date; start again from the first page.")
	case errors.Is(err, core.ErrUnauthorized):
		a.toLogin(w, r)
	default:
		a.log.Error("admin request failed", "path", r.URL.Path, "err", err, "correlation_id", httpapi.CorrelationID(r.Context()))
		a.errorPage(w, r, op, http.StatusInternalServerError, "Something went wrong",
			"The server could not finish this request. Nothing was half-applied; try again, and quote the correlation id below if it keeps failing.")
	}
}

// Message is the text of a domain error, safe to show to the operator.
func Message(err error) string {
	var ce *core.Error
	if errors.As(err, &ce) {
		return ce.Message
	}
	return err.Error()
}

// Redirect answers a request with 303 See Other to a local path.
func Redirect(w http.ResponseWriter, r *http.Request, path string) error {
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}

// Plural is one when n is 1, else many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
