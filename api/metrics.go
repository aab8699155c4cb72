package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/novacorrente/novawh/internal/runmetrics"
	"github.com/novacorrente/novawh/store"
)

// metrics are the handler's Prometheus series (GET /metrics), in a
// registry of its own so that several handlers, or an embedding backend's
// own metrics, never collide.
type metrics struct {
	reg      *prometheus.Registry
	inFlight prometheus.Gauge
	duration *prometheus.HistogramVec
}

func newMetrics(h *Handler) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "novawh_http_requests_in_flight", Help: "HTTP requests being served."}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "novawh_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "code"}),
	}
	m.reg.MustRegister(m.inFlight, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		cacheCollector{h}, poolCollector{h.pool}, warehouseCollector{h})
	return m
}

// observe records one request; route is the ServeMux pattern without its
// method ("unmatched" when no endpoint matched).
func (m *metrics) observe(r *http.Request, status int, took time.Duration) {
	route := r.Pattern
	if _, path, ok := strings.Cut(route, " "); ok {
		route = path
	}
	if route == "" || route == "/" {
		route = "unmatched"
	}
	m.duration.WithLabelValues(route, r.Method, strconv.Itoa(status)).Observe(took.Seconds())
}

func (s *Handler) handleMetrics(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorLog: promLogger{s}}).ServeHTTP(w, r)
}

type promLogger struct{ s *Handler }

func (l promLogger) Println(v ...any) {
	l.s.log.Warn("metrics: encoding failed", "err", fmt.Sprint(v...))
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// cacheCollector exposes the response cache's own accounting.
type cacheCollector struct{ h *Handler }

var (
	cacheHits      = desc("novawh_api_cache_hits_total", "Requests answered from the response cache.")
	cacheMisses    = desc("novawh_api_cache_misses_total", "Requests computed (stored or not).")
	cacheBypassed  = desc("novawh_api_cache_bypassed_total", "Computed responses too large to store.")
	cacheEvictions = desc("novawh_api_cache_evictions_total", "Entries dropped to make room.")
	cacheBytes     = desc("novawh_api_cache_bytes", "Bytes the cache holds (key + body + overhead per entry).")
	cacheMaxBytes  = desc("novawh_api_cache_max_bytes", "Bound on novawh_api_cache_bytes.")
	cacheEntries   = desc("novawh_api_cache_entries", "Responses the cache holds.")
)

// Describe sends the descriptors Collect uses (Collect is cheap: it reads
// the cache's counters), so the two cannot disagree.
func (c cacheCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.h.cache.snapshot()
	ch <- prometheus.MustNewConstMetric(cacheHits, prometheus.CounterValue, float64(st.Hits))
	ch <- prometheus.MustNewConstMetric(cacheMisses, prometheus.CounterValue, float64(st.Misses))
	ch <- prometheus.MustNewConstMetric(cacheBypassed, prometheus.CounterValue, float64(st.Bypassed))
	ch <- prometheus.MustNewConstMetric(cacheEvictions, prometheus.CounterValue, float64(st.Evictions))
	ch <- prometheus.MustNewConstMetric(cacheBytes, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(cacheMaxBytes, prometheus.GaugeValue, float64(st.MaxBytes))
	ch <- prometheus.MustNewConstMetric(cacheEntries, prometheus.GaugeValue, float64(st.Entries))
}

// poolCollector exposes pgxpool's statistics.
type poolCollector struct{ p *pgxpool.Pool }

var (
	poolAcquired     = desc("novawh_db_pool_acquired_connections", "Connections of the API pool in use.")
	poolIdle         = desc("novawh_db_pool_idle_connections", "Idle connections of the API pool.")
	poolTotal        = desc("novawh_db_pool_total_connections", "Open connections of the API pool.")
	poolMax          = desc("novawh_db_pool_max_connections", "Size bound of the API pool.")
	poolAcquires     = desc("novawh_db_pool_acquires_total", "Successful connection acquisitions.")
	poolAcquireTime  = desc("novawh_db_pool_acquire_duration_seconds_total", "Time spent acquiring connections.")
	poolEmptyAcquire = desc("novawh_db_pool_empty_acquires_total", "Acquisitions that had to wait for a connection.")
	poolCanceled     = desc("novawh_db_pool_canceled_acquires_total", "Acquisitions canceled before a connection was free.")
)

// Describe: as for the cache, Collect only reads pgxpool's counters.
func (c poolCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Stat()
	ch <- prometheus.MustNewConstMetric(poolAcquired, prometheus.GaugeValue, float64(st.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(st.IdleConns()))
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(st.TotalConns()))
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(st.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolAcquireTime, prometheus.CounterValue, st.AcquireDuration().Seconds())
	ch <- prometheus.MustNewConstMetric(poolEmptyAcquire, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolCanceled, prometheus.CounterValue, float64(st.CanceledAcquireCount()))
}

// warehouseCollector reads the warehouse's state at scrape time through
// the monitor views (migration 000300): a few small queries.
type warehouseCollector struct{ h *Handler }

var (
	sourceAge   = desc("novawh_source_last_success_age_seconds", "Seconds since the source's last successful load (meta.loads status loaded).", "source")
	sourceLast  = desc("novawh_source_last_success_timestamp_seconds", "Unix time of the source's last successful load.", "source")
	goldRows    = desc("novawh_gold_table_rows", "Rows of a gold table (monitor.table_rows(): counted when small, estimate=\"false\"; else the statistics' estimate, estimate=\"true\").", "table", "estimate")
	exportLast  = desc("novawh_export_last_success_timestamp_seconds", "Unix time of the last successful Parquet export, per target.", "target")
	exportAge   = desc("novawh_export_last_success_age_seconds", "Seconds since the last successful Parquet export, per target.", "target")
	scrapeError = desc("novawh_warehouse_scrape_error", "1 when the warehouse gauges could not be read from the database on this scrape.")
)

func (warehouseCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sourceAge, sourceLast, goldRows, exportLast, exportAge, scrapeError} {
		ch <- d
	}
	runmetrics.Describe(ch)
}

func (c warehouseCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := collectWarehouse(ctx, c.h.q, c.h.opts.Now(), ch)
	failed := 0.0
	if err != nil {
		failed = 1
		c.h.log.Warn("metrics: warehouse gauges", "err", err)
	}
	ch <- prometheus.MustNewConstMetric(scrapeError, prometheus.GaugeValue, failed)
}

func collectWarehouse(ctx context.Context, q *store.Queries, now time.Time, ch chan<- prometheus.Metric) error {
	sources, err := q.ListSourceFreshness(ctx)
	if err != nil {
		return err
	}
	for _, s := range sources {
		if s.LastSuccessAt.Valid {
			ch <- prometheus.MustNewConstMetric(sourceLast, prometheus.GaugeValue, float64(s.LastSuccessAt.Time.UnixMilli())/1000, s.Source)
			ch <- prometheus.MustNewConstMetric(sourceAge, prometheus.GaugeValue, now.Sub(s.LastSuccessAt.Time).Seconds(), s.Source)
		}
	}
	run, err := q.GetLastRun(ctx)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return err
	default:
		runmetrics.Collect(ch, runmetrics.Run{Status: run.Status, Trigger: run.Trigger, StartedAt: run.StartedAt.Time,
			Duration: time.Duration(run.DurationSeconds * float64(time.Second))})
	}
	tables, err := q.ListGoldTableRows(ctx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		ch <- prometheus.MustNewConstMetric(goldRows, prometheus.GaugeValue, float64(t.RowCount), t.TableName, strconv.FormatBool(t.Estimated))
	}
	exports, err := q.ListExportFreshness(ctx)
	if err != nil {
		return err
	}
	for _, e := range exports {
		if e.LastSuccessAt.Valid {
			ch <- prometheus.MustNewConstMetric(exportLast, prometheus.GaugeValue, float64(e.LastSuccessAt.Time.UnixMilli())/1000, e.Target)
			ch <- prometheus.MustNewConstMetric(exportAge, prometheus.GaugeValue, now.Sub(e.LastSuccessAt.Time).Seconds(), e.Target)
		}
	}
	return nil
}
