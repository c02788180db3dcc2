package email

import (
	"net/http"
	"time"

	"github.com/joist-dev/joist/internal/httpapi"
)

// suppressionRoutes are the tenant's suppression list's routes.
func (a *api) suppressionRoutes() []httpapi.Route {
	return []httpapi.Route{
		{Method: "GET", Pattern: "/v1/email/suppressions", Tenant: "header", Handler: a.suppressionList},
		{Method: "PUT", Pattern: "/v1/email/suppressions/{address}", Tenant: "header", Handler: a.suppressionPut},
		{Method: "DELETE", Pattern: "/v1/email/suppressions/{address}", Tenant: "header", Handler: a.suppressionDelete},
	}
}

// SuppressionView is a suppression as the API shows it.
type SuppressionView struct {
	Address   string     `json:"address"`
	Category  string     `json:"category"`
	Reason    string     `json:"reason"`
	Source    string     `json:"source"`
	EmailID   string     `json:"email_id,omitempty"`
	ExpiresAt *time.Time `json:"expires_at"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

func suppressionView(s Suppression) SuppressionView {
	return SuppressionView{Address: s.Address, Category: s.Category, Reason: s.Reason, Source: s.Source, EmailID: s.EmailID,
		ExpiresAt: httpapi.UTCPtr(s.ExpiresAt), CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
}

// suppressionPutBody is the body of PUT /v1/email/suppressions/{address}.
type suppressionPutBody struct {
	Category  string     `json:"category"`
	Reason    string     `json:"reason"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (a *api) suppressionList(w http.ResponseWriter, r *httpapi.Request) error {
	p, err := httpapi.ParsePage(r.Request)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	list, next, err := a.svc.ListSuppressions(r.Context(), r.Actor, r.Tenant.ID, p, q.Get("address"), q.Get("category"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[SuppressionView]{Data: httpapi.MapSlice(list, suppressionView), NextCursor: next})
}

func (a *api) suppressionPut(w http.ResponseWriter, r *httpapi.Request) error {
	var in suppressionPutBody
	if err := httpapi.Decode(r.Request, &in); err != nil {
		return err
	}
	list, err := a.svc.PutSuppression(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("address"),
		SuppressionInput{Category: in.Category, Reason: in.Reason, ExpiresAt: in.ExpiresAt})
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, httpapi.List[SuppressionView]{Data: httpapi.MapSlice(list, suppressionView)})
}

func (a *api) suppressionDelete(w http.ResponseWriter, r *httpapi.Request) error {
	if err := a.svc.DeleteSuppression(r.Context(), r.Actor, r.Tenant.ID, r.PathValue("address"), r.URL.Query().Get("category")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
