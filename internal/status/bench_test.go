package status

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// BenchmarkStatus measures novawh status (Collect) on a database holding
// NOVAWH_BENCH_ROWS (default 10 million) gold.fact_forecast rows and a
// tenth as many bronze.ml_forecasts rows (which the silver views read),
// against the way status counted before (count(*) of every table and view,
// --exact here), in the same run. Goal: under 1 s. Run with NOVAWH_BENCH=1
// (make bench).
func BenchmarkStatus(b *testing.B) {
	if os.Getenv("NOVAWH_BENCH") != "1" {
		b.Skip("set NOVAWH_BENCH=1 to run (make bench)")
	}
	rows := 10_000_000
	if v := os.Getenv("NOVAWH_BENCH_ROWS"); v != "" {
		var err error
		if rows, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	db := pgtest.New(b)
	seed := time.Now()
	// Items x sites x days x 2 sources = rows.
	days := 365
	items := max(rows/(days*2*10), 1)
	if _, err := db.Pool.Exec(ctx, `INSERT INTO meta.loads (load_id, source, file_name, file_sha256, status)
		VALUES (1, 'ml_forecasts', 'bench.csv', 'bench', 'loaded')`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, model_version, generated_at, dataset_id, load_id)
		SELECT date '2025-01-01' + d, 'ITEM_' || i, s::text, src, random() * 10, 'v1', timestamptz '2025-06-01 00:00:00Z', 'bench', 1
		FROM generate_series(0, $1::int - 1) d, generate_series(1, $2::int) i, generate_series(1, 10) s, unnest(ARRAY['arima', 'xgboost']) src`,
		days, items); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO bronze.ml_forecasts (item_id, site_id, date, forecast, model_version, generated_at, source, dataset_id, _load_id, _line)
		SELECT 'ITEM_' || (g % 1000), (g % 10)::text, date '2025-01-01' + (g % 365), random() * 10, 'v1', timestamptz '2025-06-01 00:00:00Z', 'arima', 'bench', 1, g
		FROM generate_series(1, $1::int) g`, rows/10); err != nil {
		b.Fatal(err)
	}
	var n int64
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM gold.fact_forecast").Scan(&n); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d gold.fact_forecast rows and %d bronze.ml_forecasts rows in %s", n, rows/10, time.Since(seed).Round(time.Second))
	measure := func(opts Options) time.Duration {
		start := time.Now()
		if _, err := Collect(ctx, db.Pool, opts); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	measure(Options{}) // warm the catalog caches
	b.ResetTimer()
	var fast, exact time.Duration
	for i := 0; i < b.N; i++ {
		fast = measure(Options{})
		exact = measure(Options{Exact: true, CountTimeout: 5 * time.Minute})
	}
	b.StopTimer()
	ratio := exact.Seconds() / fast.Seconds()
	b.ReportMetric(float64(n), "rows")
	b.ReportMetric(float64(fast.Milliseconds()), "status_ms")
	b.ReportMetric(float64(exact.Milliseconds()), "exact_count_ms")
	b.ReportMetric(ratio, "exact/status")
	verdict := "MET"
	if fast >= time.Second {
		verdict = "NOT MET"
	}
	b.Logf("novawh status                     %8d ms (goal < 1000 ms) %s", fast.Milliseconds(), verdict)
	b.Logf("count(*) of every table and view  %8d ms (before: status counted this way) = %.1fx slower", exact.Milliseconds(), ratio)
}
