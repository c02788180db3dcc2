package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/joist-dev/joist/internal/core"
	"github.com/joist-dev/joist/internal/store"
)

type auditData struct {
	Action, Actor, Target, Tenant string // the filters as typed
	Entries                       []store.AuditEntry
	Next                          string
	Emails                        map[string]string // operator id -> email
	Slugs                         map[string]string // tenant id -> slug
}

// auditPage lists the audit log newest first, within the operator's scope
// (core narrows it), filtered by action, actor (id or operator email),
// target id and tenant (slug or id).
func (a *Admin) auditPage(w http.ResponseWriter, r *http.Request, op *Op) error {
	q := r.URL.Query()
	d := auditData{Action: strings.TrimSpace(q.Get("action")), Actor: strings.TrimSpace(q.Get("actor")),
		Target: strings.TrimSpace(q.Get("target")), Tenant: strings.TrimSpace(q.Get("tenant")),
		Emails: map[string]string{}, Slugs: map[string]string{}}
	ops, err := a.core.OperatorList(r.Context(), op.Actor)
	if err != nil {
		return err
	}
	for _, o := range ops {
		d.Emails[o.ID] = o.Email
	}
	ts, _, err := a.core.TenantList(r.Context(), op.Actor, store.Page{Limit: 500})
	if err != nil {
		return err
	}
	for _, t := range ts {
		d.Slugs[t.ID] = t.Slug
	}
	f := store.AuditFilter{Action: d.Action, ActorID: d.Actor, TargetID: d.Target}
	if strings.Contains(d.Actor, "@") {
		f.ActorID = "-" // an email of no operator in view matches nothing
		for id, email := range d.Emails {
			if strings.EqualFold(email, d.Actor) {
				f.ActorID = id
			}
		}
	}
	var warn string
	if d.Tenant != "" {
		t, err := a.core.TenantGet(r.Context(), op.Actor, d.Tenant)
		if errors.Is(err, core.ErrNotFound) {
			warn = "No tenant " + d.Tenant + " in your scope; showing nothing."
			f.TenantIDs = []string{}
		} else if err != nil {
			return err
		} else {
			f.TenantIDs = []string{t.ID}
		}
	}
	d.Entries, d.Next, err = a.core.AuditList(r.Context(), op.Actor, store.Page{Limit: 100, Cursor: q.Get("cursor")}, f)
	if err != nil {
		return err
	}
	d.Next = NextURL(r, d.Next)
	return a.render(w, r, op, http.StatusOK, "audit.html", view{Data: d, Error: warn})
}
