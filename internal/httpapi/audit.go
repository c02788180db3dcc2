package httpapi

import (
	"net/http"

	"github.com/joist-dev/joist/internal/store"
	"github.com/joist-dev/joist/wire"
)

func (a *API) auditList(w http.ResponseWriter, r *Request) error {
	p, err := ParsePage(r.Request)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.AuditFilter{Action: q.Get("action"), ActorID: q.Get("actor_id"), TargetID: q.Get("target_id")}
	if err := TimeRange(q.Get, &f.Since, &f.Until); err != nil {
		return err
	}
	if ref := r.Header.Get("Joist-Tenant"); ref != "" {
		t, err := a.core.TenantGet(r.Context(), r.Actor, ref)
		if err != nil {
			return NewProblem(http.StatusNotFound, "tenant_not_found", "tenant "+quote(ref)+" not found")
		}
		f.TenantIDs = []string{t.ID}
	}
	items, next, err := a.core.AuditList(r.Context(), r.Actor, p, f)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, List[wire.AuditEntry]{Data: MapSlice(items, auditView), NextCursor: next})
}
