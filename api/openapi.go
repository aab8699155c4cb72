package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"gopkg.in/yaml.v3"
)

// Spec is the OpenAPI 3 specification of the API (api/openapi.yaml), the
// contract the tests validate real responses against.
//
//go:embed openapi.yaml
var Spec []byte

var specJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(Spec, &doc); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml as JSON: %w", err)
	}
	return append(b, '\n'), nil
})

// SpecJSON returns the specification as JSON (what GET /api/v1/openapi.json
// serves).
func SpecJSON() ([]byte, error) { return specJSON() }

func (s *Handler) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	b, err := specJSON()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, b)
}
