package email

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/httpapi"
)

//go:embed public/unsubscribe.html
var publicFS embed.FS

// unsubscribeTmpl is the one page the email system serves without a key.
var unsubscribeTmpl = template.Must(template.ParseFS(publicFS, "public/unsubscribe.html"))

// unsubscribeRoutes are the public one-click unsubscribe routes (RFC 8058):
// mailbox providers POST to the link in List-Unsubscribe; a person who
// opens it sees a page whose button POSTs. GET never unsubscribes: mail
// scanners fetch links.
func (a *api) unsubscribeRoutes() []httpapi.Route {
	return []httpapi.Route{
		{Method: "GET", Pattern: "/u/{token}", Public: true, Handler: a.unsubscribePage},
		{Method: "POST", Pattern: "/u/{token}", Public: true, MaxBodyBytes: 4 << 10, Handler: a.unsubscribe},
	}
}

// unsubscribePrefix answers what no /u/ route serves with a problem.
func (a *api) unsubscribePrefix() httpapi.Route {
	return httpapi.Route{Pattern: "/u/", Handler: func(w http.ResponseWriter, r *httpapi.Request) error {
		if rest := strings.TrimPrefix(r.URL.Path, "/u/"); rest != "" && !strings.Contains(rest, "/") {
			w.Header().Set("Allow", "GET, POST")
			return httpapi.NewProblem(http.StatusMethodNotAllowed, "method_not_allowed", "an unsubscribe link takes GET (the page) or POST (unsubscribe)")
		}
		return httpapi.NewProblem(http.StatusNotFound, "route_not_found", r.Method+" "+r.URL.Path+" is not an unsubscribe link")
	}}
}

type unsubscribeData struct {
	Title, State, Address, Message string
}

// unsubscribePage shows what the link would do and a button that does it.
func (a *api) unsubscribePage(w http.ResponseWriter, r *httpapi.Request) error {
	u, err := a.svc.ParseUnsubscribeToken(r.PathValue("token"))
	if err != nil {
		return pageError(w, err)
	}
	return writePage(w, http.StatusOK, unsubscribeData{Title: "Unsubscribe", State: "confirm", Address: u.Address})
}

// unsubscribe suppresses the token's address for its scope. Mailbox
// providers send the body List-Unsubscribe=One-Click; it is not required
// (a person's intent to unsubscribe is honoured whatever the body), nor
// read. Repeating it answers 200 again.
func (a *api) unsubscribe(w http.ResponseWriter, r *httpapi.Request) error {
	u, err := a.svc.Unsubscribe(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	return writePage(w, http.StatusOK, unsubscribeData{Title: "You are unsubscribed", State: "done", Address: u.Address})
}

// pageError shows a refused token as a page, with the problem's status;
// anything else is the kit's problem.
func pageError(w http.ResponseWriter, err error) error {
	var ce *core.Error
	if !errors.As(err, &ce) {
		return err
	}
	status := http.StatusBadRequest
	if errors.Is(ce.Kind, core.ErrNotFound) {
		status = http.StatusNotFound
	}
	return writePage(w, status, unsubscribeData{Title: "This link does not work", State: "error",
		Message: "This unsubscribe link is not valid: it may have been cut short or changed. Use the link in the email itself."})
}

func writePage(w http.ResponseWriter, status int, d unsubscribeData) error {
	var buf bytes.Buffer
	if err := unsubscribeTmpl.Execute(&buf, d); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// No scripts, no frames, forms only to joist; the token stays out of
	// Referer headers and caches.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
