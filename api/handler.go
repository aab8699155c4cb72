package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/store"
)

// Defaults of Options.
const (
	DefaultMaxSpanDays    = 366
	DefaultMaxItemIDs     = 50
	DefaultPageSize       = 50
	DefaultMaxPageSize    = 1000
	DefaultCacheTTL       = 60 * time.Second
	DefaultCacheEntries   = 10000
	DefaultCacheBytes     = 32 << 20 // 32 MiB; one response may use an eighth of it
	DefaultRequestTimeout = 15 * time.Second
)

// Options configure a Handler. Zero values take the defaults above, except
// CacheTTL (set CacheDisabled to turn the cache off).
type Options struct {
	Logger *slog.Logger // nil: discard

	// BasePath is where the handler is mounted when it is not at the root
	// (e.g. "/dash" with http.StripPrefix("/dash", h)): the links it writes
	// (Location, status_url) start with it. The handler itself routes the
	// paths below it (/api/v1/..., /health).
	BasePath string

	MaxSpanDays     int           // longest start..end period, inclusive
	MaxItemIDs      int           // most item_ids in one request
	MaxPageSize     int           // largest limit of GET /api/v1/items
	CacheTTL        time.Duration // life of a cached response
	CacheDisabled   bool          // no response cache at all
	CacheMaxEntries int
	CacheMaxBytes   int64         // bound on the cache's bytes; a response over 1/8 of it is not stored
	RequestTimeout  time.Duration // per request database work

	// APIToken protects POST /api/v1/data/refresh (Bearer or X-API-Key);
	// empty disables the refresh endpoints (403 refresh_disabled).
	APIToken string
	// Refresher runs refresh jobs; nil disables the refresh endpoints.
	Refresher Refresher
	// RefreshSources, when non-empty, lists the accepted "source" values.
	RefreshSources []string
	// DefaultRefreshSource is used when the body names none ("all").
	DefaultRefreshSource string

	// ParquetDir is the export folder /health checks ("" = not configured).
	ParquetDir string

	// MLDenyList defaults to DefaultMLDenyList; BuildInfo to
	// debug.ReadBuildInfo (tests pass crafted module lists).
	MLDenyList []string
	BuildInfo  func() (*debug.BuildInfo, bool)
	// Now defaults to time.Now.
	Now func() time.Time
}

// Handler is the dashboards' HTTP API, an http.Handler to mount in any
// server (see the package documentation).
type Handler struct {
	opts    Options
	log     *slog.Logger
	q       *store.Queries
	pool    *pgxpool.Pool
	cache   *cache
	jobs    *jobs
	mux     *http.ServeMux
	ml      MLReport
	metrics *metrics
}

// New builds the handler over pool (the read pool: see OpenPool for the
// read-only role and timeouts). Call Close when done with it to stop a
// running refresh job.
func New(pool *pgxpool.Pool, opts Options) (*Handler, error) {
	if pool == nil {
		return nil, errors.New("api: a pool is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxSpanDays <= 0 {
		opts.MaxSpanDays = DefaultMaxSpanDays
	}
	if opts.MaxItemIDs <= 0 {
		opts.MaxItemIDs = DefaultMaxItemIDs
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = DefaultMaxPageSize
	}
	if opts.CacheTTL < 0 {
		return nil, fmt.Errorf("api: cache TTL must not be negative (%s)", opts.CacheTTL)
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.CacheMaxEntries <= 0 {
		opts.CacheMaxEntries = DefaultCacheEntries
	}
	if opts.CacheMaxBytes <= 0 {
		opts.CacheMaxBytes = DefaultCacheBytes
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.DefaultRefreshSource == "" {
		opts.DefaultRefreshSource = "all"
	}
	if opts.MLDenyList == nil {
		opts.MLDenyList = DefaultMLDenyList
	}
	if opts.BuildInfo == nil {
		opts.BuildInfo = debug.ReadBuildInfo
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.BasePath = strings.TrimRight(opts.BasePath, "/")
	s := &Handler{opts: opts, log: opts.Logger, q: store.New(pool), pool: pool}
	if !opts.CacheDisabled {
		s.cache = newCache(opts.CacheTTL, opts.CacheMaxEntries, opts.CacheMaxBytes, opts.Now)
	}
	s.jobs = newJobs(opts.Refresher, opts.Logger, opts.Now, func(Job) { s.cache.purge() })
	// The module list of a running binary does not change: check it once.
	bi, ok := opts.BuildInfo()
	s.ml = CheckMLDependencies(bi, ok, opts.MLDenyList)
	s.metrics = newMetrics(s)
	s.routes()
	return s, nil
}

func (s *Handler) routes() {
	m := http.NewServeMux()
	// Go 1.22 patterns match the escaped path segment by segment, so an item
	// id with %2F (a slash) stays one {id} segment.
	m.HandleFunc("GET /api/v1/items", s.handleItems)
	m.HandleFunc("GET /api/v1/items/{id}/timeseries", s.handleTimeseries)
	m.HandleFunc("GET /api/v1/items/{id}/demand", s.handleItemDemand)
	m.HandleFunc("GET /api/v1/demand/top", s.handleTopDemand)
	m.HandleFunc("GET /api/v1/suppliers", s.handleSuppliers)
	m.HandleFunc("GET /api/v1/forecasts/summary", s.handleSummary)
	m.HandleFunc("GET /api/v1/aggregates", s.handleAggregates)
	m.HandleFunc("GET /api/v1/inventory/{id...}", s.handleInventory)
	m.HandleFunc("POST /api/v1/data/refresh", s.handleRefresh)
	m.HandleFunc("GET /api/v1/data/refresh", s.handleJobs)
	m.HandleFunc("GET /api/v1/data/refresh/{job_id}", s.handleRefreshStatus)
	m.HandleFunc("GET /health", s.handleHealth)
	m.HandleFunc("GET /api/v1/openapi.json", s.handleOpenAPI)
	m.HandleFunc("GET /metrics", s.handleMetrics)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Code: CodeNotFound,
			Message: fmt.Sprintf("no endpoint %s %s (see docs/api.md)", r.Method, truncate(r.URL.EscapedPath(), 200))})
	})
	s.mux = m
}

// ServeHTTP serves one request and logs it with its latency.
func (s *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.metrics.inFlight.Inc()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.EscapedPath(), "panic", p, "stack", string(debug.Stack()))
			if !rec.wrote {
				writeError(rec, &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"})
			}
		}
		took := time.Since(start)
		s.metrics.inFlight.Dec()
		s.metrics.observe(r, rec.status, took)
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(r.Context(), level, "http request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.EscapedPath()),
			slog.String("query", r.URL.RawQuery),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.String("cache", rec.Header().Get("X-Cache")),
			slog.Float64("latency_ms", float64(took.Microseconds())/1000),
			slog.String("remote", r.RemoteAddr))
	}()
	// r.URL.Query() silently drops a pair it cannot decode (q=ITEM%ZZ would
	// list every item): a query string that does not parse is a 400.
	if err := checkQuery(r.URL.RawQuery); err != nil {
		writeError(rec, err)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Close cancels a running refresh job and waits for it until ctx ends.
func (s *Handler) Close(ctx context.Context) error { return s.jobs.close(ctx) }

// RunJob runs fn as a refresh job triggered by the caller (an in-process
// scheduler: trigger "schedule"), one at a time with the jobs of POST
// /api/v1/data/refresh, and waits for its end. The job is kept and reported
// like the others (GET /api/v1/data/refresh/{job_id}); a panic in fn makes
// it a failed job; the cache is purged when it ends. While another job
// runs it starts nothing and returns an error.
func (s *Handler) RunJob(ctx context.Context, source string, fn JobFunc) (Job, error) {
	job, err := s.jobs.startFunc(TriggerSchedule, source, false, fn)
	if err != nil {
		return Job{}, err
	}
	return s.jobs.wait(ctx, job.JobID)
}

// PurgeCache drops every cached response (a refresh job does it itself).
func (s *Handler) PurgeCache() { s.cache.purge() }

// CacheStats returns the response cache's accounting (zero when the cache
// is off).
func (s *Handler) CacheStats() CacheStats { return s.cache.snapshot() }

// RefreshState says whether POST /api/v1/data/refresh is enabled, and if
// not why.
func (s *Handler) RefreshState() string {
	switch {
	case s.opts.APIToken == "":
		return "disabled (NOVAWH_API_TOKEN unset)"
	case s.opts.Refresher == nil:
		return "disabled (no refresh job configured)"
	}
	return "enabled"
}
