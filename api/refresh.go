package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

type refreshRequest struct {
	Source *string `json:"source"`
	Force  bool    `json:"force"`
}

type refreshAccepted struct {
	Status              string    `json:"status"`
	JobID               string    `json:"job_id"`
	EstimatedCompletion time.Time `json:"estimated_completion"`
	Message             string    `json:"message"`
	StatusURL           string    `json:"status_url"`
}

var sourceRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// authorize checks the refresh endpoints are enabled and the caller holds
// the token.
func (s *Handler) authorize(r *http.Request) *apiError {
	if s.opts.APIToken == "" {
		return &apiError{Status: http.StatusForbidden, Code: CodeRefreshDisabled, Message: "the refresh endpoint is disabled: no API token is configured (set NOVAWH_API_TOKEN)"}
	}
	if s.opts.Refresher == nil {
		return &apiError{Status: http.StatusForbidden, Code: CodeRefreshDisabled, Message: "the refresh endpoint is disabled: this server has no refresh job configured"}
	}
	return s.checkToken(r)
}

// presentedToken is the token of Authorization: Bearer <token> or
// X-API-Key: <token> ("" when neither is sent).
func presentedToken(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// hasCredentials reports whether the request sends any credentials.
func hasCredentials(r *http.Request) bool {
	return r.Header.Get("X-API-Key") != "" || r.Header.Get("Authorization") != ""
}

// checkToken checks the caller holds the API token (401 otherwise; no
// token configured means no caller holds it).
func (s *Handler) checkToken(r *http.Request) *apiError {
	given := presentedToken(r)
	if given == "" {
		return &apiError{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "missing credentials: send Authorization: Bearer <token> or X-API-Key: <token>"}
	}
	if s.opts.APIToken == "" || subtle.ConstantTimeCompare([]byte(given), []byte(s.opts.APIToken)) != 1 {
		return &apiError{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "invalid API token"}
	}
	return nil
}

func (s *Handler) handleRefresh(w http.ResponseWriter, r *http.Request) {
	if ae := s.authorize(r); ae != nil {
		writeError(w, ae)
		return
	}
	var req refreshRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil {
		writeError(w, badRequest(CodeInvalidBody, "reading the body: %v", err))
		return
	}
	if len(body) > 64<<10 {
		writeError(w, badRequest(CodeInvalidBody, "the body is larger than 64 KiB"))
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, badRequest(CodeInvalidBody, "the body must be a JSON object like {\"source\":\"ml_results\",\"force\":false}: %v", err))
			return
		}
		if dec.More() {
			writeError(w, badRequest(CodeInvalidBody, "the body holds more than one JSON value"))
			return
		}
	}
	source := s.opts.DefaultRefreshSource
	if req.Source != nil {
		source = strings.TrimSpace(*req.Source)
	}
	if !sourceRe.MatchString(source) {
		writeError(w, badRequest(CodeInvalidParameter, "source %q is not a valid source name (letters, digits, _ . -)", truncate(source, 70)))
		return
	}
	if len(s.opts.RefreshSources) > 0 && !slices.Contains(s.opts.RefreshSources, source) {
		writeError(w, badRequest(CodeInvalidParameter, "unknown source %q (known: %s)", source, strings.Join(s.opts.RefreshSources, ", ")))
		return
	}
	job, err := s.jobs.start(source, req.Force)
	if err != nil {
		var busy errBusy
		if errors.As(err, &busy) {
			writeError(w, &apiError{Status: http.StatusConflict, Code: CodeRefreshRunning, Message: err.Error(), Extra: map[string]any{"job_id": busy.id}})
			return
		}
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: err.Error()})
		return
	}
	loc := "/api/v1/data/refresh/" + job.JobID
	w.Header().Set("Location", loc)
	writeJSON(w, http.StatusAccepted, refreshAccepted{
		Status: "triggered", JobID: job.JobID, EstimatedCompletion: job.EstimatedCompletion, StatusURL: loc,
		Message: fmt.Sprintf("refresh of %q started in the background (force=%t); poll %s", source, req.Force, loc),
	})
}

// authorizeStatus guards the job states: the token is enough (a server
// without a refresher still reports its scheduled jobs).
func (s *Handler) authorizeStatus(r *http.Request) *apiError {
	if s.opts.APIToken == "" {
		return &apiError{Status: http.StatusForbidden, Code: CodeRefreshDisabled, Message: "job states are disabled: no API token is configured (set NOVAWH_API_TOKEN)"}
	}
	return s.checkToken(r)
}

type jobsResponse struct {
	Jobs []Job `json:"jobs"`
}

// handleJobs lists the jobs the server remembers, newest first.
func (s *Handler) handleJobs(w http.ResponseWriter, r *http.Request) {
	if ae := s.authorizeStatus(r); ae != nil {
		writeError(w, ae)
		return
	}
	writeJSON(w, http.StatusOK, jobsResponse{Jobs: s.jobs.list()})
}

func (s *Handler) handleRefreshStatus(w http.ResponseWriter, r *http.Request) {
	if ae := s.authorizeStatus(r); ae != nil {
		writeError(w, ae)
		return
	}
	id := r.PathValue("job_id")
	job, ok := s.jobs.get(id)
	if !ok {
		writeError(w, notFound("unknown refresh job %q (the server keeps the last 100 jobs in memory)", truncate(id, 80)))
		return
	}
	writeJSON(w, http.StatusOK, job)
}
