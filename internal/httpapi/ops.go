package httpapi

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the OpenAPI 3.1 document served at /openapi.json.
func OpenAPI() []byte { return openapiDoc }

func (a *API) healthz(w http.ResponseWriter, r *request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(w http.ResponseWriter, r *request) error {
	if err := a.ready(r.Context()); err != nil {
		return problem(http.StatusServiceUnavailable, "not_ready", "not ready: "+err.Error())
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (a *API) openapi(w http.ResponseWriter, r *request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openapiDoc)
	return err
}
