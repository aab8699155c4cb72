package api_test

import (
	"context"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgtest"
)

// scrape reads GET /metrics with Prometheus' own text parser.
func scrape(t *testing.T, e *env) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(e.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/metrics: %d", res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// find returns the metric of fam whose labels include want.
func find(fam *dto.MetricFamily, want map[string]string) *dto.Metric {
	if fam == nil {
		return nil
	}
	for _, m := range fam.GetMetric() {
		ok := true
		for k, v := range want {
			ok = ok && labels(m)[k] == v
		}
		if ok {
			return m
		}
	}
	return nil
}

// TestMetrics: /metrics exposes the named series with their types, a
// request moves the histogram of its route pattern and status (and no
// other), cache counters follow the cache, and the warehouse gauges come
// from meta through the read-only role.
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options, db *pgtest.DB) {
		_, err := db.Pool.Exec(context.Background(), `
			INSERT INTO meta.loads (source, file_name, file_sha256, status, rows_read, rows_loaded, started_at, finished_at)
			VALUES ('erp_requisitions', 'a.csv', 'x1', 'loaded', 1, 1, now() - interval '2 hours', now() - interval '2 hours'),
			       ('erp_requisitions', 'b.csv', 'x2', 'failed', 0, 0, now() - interval '1 hour', now() - interval '1 hour'),
			       ('ml_forecasts', 'c.csv', 'x3', 'loaded', 1, 1, now() - interval '30 minutes', now() - interval '30 minutes');
			INSERT INTO meta.runs (trigger, status, exit_code, failed_step, error, started_at, finished_at)
			VALUES ('schedule', 'failed', 1, 'refresh', 'boom', now() - interval '10 minutes', now() - interval '8 minutes');
			INSERT INTO meta.export_runs (target, full_export, partition_by, compression, status, started_at, finished_at)
			VALUES ('/srv/exports', true, 'day', 'zstd', 'succeeded', now() - interval '1 day', now() - interval '1 day');
			ANALYZE gold.fact_forecast;`)
		if err != nil {
			t.Fatalf("meta seed: %v", err)
		}
	})
	types := map[string]dto.MetricType{
		"novawh_http_request_duration_seconds":         dto.MetricType_HISTOGRAM,
		"novawh_http_requests_in_flight":               dto.MetricType_GAUGE,
		"novawh_api_cache_hits_total":                  dto.MetricType_COUNTER,
		"novawh_api_cache_misses_total":                dto.MetricType_COUNTER,
		"novawh_api_cache_bytes":                       dto.MetricType_GAUGE,
		"novawh_db_pool_acquired_connections":          dto.MetricType_GAUGE,
		"novawh_db_pool_max_connections":               dto.MetricType_GAUGE,
		"novawh_db_pool_acquires_total":                dto.MetricType_COUNTER,
		"novawh_source_last_success_age_seconds":       dto.MetricType_GAUGE,
		"novawh_source_last_success_timestamp_seconds": dto.MetricType_GAUGE,
		"novawh_run_last_success":                      dto.MetricType_GAUGE,
		"novawh_run_last_status":                       dto.MetricType_GAUGE,
		"novawh_run_last_duration_seconds":             dto.MetricType_GAUGE,
		"novawh_gold_table_rows":                       dto.MetricType_GAUGE,
		"novawh_export_last_success_timestamp_seconds": dto.MetricType_GAUGE,
		"novawh_warehouse_scrape_error":                dto.MetricType_GAUGE,
		"go_goroutines":                                dto.MetricType_GAUGE,
	}
	ts := "/api/v1/items/" + itemPath(itemBateria) + "/timeseries"
	route := "/api/v1/items/{id}/timeseries"
	count := func(fams map[string]*dto.MetricFamily, code string) uint64 {
		m := find(fams["novawh_http_request_duration_seconds"], map[string]string{"route": route, "method": "GET", "code": code})
		if m == nil {
			return 0
		}
		return m.GetHistogram().GetSampleCount()
	}
	e.get(t, ts+"?start="+seedStart+"&end="+seedEnd) // a miss
	before := scrape(t, e)
	for name, typ := range types {
		f := before[name]
		if f == nil {
			t.Errorf("series %s missing", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
		}
	}
	hits0 := before["novawh_api_cache_hits_total"].GetMetric()[0].GetCounter().GetValue()
	ok0, bad0 := count(before, "200"), count(before, "400")

	e.get(t, ts+"?start="+seedStart+"&end="+seedEnd) // a hit
	e.get(t, ts+"?start="+seedEnd+"&end="+seedStart) // 400
	after := scrape(t, e)
	if got := count(after, "200"); got != ok0+1 {
		t.Errorf("200 count of %s moved %d -> %d, want +1", route, ok0, got)
	}
	if got := count(after, "400"); got != bad0+1 {
		t.Errorf("400 count of %s moved %d -> %d, want +1", route, bad0, got)
	}
	if m := find(after["novawh_http_request_duration_seconds"], map[string]string{"route": "/api/v1/items", "method": "GET"}); m != nil {
		t.Errorf("a route never requested has samples: %v", labels(m))
	}
	if h := after["novawh_api_cache_hits_total"].GetMetric()[0].GetCounter().GetValue(); h != hits0+1 {
		t.Errorf("cache hits %v -> %v, want +1", hits0, h)
	}
	// The warehouse gauges.
	erp := find(after["novawh_source_last_success_age_seconds"], map[string]string{"source": "erp_requisitions"})
	if erp == nil || erp.GetGauge().GetValue() < 7000 || erp.GetGauge().GetValue() > 8000 {
		t.Errorf("erp_requisitions age: %v (want ~7200 s, the failed later load does not count)", erp)
	}
	if m := find(after["novawh_run_last_status"], map[string]string{"status": "failed", "trigger": "schedule"}); m == nil || m.GetGauge().GetValue() != 1 {
		t.Errorf("last run status: %v", after["novawh_run_last_status"])
	}
	if v := after["novawh_run_last_success"].GetMetric()[0].GetGauge().GetValue(); v != 0 {
		t.Errorf("last run success %v", v)
	}
	if v := after["novawh_run_last_duration_seconds"].GetMetric()[0].GetGauge().GetValue(); v < 119 || v > 121 {
		t.Errorf("last run duration %v, want 120", v)
	}
	if m := find(after["novawh_gold_table_rows"], map[string]string{"table": "fact_forecast"}); m == nil || m.GetGauge().GetValue() < 300 {
		t.Errorf("fact_forecast rows: %v", m)
	}
	if m := find(after["novawh_export_last_success_timestamp_seconds"], map[string]string{"target": "/srv/exports"}); m == nil {
		t.Errorf("export gauge missing")
	}
	if v := after["novawh_warehouse_scrape_error"].GetMetric()[0].GetGauge().GetValue(); v != 0 {
		t.Errorf("scrape error %v", v)
	}
}
