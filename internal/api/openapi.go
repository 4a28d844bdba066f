package api

import (
	_ "embed"
	"net/http"
)

// openapiDoc describes every route; TestOpenAPIMatchesRoutes holds it to
// the routes served.
//
//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the API's OpenAPI 3.1 document.
func OpenAPI() []byte { return openapiDoc }

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openapiDoc)
}
