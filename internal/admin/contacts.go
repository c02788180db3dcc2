package admin

import (
	"net/http"
	"strings"

	"github.com/joist-dev/joist/internal/store"
)

func (a *Admin) contactSearch(w http.ResponseWriter, r *http.Request, op *Op) error {
	t, err := a.Tenant(r, op)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	cs, next, err := a.core.ContactList(r.Context(), op.Actor, t.ID, store.Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")}, q)
	if err != nil {
		return err
	}
	return a.Render(w, r, op, http.StatusOK, "contacts.html",
		map[string]any{"Tenant": t, "Q": q, "Contacts": cs, "Next": NextURL(r, next)})
}

func (a *Admin) contactPage(w http.ResponseWriter, r *http.Request, op *Op) error {
	t, err := a.Tenant(r, op)
	if err != nil {
		return err
	}
	c, err := a.core.ContactGet(r.Context(), op.Actor, t.ID, r.PathValue("contact"))
	if err != nil {
		return err
	}
	entries, next, err := a.core.Timeline(r.Context(), op.Actor, t.ID, c.ExternalID, store.Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	panels, err := a.panelsFor(r, op, PanelContact, t, &c)
	if err != nil {
		return err
	}
	return a.Render(w, r, op, http.StatusOK, "contact.html",
		map[string]any{"Tenant": t, "Contact": c, "Timeline": entries, "Next": NextURL(r, next), "Panels": panels})
}
