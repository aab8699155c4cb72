package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/novacorrente/novawh/internal/pgerr"
)

// requireItem returns a 404 apiError when id is not in gold.dim_item.
func (s *Handler) requireItem(ctx context.Context, id string) error {
	if _, err := s.q.GetItem(ctx, id); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("unknown item %q", id)
		}
		return fmt.Errorf("look up item %q: %w", id, err)
	}
	return nil
}

// requireItems returns a 404 apiError naming the ids not in gold.dim_item.
func (s *Handler) requireItems(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	unknown, err := s.q.ListUnknownItems(ctx, ids)
	if err != nil {
		return fmt.Errorf("look up items: %w", err)
	}
	if len(unknown) > 0 {
		return notFound("unknown item(s): %s", quoteList(unknown, 10))
	}
	return nil
}

// respond runs a read endpoint through the cache (when enabled) and writes
// the JSON body; errors become JSON errors.
func (s *Handler) respond(w http.ResponseWriter, r *http.Request, key string, compute func(context.Context) (any, error)) {
	run := func(ctx context.Context) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
		defer cancel()
		v, err := compute(ctx)
		if err != nil {
			return nil, err
		}
		b, err := jsonBody(v)
		if err != nil {
			return nil, fmt.Errorf("encode response: %w", err)
		}
		return b, nil
	}
	var body []byte
	var err error
	if s.cache.enabled() {
		var outcome string
		// A computation may be shared by several requests: it must not die
		// with the first client's connection.
		body, outcome, err = s.cache.fetch(key, func() ([]byte, error) { return run(context.WithoutCancel(r.Context())) })
		w.Header().Set("X-Cache", outcome)
	} else {
		body, err = run(r.Context())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, body)
}

// fail writes err as a JSON error: apiErrors as they are, timeouts as 503
// timeout, lost database connections as 503 unavailable, the rest as 500
// internal (logged; the client gets no internals).
func (s *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if ae := asAPIError(err); ae != nil {
		writeError(w, ae)
		return
	}
	if r.Context().Err() != nil {
		s.log.Debug("client went away", "path", r.URL.EscapedPath(), "err", err)
		return
	}
	switch {
	case pgerr.Canceled(err), errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("request timed out", "path", r.URL.EscapedPath(), "err", err)
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Code: CodeTimeout, Message: "the query took too long; narrow the period or the item list"})
	case pgconn.SafeToRetry(err) || pgerr.ConnectionLost(err):
		s.log.Error("database unavailable", "path", r.URL.EscapedPath(), "err", err)
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the database is unavailable"})
	default:
		s.log.Error("request failed", "path", r.URL.EscapedPath(), "err", err)
		writeError(w, &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error (logged on the server)"})
	}
}
