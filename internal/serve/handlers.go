package serve

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/novacorrente/novawh/internal/logx"
	"github.com/novacorrente/novawh/internal/pgerr"
	"github.com/novacorrente/novawh/internal/store"
)

// ---- response shapes (docs/api.md) ----

type itemJSON struct {
	ID       string  `json:"id"`
	Name     *string `json:"name"`
	Category *string `json:"category"`
	SKU      *string `json:"sku"`
}

type itemsResponse struct {
	Items  []itemJSON `json:"items"`
	Total  int64      `json:"total"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
}

type periodJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type pointJSON struct {
	Date         string   `json:"date"`
	Forecast     *float64 `json:"forecast"`
	Actual       *float64 `json:"actual"`
	Lower        *float64 `json:"lower"`
	Upper        *float64 `json:"upper"`
	Mape         *float64 `json:"mape"`
	Source       string   `json:"source"`
	ModelVersion string   `json:"model_version"`
	DatasetID    string   `json:"dataset_id"`
	GeneratedAt  string   `json:"generated_at"`
}

type seriesMetaJSON struct {
	ModelVersion *string `json:"model_version"`
	DatasetID    *string `json:"dataset_id"`
	GeneratedAt  *string `json:"generated_at"`
}

type timeseriesResponse struct {
	ItemID     string         `json:"item_id"`
	Period     periodJSON     `json:"period"`
	Timeseries []pointJSON    `json:"timeseries"`
	Metadata   seriesMetaJSON `json:"metadata"`
}

type summaryJSON struct {
	TotalForecast float64  `json:"total_forecast"`
	TotalActual   float64  `json:"total_actual"`
	Mape          *float64 `json:"mape"`
	ItemsCount    int64    `json:"items_count"`
	Rows          int64    `json:"rows"`
}

type summaryMetaJSON struct {
	ModelVersion *string `json:"model_version"`
	DatasetID    *string `json:"dataset_id"`
}

type summaryResponse struct {
	Summary  summaryJSON     `json:"summary"`
	Period   periodJSON      `json:"period"`
	ItemIDs  []string        `json:"item_ids"`
	Metadata summaryMetaJSON `json:"metadata"`
}

type aggregateJSON struct {
	ItemID        string   `json:"item_id"`
	Date          string   `json:"date"`
	Source        string   `json:"source"`
	Forecast      *float64 `json:"forecast"`
	Actual        *float64 `json:"actual"`
	ForecastAvg   *float64 `json:"forecast_avg"`
	ActualAvg     *float64 `json:"actual_avg"`
	ForecastTotal *float64 `json:"forecast_total"`
	ActualTotal   *float64 `json:"actual_total"`
	Mape          *float64 `json:"mape"`
}

type aggregatesResponse struct {
	Window     int             `json:"window"`
	Period     periodJSON      `json:"period"`
	ItemIDs    []string        `json:"item_ids"`
	Aggregates []aggregateJSON `json:"aggregates"`
}

type siteStockJSON struct {
	SiteID        string   `json:"site_id"`
	Date          string   `json:"date"`
	CurrentStock  *float64 `json:"current_stock"`
	SafetyStock   *float64 `json:"safety_stock"`
	ReorderPoint  *float64 `json:"reorder_point"`
	DaysToRupture *float64 `json:"days_to_rupture"`
	StockStatus   *string  `json:"stock_status"`
}

type inventoryResponse struct {
	ItemID        string          `json:"item_id"`
	CurrentStock  *float64        `json:"current_stock"`
	ReorderPoint  *float64        `json:"reorder_point"`
	SafetyStock   *float64        `json:"safety_stock"`
	LastUpdated   string          `json:"last_updated"`
	AsOf          string          `json:"as_of"`
	DaysToRupture *float64        `json:"days_to_rupture"`
	StockStatus   *string         `json:"stock_status"`
	Level         string          `json:"level"` // "item" (an ALL row) or "sum_of_sites"
	Sites         []siteStockJSON `json:"sites"`
}

// ---- read endpoints ----

func (s *Server) handleItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseInt(q, "limit", DefaultPageSize, 1, s.opts.MaxPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	offset, err := parseInt(q, "offset", 0, 0, math.MaxInt32)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var pattern *string
	if text := strings.TrimSpace(q.Get("q")); text != "" {
		if err := checkKey("query parameter \"q\"", text); err != nil {
			s.fail(w, r, err)
			return
		}
		p := likePattern(text)
		pattern = &p
	}
	key := fmt.Sprintf("items\x00%d\x00%d\x00%s", limit, offset, deref(pattern))
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		arg := store.ListItemsParams{Pattern: pattern, PageLimit: int32(limit), PageOffset: int32(offset)}
		rows, err := s.q.ListItems(ctx, arg)
		if err != nil {
			return nil, fmt.Errorf("list items: %w", err)
		}
		total, err := s.q.CountItems(ctx, pattern)
		if err != nil {
			return nil, fmt.Errorf("count items: %w", err)
		}
		out := itemsResponse{Items: make([]itemJSON, 0, len(rows)), Total: total, Limit: limit, Offset: offset}
		for _, it := range rows {
			out.Items = append(out.Items, itemJSON{ID: it.ItemID, Name: it.Name, Category: it.Category, SKU: it.Sku})
		}
		return out, nil
	})
}

func (s *Server) handleTimeseries(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := checkKey("item id", id); err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	start, end, err := parsePeriod(q, s.opts.MaxSpanDays)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	source, err := parseSource(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := "ts\x00" + id + "\x00" + start.Format(dateLayout) + "\x00" + end.Format(dateLayout) + "\x00" + deref(source)
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		rows, err := s.q.GetTimeseries(ctx, store.GetTimeseriesParams{ItemID: id, StartDate: pgDate(start), EndDate: pgDate(end), Source: source})
		if err != nil {
			return nil, fmt.Errorf("timeseries of %q: %w", id, err)
		}
		if len(rows) == 0 {
			if err := s.requireItem(ctx, id); err != nil {
				return nil, err
			}
		}
		out := timeseriesResponse{ItemID: id, Period: period(start, end), Timeseries: make([]pointJSON, 0, len(rows))}
		newest := -1
		for i, p := range rows {
			out.Timeseries = append(out.Timeseries, pointJSON{
				Date: fmtDate(p.Date), Forecast: num(p.Forecast), Actual: num(p.Actual), Lower: num(p.Lower), Upper: num(p.Upper),
				Mape: num(p.Mape), Source: p.Source, ModelVersion: p.ModelVersion, DatasetID: p.DatasetID, GeneratedAt: fmtTime(p.GeneratedAt),
			})
			if newest < 0 || p.GeneratedAt.Time.After(rows[newest].GeneratedAt.Time) {
				newest = i
			}
		}
		if newest >= 0 {
			p := rows[newest]
			g := fmtTime(p.GeneratedAt)
			out.Metadata = seriesMetaJSON{ModelVersion: &p.ModelVersion, DatasetID: &p.DatasetID, GeneratedAt: &g}
		}
		return out, nil
	})
}

func (s *Server) handleSummary(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, end, err := parsePeriod(q, s.opts.MaxSpanDays)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids, err := parseItemIDs(q, false, s.opts.MaxItemIDs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	source, err := parseSource(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := "sum\x00" + start.Format(dateLayout) + "\x00" + end.Format(dateLayout) + "\x00" + strings.Join(ids, "\x01") + "\x00" + deref(source)
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		if err := s.requireItems(ctx, ids); err != nil {
			return nil, err
		}
		row, err := s.q.ForecastSummary(ctx, store.ForecastSummaryParams{StartDate: pgDate(start), EndDate: pgDate(end), ItemIds: ids, Source: source})
		if err != nil {
			return nil, fmt.Errorf("forecast summary: %w", err)
		}
		if ids == nil {
			ids = []string{}
		}
		return summaryResponse{
			Summary: summaryJSON{TotalForecast: finite(row.TotalForecast), TotalActual: finite(row.TotalActual), Mape: num(row.Mape),
				ItemsCount: row.ItemsCount, Rows: row.RowsCount},
			Period:   period(start, end),
			ItemIDs:  ids,
			Metadata: summaryMetaJSON{ModelVersion: row.ModelVersion, DatasetID: row.DatasetID},
		}, nil
	})
}

func (s *Server) handleAggregates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ids, err := parseItemIDs(q, true, s.opts.MaxItemIDs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	window := 7
	if raw := q.Get("window"); raw != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(raw, "d"))
		if err != nil || (n != 7 && n != 30) {
			s.fail(w, r, badRequest(CodeInvalidWindow, "window must be 7 or 30, not %q", truncate(raw, 20)))
			return
		}
		window = n
	}
	start, end, err := parsePeriod(q, s.opts.MaxSpanDays)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	source, err := parseSource(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := fmt.Sprintf("agg\x00%d\x00%s\x00%s\x00%s\x00%s", window, start.Format(dateLayout), end.Format(dateLayout), strings.Join(ids, "\x01"), deref(source))
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		if err := s.requireItems(ctx, ids); err != nil {
			return nil, err
		}
		rows, err := s.q.GetAggregate(ctx, store.GetAggregateParams{ItemIds: ids, StartDate: pgDate(start), EndDate: pgDate(end), Source: source})
		if err != nil {
			return nil, fmt.Errorf("aggregates: %w", err)
		}
		out := aggregatesResponse{Window: window, Period: period(start, end), ItemIDs: ids, Aggregates: make([]aggregateJSON, 0, len(rows))}
		for _, a := range rows {
			x := aggregateJSON{ItemID: a.ItemID, Date: fmtDate(a.Date), Source: a.Source, Forecast: num(a.Forecast), Actual: num(a.Actual)}
			if window == 7 {
				x.ForecastAvg, x.ActualAvg, x.ForecastTotal, x.ActualTotal, x.Mape = num(a.ForecastAvg7d), num(a.ActualAvg7d), num(a.ForecastTotal7d), num(a.ActualTotal7d), num(a.Mape7d)
			} else {
				x.ForecastAvg, x.ActualAvg, x.ForecastTotal, x.ActualTotal, x.Mape = num(a.ForecastAvg30d), num(a.ActualAvg30d), num(a.ForecastTotal30d), num(a.ActualTotal30d), num(a.Mape30d)
			}
			out.Aggregates = append(out.Aggregates, x)
		}
		return out, nil
	})
}

func (s *Server) handleInventory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := checkKey("item id", id); err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	asOf, given, err := parseDate(q, "date", false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !given {
		n := s.opts.Now()
		asOf = time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
	}
	key := "inv\x00" + id + "\x00" + asOf.Format(dateLayout)
	s.respond(w, r, key, func(ctx context.Context) (any, error) {
		rows, err := s.q.GetInventory(ctx, store.GetInventoryParams{ItemID: id, AsOf: pgDate(asOf)})
		if err != nil {
			return nil, fmt.Errorf("inventory of %q: %w", id, err)
		}
		if len(rows) == 0 {
			if err := s.requireItem(ctx, id); err != nil {
				return nil, err
			}
			return nil, notFound("item %q has no inventory snapshot on or before %s", id, asOf.Format(dateLayout))
		}
		return inventoryOf(id, asOf, rows), nil
	})
}

// inventoryOf reports the item-level (site_id = 'ALL') snapshot when there
// is one, else the sum of each site's latest snapshot.
func inventoryOf(id string, asOf time.Time, rows []store.GetInventoryRow) inventoryResponse {
	out := inventoryResponse{ItemID: id, AsOf: asOf.Format(dateLayout), Sites: make([]siteStockJSON, 0, len(rows))}
	var all *store.GetInventoryRow
	var last pgtype.Date
	var cur, safety, reorder sum
	for i, x := range rows {
		if x.SiteID == "ALL" {
			all = &rows[i]
			continue
		}
		out.Sites = append(out.Sites, siteStockJSON{SiteID: x.SiteID, Date: fmtDate(x.Date), CurrentStock: num(x.CurrentStock),
			SafetyStock: num(x.SafetyStock), ReorderPoint: num(x.ReorderPoint), DaysToRupture: num(x.DaysToRupture), StockStatus: x.StockStatus})
		cur.add(x.CurrentStock)
		safety.add(x.SafetyStock)
		reorder.add(x.ReorderPoint)
		if !last.Valid || x.Date.Time.After(last.Time) {
			last = x.Date
		}
	}
	if all != nil {
		out.Level = "item"
		out.CurrentStock, out.SafetyStock, out.ReorderPoint = num(all.CurrentStock), num(all.SafetyStock), num(all.ReorderPoint)
		out.DaysToRupture, out.StockStatus = num(all.DaysToRupture), all.StockStatus
		out.LastUpdated = fmtDate(all.Date)
		return out
	}
	out.Level = "sum_of_sites"
	out.CurrentStock, out.SafetyStock, out.ReorderPoint = cur.value(), safety.value(), reorder.value()
	out.LastUpdated = fmtDate(last)
	return out
}

type sum struct {
	v  float64
	ok bool
}

func (s *sum) add(p *float64) {
	if p != nil && !math.IsNaN(*p) && !math.IsInf(*p, 0) {
		s.v += *p
		s.ok = true
	}
}

func (s *sum) value() *float64 {
	if !s.ok {
		return nil
	}
	v := s.v
	return &v
}

// requireItem returns a 404 apiError when id is not in gold.dim_item.
func (s *Server) requireItem(ctx context.Context, id string) error {
	if _, err := s.q.GetItem(ctx, id); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("unknown item %q", id)
		}
		return fmt.Errorf("look up item %q: %w", id, err)
	}
	return nil
}

// requireItems returns a 404 apiError naming the ids not in gold.dim_item.
func (s *Server) requireItems(ctx context.Context, ids []string) error {
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
func (s *Server) respond(w http.ResponseWriter, r *http.Request, key string, compute func(context.Context) (any, error)) {
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
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
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

// ---- refresh ----

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
func (s *Server) authorize(r *http.Request) *apiError {
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
func (s *Server) checkToken(r *http.Request) *apiError {
	given := presentedToken(r)
	if given == "" {
		return &apiError{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "missing credentials: send Authorization: Bearer <token> or X-API-Key: <token>"}
	}
	if s.opts.APIToken == "" || subtle.ConstantTimeCompare([]byte(given), []byte(s.opts.APIToken)) != 1 {
		return &apiError{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "invalid API token"}
	}
	return nil
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
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
func (s *Server) authorizeStatus(r *http.Request) *apiError {
	if s.opts.APIToken == "" {
		return &apiError{Status: http.StatusForbidden, Code: CodeRefreshDisabled, Message: "job states are disabled: no API token is configured (set NOVAWH_API_TOKEN)"}
	}
	return s.checkToken(r)
}

type jobsResponse struct {
	Jobs []Job `json:"jobs"`
}

// handleJobs lists the jobs the server remembers, newest first.
func (s *Server) handleJobs(w http.ResponseWriter, r *http.Request) {
	if ae := s.authorizeStatus(r); ae != nil {
		writeError(w, ae)
		return
	}
	writeJSON(w, http.StatusOK, jobsResponse{Jobs: s.jobs.list()})
}

func (s *Server) handleRefreshStatus(w http.ResponseWriter, r *http.Request) {
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

// ---- health ----

// healthResponse is the body of GET /health. Without credentials it tells
// no secrets: the verdicts only (database, parquet_access and the ML check
// without their details, no module list). With the API token it adds the
// details: error texts, the remote export target, checked_packages and
// violations.
type healthResponse struct {
	Status            string   `json:"status"`
	Database          string   `json:"database"`
	DatabaseLatencyMS float64  `json:"database_latency_ms"`
	ParquetAccess     string   `json:"parquet_access"`
	Cache             string   `json:"cache"`
	CacheEntries      int      `json:"cache_entries"`
	CacheBytes        int64    `json:"cache_bytes"`
	CacheMaxBytes     int64    `json:"cache_max_bytes"`
	CacheTTLSeconds   float64  `json:"cache_ttl_seconds"`
	Refresh           string   `json:"refresh"`
	MLDependencies    MLReport `json:"ml_dependencies"`
	Details           bool     `json:"details"` // true when the token was given
	Timestamp         string   `json:"timestamp"`
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	details := false
	if hasCredentials(r) {
		if ae := s.checkToken(r); ae != nil {
			writeError(w, ae)
			return
		}
		details = true
	}
	h := healthResponse{Status: "ok", Database: "ok", Cache: "disabled", Refresh: s.refreshState(), MLDependencies: s.ml,
		Details: details, Timestamp: s.opts.Now().UTC().Format(time.RFC3339)}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	t0 := time.Now()
	var one bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM gold.dim_item)").Scan(&one); err != nil {
		h.Database = "error: " + logx.OneLine(err.Error())
		h.Status = "error"
	}
	h.DatabaseLatencyMS = float64(time.Since(t0).Microseconds()) / 1000
	h.ParquetAccess = parquetAccess(s.opts.ParquetDir)
	if s.cache.enabled() {
		st := s.cache.snapshot()
		h.Cache, h.CacheEntries, h.CacheBytes, h.CacheMaxBytes, h.CacheTTLSeconds = "enabled", st.Entries, st.Bytes, st.MaxBytes, s.cache.ttl.Seconds()
	}
	if s.ml.Status == "violation" {
		h.Status = "error"
	}
	if h.Status == "ok" && h.ParquetAccess != "ok" && h.ParquetAccess != "not_configured" && !strings.HasPrefix(h.ParquetAccess, "not_checked") {
		h.Status = "degraded"
	}
	if !details {
		// The verdicts only: "error: <text>" -> "error", "not_checked
		// (remote target s3://...)" -> "not_checked", no module list.
		h.Database = verdict(h.Database)
		h.ParquetAccess = verdict(h.ParquetAccess)
		h.MLDependencies.CheckedPackages, h.MLDependencies.Violations = nil, nil
	}
	code := http.StatusOK
	if h.Status == "error" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

// verdict is the first word of a health value ("error: ..." -> "error").
func verdict(v string) string {
	if i := strings.IndexAny(v, ": ("); i > 0 {
		return v[:i]
	}
	return v
}

// parquetAccess reports whether the Parquet export folder can be read.
func parquetAccess(dir string) string {
	switch {
	case dir == "":
		return "not_configured"
	case strings.Contains(dir, "://"):
		return "not_checked (remote target " + dir + ")"
	}
	st, err := os.Stat(dir)
	if err != nil {
		return "error: " + logx.OneLine(err.Error())
	}
	if !st.IsDir() {
		return "error: " + dir + " is not a directory"
	}
	f, err := os.Open(dir)
	if err != nil {
		return "error: " + logx.OneLine(err.Error())
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return "error: " + logx.OneLine(err.Error())
	}
	return "ok"
}

// ---- helpers ----

func pgDate(t time.Time) pgtype.Date { return pgtype.Date{Time: t, Valid: true} }

func fmtDate(d pgtype.Date) string {
	switch {
	case !d.Valid:
		return ""
	case d.InfinityModifier == pgtype.Infinity:
		return "infinity"
	case d.InfinityModifier == pgtype.NegativeInfinity:
		return "-infinity"
	}
	return d.Time.Format(dateLayout)
}

func fmtTime(t pgtype.Timestamptz) string {
	if !t.Valid {
		return ""
	}
	return t.Time.UTC().Format(time.RFC3339)
}

func period(start, end time.Time) periodJSON {
	return periodJSON{Start: start.Format(dateLayout), End: end.Format(dateLayout)}
}

// num drops NaN and infinities (JSON has no such numbers) to null.
func num(p *float64) *float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	return p
}

func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func quoteList(xs []string, max int) string {
	var b strings.Builder
	for i, x := range xs {
		if i == max {
			fmt.Fprintf(&b, " and %d more", len(xs)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(x))
	}
	return b.String()
}
