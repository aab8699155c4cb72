package load

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/realdata"
)

// readCSV parses a file with encoding/csv (independently of the loader).
func readCSV(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return all[0], all[1:]
}

func col(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if strings.TrimPrefix(h, "\uFEFF") == name {
			return i
		}
	}
	t.Fatalf("no column %s in %v", name, header)
	return -1
}

func TestRealERP(t *testing.T) {
	t.Parallel()
	path := realdata.Path(t, "docs", "proj", "dadosSuprimentos", "custo_de_material_e_servicos.csv")
	header, rows := readCSV(t, path)
	var blankDep, blankSolicited int64
	var qty, qtyNoDate float64
	codes := map[string]bool{}
	iDep, iCode, iQty, iSol := col(t, header, "DEPÓSITO"), col(t, header, "PRODUTO/SERVIÇO"), col(t, header, "QUANTIDADE"), col(t, header, "DATA SOLICITADO")
	for _, r := range rows {
		q, err := strconv.ParseFloat(r[iQty], 64)
		if err != nil {
			t.Fatal(err)
		}
		qty += q
		if r[iDep] == "" {
			blankDep++
		}
		if r[iSol] == "" {
			blankSolicited++
			qtyNoDate += q
		}
		codes[r[iCode]] = true
	}

	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	ctx := context.Background()
	res, err := l.LoadPaths(ctx, "erp_requisitions", []string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Status != "loaded" || r.RowsRead != int64(len(rows)) || r.RowsLoaded != int64(len(rows)) || r.RowsRejected != 0 {
		t.Fatalf("%+v, want every one of %d rows loaded", r, len(rows))
	}
	checkLedger(t, db.Pool, "bronze.erp_requisitions", r)
	var n, nDep, nSol, nCodes int64
	var sum, sumNoDate float64
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE deposito IS NULL), count(*) FILTER (WHERE solicited_date IS NULL),
		sum(quantity), coalesce(sum(quantity) FILTER (WHERE solicited_date IS NULL), 0), count(DISTINCT product_code)
		FROM bronze.erp_requisitions WHERE _load_id = $1`, r.LoadID).Scan(&n, &nDep, &nSol, &sum, &sumNoDate, &nCodes); err != nil {
		t.Fatal(err)
	}
	if n != int64(len(rows)) || nDep != blankDep || nSol != blankSolicited || math.Abs(sum-qty) > 1e-6 || sumNoDate != qtyNoDate || nCodes != int64(len(codes)) {
		t.Errorf("bronze: %d rows, %d blank depot, %d without date (%v units), sum %v, %d codes; file: %d, %d, %d (%v), %v, %d",
			n, nDep, nSol, sumNoDate, sum, nCodes, len(rows), blankDep, blankSolicited, qtyNoDate, qty, len(codes))
	}
	// Product codes keep their leading zeros.
	if got := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.erp_requisitions WHERE _load_id = $1 AND product_code = '010825'`, r.LoadID); got == 0 {
		t.Error("product code 010825 lost its leading zero")
	}
	// Same file again: skipped; --force: loaded again.
	res, _ = l.LoadPaths(ctx, "erp_requisitions", []string{path}, Options{})
	if res[0].Status != "skipped" {
		t.Errorf("second load: %+v", res[0])
	}
	res, _ = l.LoadPaths(ctx, "erp_requisitions", []string{path}, Options{Force: true})
	if res[0].Status != "loaded" || res[0].RowsLoaded != int64(len(rows)) {
		t.Errorf("forced load: %+v", res[0])
	}
}

func TestRealForecasts(t *testing.T) {
	t.Parallel()
	dir := realdata.Path(t, "data", "outputs", "nova_corrente", "forecasts")
	files, _ := filepath.Glob(filepath.Join(dir, "item*_site*.csv"))
	if len(files) != 10 {
		t.Fatalf("%d forecast files, want 10", len(files))
	}
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	ctx := context.Background()
	res, err := l.LoadPaths(ctx, "ml_forecasts", []string{filepath.Join(dir, "*.csv")}, Options{Meta: flagMeta})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 10 {
		t.Fatalf("%d results", len(res))
	}
	for i, r := range res {
		header, rows := readCSV(t, files[i])
		if r.File != files[i] || r.Status != "loaded" || r.RowsLoaded != int64(len(rows)) || r.RowsRejected != 0 {
			t.Errorf("%+v, want %s with %d rows", r, files[i], len(rows))
			continue
		}
		checkLedger(t, db.Pool, "bronze.ml_forecasts", r)
		stem := strings.TrimSuffix(filepath.Base(files[i]), ".csv")
		rest := strings.TrimPrefix(stem, "item")
		k := strings.LastIndex(rest, "_site")
		wantItem, wantSite := rest[:k], rest[k+len("_site"):]
		var sum float64
		iF := col(t, header, "forecast")
		for _, row := range rows {
			f, _ := strconv.ParseFloat(row[iF], 64)
			sum += f
		}
		var n int64
		var gotSum float64
		var key, item, site, mv, src, ds string
		var gen time.Time
		if err := db.Pool.QueryRow(ctx, `SELECT count(*), sum(forecast), min(series_key), min(item_id), min(site_id),
			min(model_version), min(source), min(dataset_id), min(generated_at)
			FROM bronze.ml_forecasts WHERE _load_id = $1`, r.LoadID).Scan(&n, &gotSum, &key, &item, &site, &mv, &src, &ds, &gen); err != nil {
			t.Fatal(err)
		}
		if n != int64(len(rows)) || math.Abs(gotSum-sum) > 1e-9 || key != stem || item != wantItem || site != wantSite {
			t.Errorf("%s: %d rows sum %v key %s item %s site %s; want %d, %v, %s, %s, %s", stem, n, gotSum, key, item, site, len(rows), sum, stem, wantItem, wantSite)
		}
		if mv != flagMeta.ModelVersion || src != flagMeta.Source || ds != flagMeta.DatasetID || !gen.Equal(genAt) {
			t.Errorf("%s: metadata %s %s %s %v", stem, mv, src, ds, gen)
		}
	}
	// Without metadata every file fails whole, naming the missing columns.
	res, _ = l.LoadPaths(ctx, "ml_forecasts", files[:1], Options{Force: true})
	if res[0].Status != "failed" || !strings.Contains(res[0].Error, "missing ML metadata columns model_version, generated_at, source, dataset_id") {
		t.Errorf("without metadata: %+v", res[0])
	}
}

func TestRealStorytelling(t *testing.T) {
	t.Parallel()
	csvPath := realdata.Path(t, "data", "outputs", "nova_corrente", "storytelling", "storytelling_timeseries.csv")
	pqPath := realdata.Path(t, "data", "outputs", "nova_corrente", "storytelling", "storytelling_timeseries.parquet")
	_, rows := readCSV(t, csvPath)
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	ctx := context.Background()
	res, err := l.LoadPaths(ctx, "ml_forecasts", []string{csvPath, pqPath}, Options{Meta: flagMeta})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != "loaded" || r.RowsLoaded != int64(len(rows)) || r.RowsRejected != 0 {
			t.Fatalf("%+v, want %d rows", r, len(rows))
		}
		checkLedger(t, db.Pool, "bronze.ml_forecasts", r)
	}
	// The CSV (converted from the Parquet file) and the Parquet file give
	// the same rows.
	diff := scalar[int64](t, db.Pool, `
		WITH c AS (SELECT series_key, item_id, site_id, deposito, date, forecast, lower, upper, actual, arima_forecast, xgboost_forecast, familia, category, region
		           FROM bronze.ml_forecasts WHERE _load_id = $1),
		     p AS (SELECT series_key, item_id, site_id, deposito, date, forecast, lower, upper, actual, arima_forecast, xgboost_forecast, familia, category, region
		           FROM bronze.ml_forecasts WHERE _load_id = $2)
		SELECT (SELECT count(*) FROM (SELECT * FROM c EXCEPT ALL SELECT * FROM p) x) + (SELECT count(*) FROM (SELECT * FROM p EXCEPT ALL SELECT * FROM c) y)`,
		res[0].LoadID, res[1].LoadID)
	if diff != 0 {
		t.Errorf("CSV and Parquet loads differ in %d rows", diff)
	}
	var item, site, dep, date string
	var fc float64
	if err := db.Pool.QueryRow(ctx, `SELECT item_id, site_id, deposito, date::text, forecast FROM bronze.ml_forecasts
		WHERE _load_id = $1 ORDER BY _line LIMIT 1`, res[1].LoadID).Scan(&item, &site, &dep, &date, &fc); err != nil {
		t.Fatal(err)
	}
	if item != "ABRASIVOS_BATERIA 9V" || site != "176" || dep != "STC" || date != "2025-04-09" || fc != 1.3075333333333332 {
		t.Errorf("first Parquet row: %s %s %s %s %v", item, site, dep, date, fc)
	}
	if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.ml_forecasts WHERE _load_id = ANY($1) AND
		(model_version <> $2 OR source <> $3 OR dataset_id <> $4 OR generated_at <> $5)`,
		[]int64{res[0].LoadID, res[1].LoadID}, flagMeta.ModelVersion, flagMeta.Source, flagMeta.DatasetID, genAt); n != 0 {
		t.Errorf("%d rows without the supplied ML metadata", n)
	}
}

func TestRealPrescriptions(t *testing.T) {
	t.Parallel()
	path := realdata.Path(t, "data", "outputs", "nova_corrente", "storytelling", "storytelling_prescriptions.csv")
	_, rows := readCSV(t, path)
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	ctx := context.Background()
	res, _ := l.LoadPaths(ctx, "inventory", []string{path}, Options{})
	if res[0].Status != "failed" || !strings.Contains(res[0].Error, "missing ML metadata columns model_version, generated_at, source, dataset_id") {
		t.Errorf("without metadata: %+v", res[0])
	}
	asOf := time.Date(2025, 11, 10, 0, 0, 0, 0, time.UTC)
	res, err := l.LoadPaths(ctx, "inventory", []string{path}, Options{Meta: flagMeta, AsOf: &asOf})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Status != "loaded" || r.RowsLoaded != int64(len(rows)) {
		t.Fatalf("%+v, want %d rows", r, len(rows))
	}
	checkLedger(t, db.Pool, "bronze.inventory", r)
	var dates []string
	var lead float64
	if err := db.Pool.QueryRow(ctx, `SELECT array_agg(DISTINCT date::text), max(lead_time_days) FROM bronze.inventory WHERE _load_id = $1`, r.LoadID).Scan(&dates, &lead); err != nil {
		t.Fatal(err)
	}
	if len(dates) != 1 || dates[0] != "2025-11-10" || lead <= 0 {
		t.Errorf("dates %v lead time %v", dates, lead)
	}
	// Without --as-of the date is generated_at's.
	res, _ = l.LoadPaths(ctx, "inventory", []string{path}, Options{Meta: flagMeta, Force: true})
	if d := scalar[string](t, db.Pool, `SELECT min(date)::text FROM bronze.inventory WHERE _load_id = $1`, res[0].LoadID); d != "2025-11-11" {
		t.Errorf("date from generated_at: %s", d)
	}
}
