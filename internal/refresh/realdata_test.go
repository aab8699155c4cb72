package refresh

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/realdata"
)

func readCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs[0], recs[1:]
}

func col(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if strings.TrimPrefix(h, "\ufeff") == name {
			return i
		}
	}
	t.Fatalf("no column %q in %v", name, header)
	return -1
}

func optFloat(s string) *float64 {
	if s == "" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil
	}
	return &f
}

func optDate(s string) *time.Time {
	if s == "" {
		return nil
	}
	d := day(s)
	return &d
}

// copyRows loads rows into a bronze table under a new loaded load.
func copyRows(t *testing.T, pool *pgxpool.Pool, source, file, table string, cols []string, rows [][]any) int64 {
	t.Helper()
	id := addLoad(t, pool, source, file, int64(len(rows)))
	for i := range rows {
		rows[i] = append(rows[i], id, int64(i+2))
	}
	cols = append(cols, "_load_id", "_line")
	if _, err := pool.CopyFrom(context.Background(), pgx.Identifier{"bronze", table}, cols, pgx.CopyFromRows(rows)); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return id
}

// TestRealData refreshes the company's real ERP export and ML outputs and
// compares every gold forecast figure with an independent Go computation.
func TestRealData(t *testing.T) {
	t.Parallel()
	erpPath := realdata.Path(t, "docs/proj/dadosSuprimentos/custo_de_material_e_servicos.csv")
	tsPath := realdata.Path(t, "data/outputs/nova_corrente/storytelling/storytelling_timeseries.csv")
	rxPath := realdata.Path(t, "data/outputs/nova_corrente/storytelling/storytelling_prescriptions.csv")
	fcDir := filepath.Dir(realdata.Path(t, "data/outputs/nova_corrente/forecasts/itemABRASIVOS_BATERIA_9V_site176.csv"))
	db := pgtest.New(t)
	gen := time.Date(2025, 11, 11, 0, 0, 0, 0, time.UTC)
	var ref refInput
	ref.Depot = map[string]string{}

	// ERP demand.
	h, recs := readCSV(t, erpPath)
	cDep, cCode, cMat, cFam, cQty, cDate := col(t, h, "DEPÓSITO"), col(t, h, "PRODUTO/SERVIÇO"), col(t, h, "MATERIAL"),
		col(t, h, "FAMÍLIA"), col(t, h, "QUANTIDADE"), col(t, h, "DATA SOLICITADO")
	var erp [][]any
	undated, undatedQty := 0, 0.0
	for _, r := range recs {
		q := optFloat(r[cQty])
		d := optDate(r[cDate])
		erp = append(erp, []any{nullStr(r[cDep]), r[cCode], r[cMat], r[cFam], q, d})
		if d == nil {
			undated++
			undatedQty += *q
			continue
		}
		ref.Demand = append(ref.Demand, demandLine{Item: strings.TrimSpace(r[cFam]) + "_" + strings.TrimSpace(r[cMat]),
			Depot: strings.TrimSpace(r[cDep]), Date: *d, Qty: *q})
	}
	copyRows(t, db.Pool, "erp_requisitions", filepath.Base(erpPath), "erp_requisitions",
		[]string{"deposito", "product_code", "material", "familia", "quantity", "solicited_date"}, erp)

	// Storytelling timeseries (item, site and depot explicit), source ensemble.
	h, recs = readCSV(t, tsPath)
	series := map[string][2]string{}
	var ts [][]any
	for i, r := range recs {
		item, site, dep, sk := r[col(t, h, "item_id")], r[col(t, h, "site_id")], r[col(t, h, "deposito")], r[col(t, h, "series_key")]
		f := optFloat(r[col(t, h, "forecast_qty")])
		a := optFloat(r[col(t, h, "actual_qty")])
		d := day(r[col(t, h, "ds")])
		series[sk] = [2]string{item, site}
		if dep != "" {
			ref.Depot[site] = dep
		}
		ts = append(ts, []any{item, site, nullStr(dep), sk, d, f, a, "storytelling-v1", gen, "ensemble", "nova_corrente"})
		ref.Forecasts = append(ref.Forecasts, resolvedFc{Item: item, Site: site, Source: "ensemble", Date: d, Forecast: *f,
			Actual: a, Generated: gen, Order: i})
	}
	copyRows(t, db.Pool, "ml_forecasts", filepath.Base(tsPath), "ml_forecasts",
		[]string{"item_id", "site_id", "deposito", "series_key", "date", "forecast", "actual", "model_version", "generated_at", "source", "dataset_id"}, ts)

	// Forecast files: item and site only in the file name (series key).
	files, err := filepath.Glob(filepath.Join(fcDir, "item*_site*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("forecast files: %v %v", files, err)
	}
	skRe := regexp.MustCompile(`^(item.+_site[^_]+)\.csv$`)
	fileRe := regexp.MustCompile(`^item(.+)_site(-?[0-9]+)$`)
	for _, p := range files {
		sk := skRe.FindStringSubmatch(filepath.Base(p))[1]
		is, ok := series[sk]
		if !ok {
			t.Fatalf("%s: series %s not in the storytelling file", p, sk)
		}
		h, recs := readCSV(t, p)
		var rows [][]any
		for i, r := range recs {
			f := optFloat(r[col(t, h, "forecast")])
			d := day(r[col(t, h, "ds")])
			// item_id and site_id from the file name, as the loader's filename_pattern gives them.
			m := fileRe.FindStringSubmatch(sk)
			rows = append(rows, []any{m[1], m[2], sk, d, f, optFloat(r[col(t, h, "lower")]), optFloat(r[col(t, h, "upper")]),
				"prophet-v1", gen, "prophet", "nova_corrente"})
			ref.Forecasts = append(ref.Forecasts, resolvedFc{Item: is[0], Site: is[1], Source: "prophet", Date: d, Forecast: *f,
				Generated: gen, Order: 1_000_000 + i})
		}
		copyRows(t, db.Pool, "ml_forecasts", filepath.Base(p), "ml_forecasts",
			[]string{"item_id", "site_id", "series_key", "date", "forecast", "lower", "upper", "model_version", "generated_at", "source", "dataset_id"}, rows)
	}

	// Prescriptions: inventory levels without a date.
	h, recs = readCSV(t, rxPath)
	var inv [][]any
	for _, r := range recs {
		inv = append(inv, []any{r[col(t, h, "item_id")], r[col(t, h, "site_id")], nullStr(r[col(t, h, "deposito")]),
			r[col(t, h, "series_key")], optFloat(r[col(t, h, "current_stock")]), optFloat(r[col(t, h, "safety_stock")]),
			optFloat(r[col(t, h, "reorder_point")]), optFloat(r[col(t, h, "days_to_rupture")]), r[col(t, h, "stock_status")],
			"rx-v1", gen, "prescriptive", "nova_corrente"})
	}
	copyRows(t, db.Pool, "inventory", filepath.Base(rxPath), "inventory",
		[]string{"item_id", "site_id", "deposito", "series_key", "current_stock", "safety_stock", "reorder_point",
			"days_to_rupture", "stock_status", "model_version", "generated_at", "source", "dataset_id"}, inv)

	res := run(t, db.Pool, false)
	t.Logf("refresh: %+v", res)
	compareGold(t, db.Pool, ref)

	ctx := context.Background()
	var items, master, multi, undatedRows int
	var undatedUnits float64
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE in_item_master),
		count(*) FILTER (WHERE cardinality(erp_product_codes) > 1) FROM gold.dim_item`).Scan(&items, &master, &multi); err != nil {
		t.Fatal(err)
	}
	if items != 874 || master != 874 || multi != 5 {
		t.Errorf("dim_item: %d items, %d in master, %d with several codes; want 874, 874, 5", items, master, multi)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT rows, quantity FROM silver.dropped_rows
		WHERE table_name = 'bronze.erp_requisitions' AND reason LIKE 'no DATA%'`).Scan(&undatedRows, &undatedUnits); err != nil {
		t.Fatal(err)
	}
	if undatedRows != undated || undatedUnits != undatedQty || undated != 19 || undatedQty != 42 {
		t.Errorf("undated demand: %d rows / %g units counted, file has %d / %g (expected 19 / 42)", undatedRows, undatedUnits, undated, undatedQty)
	}
	var invRows, allWithActual int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM gold.fact_inventory),
		(SELECT count(*) FROM gold.fact_forecast WHERE site_id = 'ALL' AND actual > 0)`).Scan(&invRows, &allWithActual); err != nil {
		t.Fatal(err)
	}
	if invRows != 15 || allWithActual == 0 {
		t.Errorf("fact_inventory %d rows (want 15 distinct series), item-level rows with demand %d (want > 0)", invRows, allWithActual)
	}
}
