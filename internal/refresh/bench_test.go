package refresh

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/benchdata"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/testload"
)

func benchEnv(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// writeFile writes a generated file into dir and returns its path.
func writeFile(b *testing.B, dir, name string, gen func(io.Writer) (int64, error)) string {
	b.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gen(f); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// The anchor of issue 17: bare CREATE TABLE AS statements of the same rows
// as the gold tables a full refresh builds, with the same windows, straight
// from bronze, each with its primary-key index, in bench/anchors (make
// bench-scale runs the same files): refresh_forecast.sql builds the
// forecast rows (site rows and item-level rows) with their 7- and 30-day
// calendar windows; refresh_demand.sql the demand rows, the supplier bridge
// and the rolling demand.
func anchorSQL(b *testing.B, name string) string {
	b.Helper()
	sql, err := os.ReadFile(filepath.Join("..", "..", "bench", "anchors", name))
	if err != nil {
		b.Fatal(err)
	}
	return string(sql)
}

// The steps of a full refresh that build the tables of each anchor.
var (
	forecastSteps = []string{TableFactForecast, TableAggRolling}
	demandSteps   = []string{TableFactDemand, TableFactDemandSupplier, TableAggDemandRolling}
)

// BenchmarkRefresh measures, on generated forecasts (benchdata: by default
// NOVAWH_BENCH_ITEMS=250 items x 2 sites x 730 days, 365,000 bronze rows,
// 547,500 gold rows; 4600 items give ~10M gold rows) with ERP demand for
// the actuals, loaded through the real loader:
//   - the full refresh against the anchor of issue 17, bare CREATE TABLE AS
//     statements of the same rows with the same windows plus their indexes
//     (the forecast tables and the demand tables), in the same run
//     (NOVAWH_BENCH_ROUNDS rounds of each, alternated, default 2; medians),
//     as a whole and per part (the refresh steps that build the forecast
//     tables against the forecast anchor, the demand steps against the
//     demand anchor);
//   - the incremental refresh after one new day of forecasts and ERP lines
//     lands as new files, against the full refresh;
//   - the dashboards' 30-day item timeseries query under pgbench (16
//     clients, p95 from the per-transaction log).
func BenchmarkRefresh(b *testing.B) {
	if os.Getenv("NOVAWH_BENCH") != "1" {
		b.Skip("set NOVAWH_BENCH=1 to run")
	}
	scale := benchdata.Scale{Items: benchEnv(b, "NOVAWH_BENCH_ITEMS", 250), Sites: 2, Days: 730, LinesPerItemDay: 0.2}.WithDefaults()
	rounds := benchEnv(b, "NOVAWH_BENCH_ROUNDS", 2)
	anchorForecastSQL, anchorDemandSQL, dropAnchorSQL := anchorSQL(b, "refresh_forecast.sql"), anchorSQL(b, "refresh_demand.sql"),
		anchorSQL(b, "refresh_drop.sql")
	ctx := context.Background()
	db := pgtest.New(b)
	dir := b.TempDir()
	t0 := time.Now()
	testload.Files(b, db.Pool, "ml_forecasts", writeFile(b, dir, "forecasts.csv",
		func(w io.Writer) (int64, error) { return benchdata.WriteForecasts(w, scale, 0, scale.Days) }))
	testload.Files(b, db.Pool, "erp_requisitions", writeFile(b, dir, "custo.csv",
		func(w io.Writer) (int64, error) { return benchdata.WriteERP(w, scale, 0, scale.Days) }))
	exec1(b, db.Pool, `VACUUM ANALYZE bronze.ml_forecasts, bronze.erp_requisitions`)
	b.Logf("loaded %d forecast rows (%d items x %d sites x %d days) and ERP demand in %s", scale.ForecastRows(0, scale.Days),
		scale.Items, scale.Sites, scale.Days, time.Since(t0).Round(time.Second))

	r := New(db.Pool, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if _, err := r.Run(ctx, Options{}); err != nil { // first build, warms the caches
		b.Fatal(err)
	}
	// Per round: the whole full refresh and the anchors, and the steps of
	// the refresh that build each anchor's tables.
	var fulls, anchors, fullF, fullD, anchorF, anchorD []float64
	var full Result
	b.ResetTimer()
	for i := 0; i < rounds; i++ {
		exec1(b, db.Pool, dropAnchorSQL)
		exec1(b, db.Pool, `CHECKPOINT`)
		a0 := time.Now()
		exec1(b, db.Pool, anchorForecastSQL)
		a1 := time.Now()
		exec1(b, db.Pool, anchorDemandSQL)
		anchorF = append(anchorF, a1.Sub(a0).Seconds())
		anchorD = append(anchorD, time.Since(a1).Seconds())
		anchors = append(anchors, time.Since(a0).Seconds())
		exec1(b, db.Pool, `CHECKPOINT`)
		steps := map[string]float64{}
		f0 := time.Now()
		res, err := r.Run(ctx, Options{Full: true, OnStep: func(s Step) {
			if s.Done {
				steps[s.Name] += s.Elapsed.Seconds()
			}
		}})
		if err != nil {
			b.Fatal(err)
		}
		fulls = append(fulls, time.Since(f0).Seconds())
		fullF = append(fullF, sumSteps(steps, forecastSteps))
		fullD = append(fullD, sumSteps(steps, demandSteps))
		full = res
		b.Logf("round %d: anchor (CTAS + index) %.2f s (forecast %.2f s, demand %.2f s), full refresh %.2f s (forecast steps %.2f s, demand steps %.2f s)",
			i+1, anchors[i], anchorF[i], anchorD[i], fulls[i], fullF[i], fullD[i])
	}
	b.StopTimer()
	anchorRows := map[string]int64{}
	// The anchor's tables are the ones refresh_drop.sql drops.
	for _, t := range regexp.MustCompile(`public\.\w+`).FindAllString(dropAnchorSQL, -1) {
		var n int64
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
			b.Fatal(err)
		}
		anchorRows[t] = n
	}
	exec1(b, db.Pool, dropAnchorSQL)
	b.Logf("full refresh rows: %v (anchor rows %v)", full.Rows, anchorRows)
	exec1(b, db.Pool, `VACUUM ANALYZE gold.fact_forecast, gold.fact_demand, gold.agg_demand_rolling`)

	// One new day of forecasts and ERP lines lands as new files.
	testload.Files(b, db.Pool, "ml_forecasts", writeFile(b, dir, "forecasts_next.csv",
		func(w io.Writer) (int64, error) { return benchdata.WriteForecasts(w, scale, scale.Days, scale.Days+1) }))
	testload.Files(b, db.Pool, "erp_requisitions", writeFile(b, dir, "custo_next.csv",
		func(w io.Writer) (int64, error) { return benchdata.WriteERP(w, scale, scale.Days, scale.Days+1) }))
	b.StartTimer()
	i0 := time.Now()
	inc, err := r.Run(ctx, Options{})
	if err != nil {
		b.Fatal(err)
	}
	incDur := time.Since(i0).Seconds()
	b.StopTimer()
	b.Logf("incremental refresh after one new day: %.2f s, forecast window %s, rows %v", incDur, inc.Forecast, inc.Rows)

	p95, tps, err := pgbenchTimeseries(b, db.URL, scale, scale.Day(scale.Days))
	if err != nil {
		b.Fatal(err)
	}
	fullMed, anchorMed := median(fulls), median(anchors)
	ratio, incRatio := fullMed/anchorMed, 100*incDur/fullMed
	ratioF, ratioD := median(fullF)/median(anchorF), median(fullD)/median(anchorD)
	b.Logf("30-day timeseries query, pgbench 16 clients: p95 %.3f ms, %.0f tps", p95, tps)
	b.Logf("full refresh %.2f s / anchor CTAS %.2f s = %.2f (goal <= 1.5) %s", fullMed, anchorMed, ratio, verdict(ratio <= 1.5))
	// Each part against its own anchor, with the same goal: a fast part
	// must not hide a slow one in the whole ratio.
	b.Logf("  forecast part: steps %s %.2f s / forecast CTAS %.2f s = %.2f (goal <= 1.5) %s", strings.Join(forecastSteps, " + "),
		median(fullF), median(anchorF), ratioF, verdict(ratioF <= 1.5))
	b.Logf("  demand part: steps %s %.2f s / demand CTAS %.2f s = %.2f (goal <= 1.5) %s", strings.Join(demandSteps, " + "),
		median(fullD), median(anchorD), ratioD, verdict(ratioD <= 1.5))
	b.Logf("incremental/full = %.2f%% (goal <= 1%%) %s", incRatio, verdict(incRatio <= 1))
	b.ReportMetric(fullMed, "full-s")
	b.ReportMetric(anchorMed, "ctas-s")
	b.ReportMetric(ratio, "full/ctas")
	b.ReportMetric(ratioF, "forecast/ctas")
	b.ReportMetric(ratioD, "demand/ctas")
	b.ReportMetric(incDur, "incremental-s")
	b.ReportMetric(incRatio, "incr/full-%")
	b.ReportMetric(p95, "query-p95-ms")
	b.ReportMetric(float64(full.Rows[TableFactForecast]), "gold-rows")
}

// BenchmarkRefreshDemand measures, on generated ERP demand (benchdata:
// NOVAWH_BENCH_DEMAND_ITEMS=3000 items x 1096 days x ~0.9 lines, ~3M lines,
// at 6 depots, loaded through the real loader), the incremental refresh
// after one new day of ERP lines lands as a new file, against a full
// rebuild in the same run (issue 12: goal <= 1%).
func BenchmarkRefreshDemand(b *testing.B) {
	if os.Getenv("NOVAWH_BENCH") != "1" {
		b.Skip("set NOVAWH_BENCH=1 to run")
	}
	scale := benchdata.Scale{Items: benchEnv(b, "NOVAWH_BENCH_DEMAND_ITEMS", 3000), Sites: 6, Days: 1096}.WithDefaults()
	ctx := context.Background()
	db := pgtest.New(b)
	dir := b.TempDir()
	t0 := time.Now()
	res := testload.Files(b, db.Pool, "erp_requisitions", writeFile(b, dir, "custo_de_material_e_servicos.csv",
		func(w io.Writer) (int64, error) { return benchdata.WriteERP(w, scale, 0, scale.Days) }))
	exec1(b, db.Pool, `VACUUM ANALYZE bronze.erp_requisitions`)
	b.Logf("loaded %d ERP lines (%d items x %d days) in %s", res[0].RowsLoaded, scale.Items, scale.Days, time.Since(t0).Round(time.Second))

	r := New(db.Pool, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if _, err := r.Run(ctx, Options{}); err != nil {
		b.Fatal(err)
	}
	exec1(b, db.Pool, `CHECKPOINT`)
	b.ResetTimer()
	f0 := time.Now()
	full, err := r.Run(ctx, Options{Full: true})
	if err != nil {
		b.Fatal(err)
	}
	fullDur := time.Since(f0).Seconds()
	b.StopTimer()
	b.Logf("full refresh: %.2f s, rows %v", fullDur, full.Rows)
	exec1(b, db.Pool, `VACUUM ANALYZE gold.fact_demand, gold.fact_demand_supplier, gold.agg_demand_rolling`)

	testload.Files(b, db.Pool, "erp_requisitions", writeFile(b, dir, "custo_next_day.csv",
		func(w io.Writer) (int64, error) { return benchdata.WriteERP(w, scale, scale.Days, scale.Days+1) }))
	b.StartTimer()
	i0 := time.Now()
	inc, err := r.Run(ctx, Options{})
	if err != nil {
		b.Fatal(err)
	}
	incDur := time.Since(i0).Seconds()
	b.StopTimer()
	ratio := 100 * incDur / fullDur
	b.Logf("incremental refresh after one new day of ERP lines: %.2f s, demand window %s, rows %v", incDur, inc.Demand, inc.Rows)
	b.Logf("incremental/full = %.2f%% (goal <= 1%%) %s", ratio, verdict(ratio <= 1))
	b.ReportMetric(fullDur, "full-s")
	b.ReportMetric(incDur, "incremental-s")
	b.ReportMetric(ratio, "incr/full-%")
	b.ReportMetric(float64(res[0].RowsLoaded), "erp-lines")
}

func exec1(b *testing.B, pool *pgxpool.Pool, q string, args ...any) {
	b.Helper()
	if _, err := pool.Exec(context.Background(), q, args...); err != nil {
		b.Fatalf("%.80s: %v", q, err)
	}
}

// sumSteps adds the durations of the named steps.
func sumSteps(steps map[string]float64, names []string) float64 {
	var t float64
	for _, n := range names {
		t += steps[n]
	}
	return t
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func verdict(ok bool) string {
	if ok {
		return "(met)"
	}
	return "(NOT met)"
}

// pgbenchTimeseries runs the API's 30-day item timeseries query (GetTimeseries
// shape: gold.fact_forecast, site_id = 'ALL') for random items and returns
// the p95 latency in ms and the throughput.
func pgbenchTimeseries(b *testing.B, url string, s benchdata.Scale, end time.Time) (float64, float64, error) {
	dir := b.TempDir()
	script := filepath.Join(dir, "timeseries.sql")
	q := fmt.Sprintf(`\set item random(0, %d)
SELECT date, source, forecast, actual, lower, upper, mape, model_version, dataset_id, generated_at
FROM gold.fact_forecast
WHERE item_id = 'FAM' || (:item %% 40) || '_MATERIAL ' || lpad(:item::text, 5, '0') AND site_id = 'ALL'
  AND date BETWEEN '%s' AND '%s'
ORDER BY date, source;
`, s.Items-1, end.AddDate(0, 0, -29).Format(time.DateOnly), end.Format(time.DateOnly))
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
