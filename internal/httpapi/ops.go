package httpapi

import (
	"net/http"
)

// OpenAPI returns the OpenAPI 3.1 document served at /openapi.json: the
// kit's own merged with every system's fragment.
func (a *API) OpenAPI() []byte { return a.openapiDoc }

func (a *API) healthz(w http.ResponseWriter, r *Request) error {
	return WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(w http.ResponseWriter, r *Request) error {
	if err := a.ready(r.Context()); err != nil {
		return NewProblem(http.StatusServiceUnavailable, "not_ready", "not ready: "+err.Error())
	}
	return WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (a *API) openapi(w http.ResponseWriter, r *Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(a.openapiDoc)
	return err
}
