package refresh

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// BenchmarkRefresh measures, on a 3-year history of ~10M forecast rows
// generated straight into bronze (NOVAWH_BENCH_ITEMS items x 3 sites x 2
// sources x 1096 days; default 1500 items = 9.9M rows): the full refresh,
// the incremental refresh after one new day of forecasts lands as a new
// load, and the dashboards' 30-day item timeseries query under pgbench (16
// clients, fixed transaction count, p95 from the per-transaction log).
func BenchmarkRefresh(b *testing.B) {
	if os.Getenv("NOVAWH_BENCH") != "1" {
		b.Skip("set NOVAWH_BENCH=1 to run (generates ~10M rows)")
	}
	nItems := 1500
	if v := os.Getenv("NOVAWH_BENCH_ITEMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("NOVAWH_BENCH_ITEMS=%q: want a positive integer", v)
		}
		nItems = n
	}
	ctx := context.Background()
	db := pgtest.New(b)
	pool := db.Pool
	exec1 := func(q string, args ...any) {
		b.Helper()
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			b.Fatalf("%.80s: %v", q, err)
		}
	}
	const days = 1096
	first := day("2023-01-01")
	last := first.AddDate(0, 0, days-1)
	t0 := time.Now()
	exec1(`INSERT INTO meta.loads (load_id, source, file_name, file_sha256, status, min_date, max_date)
		VALUES (1, 'ml_forecasts', 'history.parquet', 'h', 'running', $1, $2),
		       (2, 'erp_requisitions', 'custo.csv', 'e', 'running', $1, $2)`, first, last)
	exec1(`SELECT setval('meta.loads_load_id_seq', 10)`)
	exec1(`INSERT INTO bronze.ml_forecasts (item_id, site_id, deposito, date, forecast, lower, upper,
			model_version, generated_at, source, dataset_id, _load_id, _line)
		SELECT 'FAM_ITEM ' || i, s::text, 'DEP' || s, $1::date + d, (i % 17) + (d % 7) * 0.5, 0, 0,
		       'v1', '2025-12-31', src, 'bench', 1, 0
		FROM generate_series(0, $2 - 1) d, generate_series(1, $3) i, generate_series(1, 3) s,
		     unnest(ARRAY['prophet', 'ensemble']) src`, first, days, nItems)
	exec1(`INSERT INTO bronze.erp_requisitions (deposito, product_code, material, familia, quantity, solicited_date, _load_id, _line)
		SELECT 'DEP' || (1 + g % 3), lpad((g % $3)::text, 6, '0'), 'ITEM ' || (1 + g % $3), 'FAM', 1 + g % 9,
		       $1::date + (g * 7919) % $2, 2, g
		FROM generate_series(1, $3 * 40) g`, first, days, nItems)
	exec1(`UPDATE meta.loads SET status = 'loaded', rows_read = c, rows_loaded = c
		FROM (SELECT 1 AS id, count(*) AS c FROM bronze.ml_forecasts UNION ALL SELECT 2, count(*) FROM bronze.erp_requisitions) x
		WHERE load_id = x.id`)
	exec1(`VACUUM ANALYZE bronze.ml_forecasts`)
	exec1(`VACUUM ANALYZE bronze.erp_requisitions`)
	var bronzeRows int64
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM bronze.ml_forecasts`).Scan(&bronzeRows)
	b.Logf("generated %d bronze forecast rows (%d items) in %s", bronzeRows, nItems, time.Since(t0).Round(time.Second))

	r := New(pool, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	b.ResetTimer()
	t1 := time.Now()
	full, err := r.Run(ctx, Options{Full: true})
	if err != nil {
		b.Fatal(err)
	}
	fullDur := time.Since(t1)
	b.StopTimer()
	b.Logf("full refresh: %s, rows %v", fullDur.Round(time.Millisecond), full.Rows)
	exec1(`VACUUM ANALYZE gold.fact_forecast`)
	exec1(`VACUUM ANALYZE gold.agg_forecast_rolling`)

	// One new day of forecasts lands as a new load.
	next := last.AddDate(0, 0, 1)
	exec1(`INSERT INTO meta.loads (load_id, source, file_name, file_sha256, status, min_date, max_date)
		VALUES (3, 'ml_forecasts', 'day.parquet', 'd', 'running', $1, $1)`, next)
	exec1(`INSERT INTO bronze.ml_forecasts (item_id, site_id, deposito, date, forecast, lower, upper,
			model_version, generated_at, source, dataset_id, _load_id, _line)
		SELECT 'FAM_ITEM ' || i, s::text, 'DEP' || s, $1::date, (i % 13)::float8, 0, 0, 'v2', '2026-01-01', src, 'bench', 3, 0
		FROM generate_series(1, $2) i, generate_series(1, 3) s, unnest(ARRAY['prophet', 'ensemble']) src`, next, nItems)
	exec1(`UPDATE meta.loads SET status = 'loaded', rows_read = c, rows_loaded = c
		FROM (SELECT count(*) AS c FROM bronze.ml_forecasts WHERE _load_id = 3) x WHERE load_id = 3`)
	b.StartTimer()
	t2 := time.Now()
	inc, err := r.Run(ctx, Options{})
	if err != nil {
		b.Fatal(err)
	}
	incDur := time.Since(t2)
	b.StopTimer()
	b.Logf("incremental refresh after one new day: %s, window %s, rows %v", incDur.Round(time.Millisecond), inc.Forecast, inc.Rows)

	p95, tps, err := pgbenchTimeseries(b, db.URL, nItems, next)
	if err != nil {
		b.Fatal(err)
	}
	ratio := 100 * incDur.Seconds() / fullDur.Seconds()
	b.Logf("30-day timeseries query, pgbench 16 clients: p95 %.3f ms, %.0f tps", p95, tps)
	b.Logf("incremental/full = %.2f%% (target <= 2%%); p95 %.3f ms (target <= 5 ms)", ratio, p95)
	b.ReportMetric(fullDur.Seconds(), "full-s")
	b.ReportMetric(incDur.Seconds(), "incremental-s")
	b.ReportMetric(ratio, "incr/full-%")
	b.ReportMetric(p95, "query-p95-ms")
	b.ReportMetric(float64(bronzeRows), "bronze-rows")
}

// pgbenchTimeseries runs the API's 30-day item timeseries query (GetTimeseries
// shape: gold.fact_forecast, site_id = 'ALL') for random items and returns
// the p95 latency in ms and the throughput.
func pgbenchTimeseries(b *testing.B, url string, nItems int, end time.Time) (float64, float64, error) {
	dir := b.TempDir()
	script := filepath.Join(dir, "timeseries.sql")
	q := fmt.Sprintf(`\set item random(1, %d)
SELECT date, source, forecast, actual, lower, upper, mape, model_version, dataset_id, generated_at
FROM gold.fact_forecast
WHERE item_id = 'FAM_ITEM ' || :item AND site_id = 'ALL'
  AND date BETWEEN '%s' AND '%s'
ORDER BY date, source;
`, nItems, end.AddDate(0, 0, -29).Format(time.DateOnly), end.Format(time.DateOnly))
	if err := os.WriteFile(script, []byte(q), 0o644); err != nil {
		return 0, 0, err
	}
	cmd := exec.Command("pgbench", "-n", "-c", "16", "-j", "2", "-t", "500", "-M", "prepared", "-l",
		"--log-prefix", filepath.Join(dir, "lat"), "-f", script, url)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("pgbench: %w: %s", err, out)
	}
	var tps float64
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "tps = ") {
			fmt.Sscanf(strings.TrimPrefix(line, "tps = "), "%f", &tps)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "lat*"))
	var lat []float64
	for _, l := range logs {
		f, err := os.Open(l)
		if err != nil {
			return 0, 0, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 3 {
				us, err := strconv.ParseFloat(fields[2], 64)
				if err == nil {
					lat = append(lat, us/1000)
				}
			}
		}
		f.Close()
	}
	if len(lat) == 0 {
		return 0, 0, fmt.Errorf("pgbench wrote no latency log: %s", out)
	}
	sort.Float64s(lat)
	return lat[int(0.95*float64(len(lat)-1))], tps, nil
}
