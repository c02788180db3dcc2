package admin

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/httpapi"
)

// Cookie names. The session cookie holds the session token (its SHA-256 is
// the session's key in the database); the login cookie holds the
// double-submit token of the login and invite forms, which exist before
// any session does.
const (
	sessionCookie = "joist_session"
	loginCookie   = "joist_login_csrf"
)

// maxFormBytes bounds the body of every dashboard form.
const maxFormBytes = 1 << 20

// authed runs h for a signed-in operator. Without a live session it
// redirects to the login page; for any method but GET and HEAD it first
// checks the session's CSRF token.
func (a *Admin) authed(h HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		op, err := a.signedIn(r)
		if errors.Is(err, core.ErrUnauthorized) {
			a.toLogin(w, r)
			return
		}
		if err != nil {
			a.fail(w, r, nil, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				a.errorPage(w, r, op, http.StatusBadRequest, "Bad request", "The form could not be read: "+err.Error())
				return
			}
			if err := httpapi.CheckValues("form.", r.PostForm); err != nil {
				a.fail(w, r, op, err)
				return
			}
			if !equalToken(r.PostForm.Get("csrf"), op.Session.CSRFToken) {
				a.errorPage(w, r, op, http.StatusForbidden, "Forbidden",
					"This form is missing its security token or it is out of date (did you log in again in another tab?). Reload the page and try again.")
				return
			}
		}
		if err := h(w, r, op); err != nil {
			a.fail(w, r, op, err)
		}
	}
}

// signedIn finds the operator of the request's session cookie.
func (a *Admin) signedIn(r *http.Request) (*Op, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, core.ErrUnauthorized
	}
	sess, o, err := a.core.SessionCheck(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	return &Op{Operator: o, Session: sess,
		Actor: core.OperatorActor(o, a.opts.ClientIP(r), httpapi.CorrelationID(r.Context()))}, nil
}

// toLogin sends the browser to the login page, to come back to this page
// (GET) or to the dashboard home (other methods) afterwards. A stale
// session cookie is cleared.
func (a *Admin) toLogin(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(sessionCookie); err == nil {
		a.setCookie(w, sessionCookie, "", -1)
	}
	next := "/admin/"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// setCookie sets (maxAge > 0), or deletes (maxAge < 0), a dashboard cookie.
// maxAge 0 makes a browser-session cookie.
func (a *Admin) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/admin", MaxAge: maxAge,
		HttpOnly: true, Secure: a.opts.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// sessionCookieFor sets the session cookie, expiring with the session.
func (a *Admin) sessionCookieFor(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/admin", Expires: expires,
		HttpOnly: true, Secure: a.opts.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// equalToken compares a submitted token with the expected one in constant
// time; an empty expected or submitted token never matches.
func equalToken(got, want string) bool {
	if got == "" || want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// safeNext returns next when it is a path inside the dashboard, else the
// dashboard home: the login page never redirects off the site.
func safeNext(next string) string {
	if next == "" || strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(next, "//") {
		return "/admin/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/admin/"
	}
	if clean := path.Clean(u.Path); clean != "/admin" && !strings.HasPrefix(clean, "/admin/") {
		return "/admin/"
	}
	return next
}
