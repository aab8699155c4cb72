package export

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/registry"
	"github.com/novacorrente/novawh/internal/testbin"
)

// benchSeedSQL generates gold.fact_forecast rows shaped like the real ML
// output: full-precision doubles (lower/upper derived from the forecast),
// mostly NULL integer actuals, long item keys, numeric site ids, a few
// model versions, datasets and loads.
const benchSeedSQL = `
SELECT setseed(0.42);
INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, actual, lower, upper,
                                model_version, generated_at, dataset_id, mape, load_id, created_at)
SELECT d, 'FAMILIA_' || (i % 40) || '_MATERIAL ' || i, (s * 7)::text, src,
       f, CASE WHEN random() < 0.7 THEN NULL ELSE floor(random() * 6) END, f * 0.8, f * 1.2,
       'prophet-1.' || extract(month FROM d), timestamptz '2025-06-01 12:00:00+00' + extract(month FROM d)::int * interval '1 day',
       'nova-ds-' || extract(month FROM d), random(), 1000 + extract(month FROM d)::int,
       timestamptz '2025-06-02 00:00:00+00' + extract(doy FROM d)::int * interval '1 hour'
FROM generate_series(@first::date, @last::date, interval '1 day') g(d),
     generate_series(1, @items) i, generate_series(1, @sites) s, unnest(ARRAY['arima', 'xgboost']) src,
     LATERAL (SELECT random() * 10 + (i % 7) + 0 * s + 0 * extract(doy FROM d) + length(src) * 0 AS f) r;
`

// BenchmarkExport measures (issue 17, goal 2), on ~0.5 million
// gold.fact_forecast rows over two years (NOVAWH_BENCH_ROWS=10000000 for
// the 10M scale): a full export by the novawh binary against psql reading
// the same rows and columns (\copy (SELECT <the exported columns> FROM gold.fact_forecast) TO '/dev/null'),
// an incremental export after one new day, the Parquet bytes against the
// same rows as CSV, and the exporter's peak RSS, each next to its goal.
// NOVAWH_BENCH_PARTITION forces a grain (default auto, the file-size rule);
// NOVAWH_BENCH_PAIRS (default 3) is the number of alternated psql/export
// pairs whose median ratio is reported.
// Run with NOVAWH_BENCH=1 (make bench).
func BenchmarkExport(b *testing.B) {
	if os.Getenv("NOVAWH_BENCH") != "1" {
		b.Skip("set NOVAWH_BENCH=1 to run (make bench)")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		b.Fatal("psql is needed for the baseline: ", err)
	}
	rowsWanted := 500_000
	if v := os.Getenv("NOVAWH_BENCH_ROWS"); v != "" {
		if rowsWanted, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	partBy := "auto"
	pairs := 3
	if v := os.Getenv("NOVAWH_BENCH_PAIRS"); v != "" {
		if pairs, err = strconv.Atoi(v); err != nil || pairs < 1 {
			b.Fatalf("NOVAWH_BENCH_PAIRS=%q", v)
		}
	}
	if v := os.Getenv("NOVAWH_BENCH_PARTITION"); v != "" {
		partBy = v
	}
	ctx := context.Background()
	bin := testbin.Path(b)
	db, err := pgtest.NewE(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Drop(ctx)

	// Two years of daily forecasts from two models per series, as in the
	// issue (500 series x 730 days); series are items x sites.
	const days, sources = 730, 2
	series := max(1, rowsWanted/(days*sources))
	sites := max(1, series/100)
	items := max(1, series/sites)
	first := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	gen := func(from, to time.Time) {
		sql := strings.NewReplacer("@first", "'"+from.Format(time.DateOnly)+"'", "@last", "'"+to.Format(time.DateOnly)+"'",
			"@items", strconv.Itoa(items), "@sites", strconv.Itoa(sites)).Replace(benchSeedSQL)
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	gen(first, first.AddDate(0, 0, days-1))
	// Hint bits and the visibility map are set once, for both readers.
	if _, err := db.Pool.Exec(ctx, "VACUUM ANALYZE gold.fact_forecast"); err != nil {
		b.Fatal(err)
	}
	var nrows int64
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM gold.fact_forecast").Scan(&nrows); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d gold.fact_forecast rows (%d days x %d items x %d sites x %d sources) in %s",
		nrows, days, items, sites, sources, time.Since(start).Round(time.Second))

	// The columns the export writes (the registry's, but the rolling ones
	// gold.agg_forecast_rolling exports).
	reg, err := registry.Default()
	if err != nil {
		b.Fatal(err)
	}
	ft, _ := reg.Table("gold", "fact_forecast")
	var exported []string
	for _, c := range ft.Columns {
		if c.Exported() {
			exported = append(exported, c.Name)
		}
	}
	selectAll := "SELECT " + strings.Join(exported, ", ") + " FROM gold.fact_forecast"
	psqlRead := func(to string) time.Duration {
		t0 := time.Now()
		out, err := exec.Command(psql, db.URL, "-X", "-q", "-c", `\copy (`+selectAll+`) TO '`+to+`'`).CombinedOutput()
		if err != nil {
			b.Fatalf("psql: %v\n%s", err, out)
		}
		return time.Since(t0)
	}
	var csvBytes countingWriter
	csvCmd := exec.Command(psql, db.URL, "-X", "-q", "-c", `\copy (`+selectAll+`) TO STDOUT (FORMAT csv, HEADER)`)
	var csvErr strings.Builder
	csvCmd.Stdout, csvCmd.Stderr = &csvBytes, &csvErr
	if err := csvCmd.Run(); err != nil {
		b.Fatalf("psql csv: %v\n%s", err, csvErr.String())
	}

	dir := filepath.Join(b.TempDir(), "exports")
	// export returns the wall time, the peak RSS and the CPU time (user +
	// system) of the novawh process: the CPU per row is what the load of
	// the shared cores does not change much.
	export := func(args ...string) (time.Duration, int64, time.Duration, Result) {
		cmd := novawhExport(bin, db.URL, append([]string{"--to", dir, "--tables", "fact_forecast", "--partition-by", partBy, "--json"}, args...)...)
		t0 := time.Now()
		out, err := cmd.Output()
		wall := time.Since(t0)
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			b.Fatalf("novawh export: %v\n%s", err, stderr)
		}
		var res Result
		if err := json.Unmarshal(out, &res); err != nil {
			b.Fatalf("novawh export --json: %v\n%s", err, out)
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024 // KiB on Linux
		return wall, rss, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), res
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate the two readers and take the median of the pairs' ratios:
		// one slow or lucky run on shared cores must not decide.
		psqlRead("/dev/null") // warm the cache for both readers
		var ratios, psqlWalls, fullWalls, fullCPUs []float64
		var fullRSS int64
		var full Result
		for p := 0; p < pairs; p++ {
			pw := psqlRead("/dev/null")
			fw, rss, cpu, res := export("--full")
			ratios = append(ratios, fw.Seconds()/pw.Seconds())
			fullCPUs = append(fullCPUs, cpu.Seconds())
			psqlWalls, fullWalls = append(psqlWalls, pw.Seconds()), append(fullWalls, fw.Seconds())
			fullRSS, full = max(fullRSS, rss), res
		}
		psqlWall, fullWall, fullCPU := median(psqlWalls), median(fullWalls), median(fullCPUs)
		// One new day: rows, then the change log row a refresh would write.
		next := first.AddDate(0, 0, days)
		gen(next, next)
		if _, err := db.Pool.Exec(ctx, `INSERT INTO meta.gold_changes (table_name, date_from, date_to) VALUES ('gold.fact_forecast', $1, $1)`,
			next.Format(time.DateOnly)); err != nil {
			b.Fatal(err)
		}
		incWall, incRSS, _, inc := export()
		if tr := inc.Tables[0]; tr.Mode != "incremental" || tr.FilesWritten < 1 {
			b.Fatalf("incremental export: %+v", tr)
		}
		m := readManifest(b, dir, "fact_forecast")
		pqBytes := full.BytesWritten
		b.StopTimer()
		if _, err := db.Pool.Exec(ctx, `DELETE FROM gold.fact_forecast WHERE date = $1`, next.Format(time.DateOnly)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		ratio := median(ratios)
		incRatio := incWall.Seconds() / fullWall
		sizeRatio := float64(pqBytes) / float64(csvBytes.n)
		peak := max(fullRSS, incRSS)
		const rssGoal = 256 << 20
		b.ReportMetric(float64(nrows), "rows")
		b.ReportMetric(psqlWall, "psql_read_s")
		b.ReportMetric(fullWall, "full_export_s")
		b.ReportMetric(fullCPU, "full_export_cpu_s")
		b.ReportMetric(ratio, "full/psql")
		b.ReportMetric(incWall.Seconds(), "incremental_s")
		b.ReportMetric(incRatio, "incremental/full")
		b.ReportMetric(sizeRatio, "parquet/csv")
		b.ReportMetric(float64(peak)/(1<<20), "peak_rss_MiB")
		b.Logf("rows %d (%d days x %d items x %d sites x %d sources), --partition-by %s: %s, %d files (%s), row groups of at most %d rows",
			nrows, days, items, sites, sources, partBy, m.PartitionBy, len(m.Files), m.PartitionRule, DefaultRowGroupRows)
		b.Logf("psql \\copy (%s) TO /dev/null %8.2f s (median of %d)", selectAll, psqlWall, pairs)
		b.Logf("full export           %8.2f s  = %.2fx psql, median of %d alternated pairs %s (goal <= 1.0x) %s",
			fullWall, ratio, pairs, fmtRatios(ratios), verdict(ratio <= 1.0))
		b.Logf("full export CPU       %8.2f s  (user + system of the novawh process, median of %d; %.2f us per row)",
			fullCPU, pairs, 1e6*fullCPU/float64(nrows))
		b.Logf("incremental (1 day)   %8.2f s  = %.1f%% of full (it rewrites the partition of the new day: %d files)",
			incWall.Seconds(), 100*incRatio, inc.FilesWritten)
		b.Logf("Parquet %d bytes, CSV %d bytes = %.3fx (goal <= 0.25x) %s", pqBytes, csvBytes.n, sizeRatio, verdict(sizeRatio <= 0.25))
		b.Logf("peak RSS full %.1f MiB, incremental %.1f MiB (goal <= 256 MiB whatever the size) %s",
			float64(fullRSS)/(1<<20), float64(incRSS)/(1<<20), verdict(peak <= rssGoal))
		b.Logf("full: %s", fmt.Sprintf("%d files, %d rows, %d bytes", full.FilesWritten, full.RowsWritten, full.BytesWritten))
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtRatios(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
