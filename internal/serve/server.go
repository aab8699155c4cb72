package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/store"
)

// Defaults of Options.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultMaxSpanDays     = 366
	DefaultMaxItemIDs      = 50
	DefaultPageSize        = 50
	DefaultMaxPageSize     = 1000
	DefaultCacheTTL        = 60 * time.Second
	DefaultCacheEntries    = 10000
	DefaultCacheBytes      = 32 << 20 // 32 MiB; one response may use an eighth of it
	DefaultRequestTimeout  = 15 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
)

// Options configure a Server. Zero values take the defaults above, except
// CacheTTL (set CacheDisabled to turn the cache off).
type Options struct {
	Pool   *pgxpool.Pool // required: the read pool (see OpenPool)
	Logger *slog.Logger  // nil: discard

	Addr            string        // for Run
	MaxSpanDays     int           // longest start..end period, inclusive
	MaxItemIDs      int           // most item_ids in one request
	MaxPageSize     int           // largest limit of GET /api/v1/items
	CacheTTL        time.Duration // life of a cached response
	CacheDisabled   bool          // no response cache at all
	CacheMaxEntries int
	CacheMaxBytes   int64         // bound on the cache's bytes; a response over 1/8 of it is not stored
	RequestTimeout  time.Duration // per request database work
	ShutdownTimeout time.Duration // grace period of Run on shutdown

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

// Server is the dashboards' HTTP API; it is an http.Handler.
type Server struct {
	opts  Options
	log   *slog.Logger
	q     *store.Queries
	pool  *pgxpool.Pool
	cache *cache
	jobs  *jobs
	mux   *http.ServeMux
	ml    MLReport
}

// New checks opts and builds the server. Call Close (or let Run return)
// to stop a running refresh job.
func New(opts Options) (*Server, error) {
	if opts.Pool == nil {
		return nil, errors.New("serve: Options.Pool is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
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
		return nil, fmt.Errorf("serve: cache TTL must not be negative (%s)", opts.CacheTTL)
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
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
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
	s := &Server{opts: opts, log: opts.Logger, q: store.New(opts.Pool), pool: opts.Pool}
	if !opts.CacheDisabled {
		s.cache = newCache(opts.CacheTTL, opts.CacheMaxEntries, opts.CacheMaxBytes, opts.Now)
	}
	s.jobs = newJobs(opts.Refresher, opts.Logger, opts.Now, func(Job) { s.cache.purge() })
	// The module list of a running binary does not change: check it once.
	bi, ok := opts.BuildInfo()
	s.ml = CheckMLDependencies(bi, ok, opts.MLDenyList)
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	// Go 1.22 patterns match the escaped path segment by segment, so an item
	// id with %2F (a slash) stays one {id} segment.
	m.HandleFunc("GET /api/v1/items", s.handleItems)
	m.HandleFunc("GET /api/v1/items/{id}/timeseries", s.handleTimeseries)
	m.HandleFunc("GET /api/v1/forecasts/summary", s.handleSummary)
	m.HandleFunc("GET /api/v1/aggregates", s.handleAggregates)
	m.HandleFunc("GET /api/v1/inventory/{id...}", s.handleInventory)
	m.HandleFunc("POST /api/v1/data/refresh", s.handleRefresh)
	m.HandleFunc("GET /api/v1/data/refresh", s.handleJobs)
	m.HandleFunc("GET /api/v1/data/refresh/{job_id}", s.handleRefreshStatus)
	m.HandleFunc("GET /health", s.handleHealth)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Code: CodeNotFound,
			Message: fmt.Sprintf("no endpoint %s %s (see docs/api.md)", r.Method, truncate(r.URL.EscapedPath(), 200))})
	})
	s.mux = m
}

// ServeHTTP serves one request and logs it with its latency.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.EscapedPath(), "panic", p, "stack", string(debug.Stack()))
			if !rec.wrote {
				writeError(rec, &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"})
			}
		}
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
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
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

// Run listens on Options.Addr and serves until ctx ends, then shuts down
// gracefully (see Serve).
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opts.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends: then it stops accepting, lets running
// requests finish (up to ShutdownTimeout) and cancels a running refresh job,
// waiting for it within the same grace period.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.opts.RequestTimeout + 15*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(JSONErrorListener(ln)) }()
	s.log.Info("serving the API", "addr", ln.Addr().String(), "cache_ttl", s.cacheTTL(), "refresh", s.refreshState())
	select {
	case err := <-errc:
		_ = s.Close(context.Background())
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", s.opts.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if jerr := s.Close(sctx); jerr != nil && err == nil {
		err = jerr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// Close cancels a running refresh job and waits for it until ctx ends.
func (s *Server) Close(ctx context.Context) error { return s.jobs.close(ctx) }

// RunJob runs fn as a refresh job triggered by the caller (an in-process
// scheduler: trigger "schedule"), one at a time with the jobs of POST
// /api/v1/data/refresh, and waits for its end. The job is kept and reported
// like the others (GET /api/v1/data/refresh/{job_id}); a panic in fn makes
// it a failed job; the cache is purged when it ends. While another job
// runs it starts nothing and returns an error.
func (s *Server) RunJob(ctx context.Context, source string, fn JobFunc) (Job, error) {
	job, err := s.jobs.startFunc(TriggerSchedule, source, false, fn)
	if err != nil {
		return Job{}, err
	}
	return s.jobs.wait(ctx, job.JobID)
}

// PurgeCache drops every cached response (a refresh job does it itself).
func (s *Server) PurgeCache() { s.cache.purge() }

// CacheStats returns the response cache's accounting (zero when the cache
// is off).
func (s *Server) CacheStats() CacheStats { return s.cache.snapshot() }

func (s *Server) cacheTTL() time.Duration {
	if !s.cache.enabled() {
		return 0
	}
	return s.cache.ttl
}

func (s *Server) refreshState() string {
	switch {
	case s.opts.APIToken == "":
		return "disabled (NOVAWH_API_TOKEN unset)"
	case s.opts.Refresher == nil:
		return "disabled (no refresh job configured)"
	}
	return "enabled"
}
