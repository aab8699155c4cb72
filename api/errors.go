package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Error codes of the JSON error body {"error":{"code","message"}}.
const (
	CodeMissingParameter = "missing_parameter"
	CodeInvalidParameter = "invalid_parameter"
	CodeBadRequest       = "bad_request" // a request net/http could not parse (see JSONErrorListener)
	CodeInvalidDate      = "invalid_date"
	CodeInvalidRange     = "invalid_range"
	CodeSpanTooLarge     = "span_too_large"
	CodeInvalidWindow    = "invalid_window"
	CodeTooManyItems     = "too_many_items"
	CodeInvalidBody      = "invalid_body"
	CodeNotFound         = "not_found"
	CodeUnauthorized     = "unauthorized"
	CodeRefreshDisabled  = "refresh_disabled"
	CodeRefreshRunning   = "refresh_running"
	CodeTimeout          = "timeout"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
)

// apiError is an error with its HTTP status and code.
type apiError struct {
	Status  int
	Code    string
	Message string
	Extra   map[string]any
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	JobID   string `json:"job_id,omitempty"`
}

// jsonBody encodes v as a response body (JSON and a newline).
func jsonBody(v any) ([]byte, error) {
	if a, ok := v.(jsonAppender); ok {
		return append(a.appendJSON(make([]byte, 0, 4096)), '\n'), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := jsonBody(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"response could not be encoded"}}` + "\n")
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	// A known length spares both ends the chunked encoding of a body over
	// net/http's 2 KiB buffer.
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	d := errorDetail{Code: e.Code, Message: e.Message}
	if id, ok := e.Extra["job_id"].(string); ok {
		d.JobID = id
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="novawh"`)
	}
	writeJSON(w, e.Status, errorBody{Error: d})
}

// asAPIError returns err's apiError, or nil when it is not one (fail maps
// those to an internal error).
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}
