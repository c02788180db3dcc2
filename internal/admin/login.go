package admin

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/joist-dev/joist/internal/auth"
	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/httpapi"
)

type loginData struct {
	Email string
	Next  string
	Token string // double-submit token, also in the login cookie
}

// loginToken returns the double-submit token of the login and invite forms,
// setting its cookie when the browser has none.
func (a *Admin) loginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value
	}
	t := auth.RandomToken(24)
	a.setCookie(w, loginCookie, t, 0)
	return t
}

// preSessionForm reads a form posted before any session exists (login,
// invite) and checks its double-submit token against the login cookie.
func (a *Admin) preSessionForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, nil, http.StatusBadRequest, "Bad request", "The form could not be read: "+err.Error())
		return false
	}
	if err := httpapi.CheckValues("form.", r.PostForm); err != nil {
		a.fail(w, r, nil, err)
		return false
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !equalToken(r.PostForm.Get("csrf"), c.Value) {
		a.errorPage(w, r, nil, http.StatusForbidden, "Forbidden",
			"This form is missing its security token or it is out of date (are cookies enabled?). Go back, reload the page and try again.")
		return false
	}
	return true
}

func (a *Admin) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := a.signedIn(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d := loginData{Next: next, Token: a.loginToken(w, r)}
	if err := a.render(w, r, nil, http.StatusOK, "login.html", view{Data: d}); err != nil {
		a.fail(w, r, nil, err)
	}
}

func (a *Admin) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if !a.preSessionForm(w, r) {
		return
	}
	d := loginData{Email: strings.ToLower(strings.TrimSpace(r.PostForm.Get("email"))),
		Next: safeNext(r.PostForm.Get("next")), Token: a.loginToken(w, r)}
	ip := a.opts.ClientIP(r)
	ipKey, emailKey := "ip:"+ip, "email:"+d.Email
	again := func(status int, msg string) {
		if err := a.render(w, r, nil, status, "login.html", view{Data: d, Error: msg}); err != nil {
			a.fail(w, r, nil, err)
		}
	}
	if blocked, wait := a.limiter.blocked(ipKey, emailKey); blocked {
		a.metrics.LoginFailed()
		mins := int(math.Ceil(wait.Minutes()))
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		again(http.StatusTooManyRequests, fmt.Sprintf(
			"Too many failed logins from your address or for this email. Wait %d minute(s) and try again, or ask an owner to reset your password.", mins))
		return
	}
	token, sess, _, err := a.core.Login(r.Context(), d.Email, r.PostForm.Get("password"), ip, r.UserAgent(), httpapi.CorrelationID(r.Context()))
	if errors.Is(err, core.ErrUnauthorized) {
		a.limiter.fail(ipKey, emailKey)
		a.metrics.LoginFailed()
		again(http.StatusUnauthorized, "Email or password is wrong.")
		return
	}
	if err != nil {
		a.fail(w, r, nil, err)
		return
	}
	a.limiter.reset(emailKey)
	a.sessionCookieFor(w, token, sess.ExpiresAt)
	a.setCookie(w, loginCookie, "", -1)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (a *Admin) logout(w http.ResponseWriter, r *http.Request, op *Op) error {
	if err := a.core.Logout(r.Context(), op.Actor, op.Session); err != nil {
		return err
	}
	a.setCookie(w, sessionCookie, "", -1)
	return Redirect(w, r, "/admin/login?flash=logged_out")
}

type inviteData struct {
	Path   string
	Token  string // double-submit token
	MinLen int
}

func (a *Admin) invitePage(w http.ResponseWriter, r *http.Request) {
	if !a.core.InviteValid(r.Context(), r.PathValue("token")) {
		a.errorPage(w, r, nil, http.StatusNotFound, "Invite not valid",
			"This invite link is invalid, used or expired; ask an admin for a new one.")
		return
	}
	d := inviteData{Path: r.URL.Path, Token: a.loginToken(w, r), MinLen: auth.MinPasswordLen}
	if err := a.render(w, r, nil, http.StatusOK, "invite.html", view{Data: d}); err != nil {
		a.fail(w, r, nil, err)
	}
}

func (a *Admin) inviteSubmit(w http.ResponseWriter, r *http.Request) {
	if !a.preSessionForm(w, r) {
		return
	}
	d := inviteData{Path: r.URL.Path, Token: a.loginToken(w, r), MinLen: auth.MinPasswordLen}
	again := func(status int, msg string) {
		if err := a.render(w, r, nil, status, "invite.html", view{Data: d, Error: msg}); err != nil {
			a.fail(w, r, nil, err)
		}
	}
	pw := r.PostForm.Get("password")
	if pw != r.PostForm.Get("confirm") {
		again(http.StatusBadRequest, "The two passwords differ; type the same password twice.")
		return
	}
	_, err := a.core.OperatorAcceptInvite(r.Context(), r.PathValue("token"), pw)
	if errors.Is(err, core.ErrInvalid) {
		again(http.StatusBadRequest, Message(err))
		return
	}
	if err != nil {
		a.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/admin/login?flash=password_set", http.StatusSeeOther)
}
