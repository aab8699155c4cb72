package refresh

import (
	"context"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/realdata"
	"github.com/novacorrente/novawh/internal/testload"
)

// TestRealDataDemand loads the company's ERP export and storytelling
// timeseries through the real loader (novawh.yaml), refreshes, and checks
// gold demand against the CSV read independently (encoding/csv): item-level
// demand per (FAMÍLIA_MATERIAL, DATA SOLICITADO) for every item, the grand
// totals, every lead time, the suppliers' figures, and that the forecast's
// actual is the demand on every forecast row.
func TestRealDataDemand(t *testing.T) {
	t.Parallel()
	erpPath := realdata.Path(t, "docs/proj/dadosSuprimentos/custo_de_material_e_servicos.csv")
	tsPath := realdata.Path(t, "data/outputs/nova_corrente/storytelling/storytelling_timeseries.csv")
	db := pgtest.New(t)
	ctx := context.Background()
	testload.Files(t, db.Pool, "erp_requisitions", erpPath)
	testload.Files(t, db.Pool, "ml_forecasts", tsPath)
	res := run(t, db.Pool, false)
	if res.Coverage == nil || res.Coverage.From.Format(time.DateOnly) != "2024-10-09" || res.Coverage.To.Format(time.DateOnly) != "2025-10-24" {
		t.Errorf("ERP coverage %s, want 2024-10-09..2025-10-24", res.Coverage)
	}

	// The CSV, read on its own.
	h, recs := readCSV(t, erpPath)
	cFam, cMat, cQty, cDate, cBuy, cSup, cDep, cUnit := col(t, h, "FAMÍLIA"), col(t, h, "MATERIAL"), col(t, h, "QUANTIDADE"),
		col(t, h, "DATA SOLICITADO"), col(t, h, "DATA DE COMPRA"), col(t, h, "NOME FORNEC."), col(t, h, "DEPÓSITO"), col(t, h, "U.M.")
	type itemDay struct {
		Item string
		Date time.Time
	}
	want := map[itemDay]float64{}
	type leadKey struct {
		Item, Unit string
		Date       time.Time
	}
	type leadAcc struct {
		n, sum, max int
	}
	leads := map[leadKey]*leadAcc{}
	supLeads := map[string][]float64{}
	supLines := map[string]int{}
	var dated, undated float64
	negative := 0
	depots := map[string]bool{}
	for _, r := range recs {
		q := *optFloat(r[cQty])
		item := strings.TrimSpace(r[cFam]) + "_" + strings.TrimSpace(r[cMat])
		sup := supplierKey(r[cSup])
		supLines[sup]++
		depots[strings.TrimSpace(r[cDep])] = true
		d := optDate(r[cDate])
		if d == nil {
			undated += q
			continue
		}
		dated += q
		want[itemDay{item, *d}] += q
		if b := optDate(r[cBuy]); b != nil {
			days := int(b.Sub(*d).Hours() / 24)
			if days < 0 {
				negative++
				continue
			}
			k := leadKey{item, strings.TrimSpace(r[cUnit]), *d}
			a := leads[k]
			if a == nil {
				a = &leadAcc{max: -1}
				leads[k] = a
			}
			a.n++
			a.sum += days
			a.max = max(a.max, days)
			supLeads[sup] = append(supLeads[sup], float64(days))
		}
	}
	if math.Abs(dated-207641.56) > 1e-6 || undated != 42 || negative != 275 {
		t.Fatalf("the CSV itself: %.2f dated + %.2f undated units, %d purchases before the request; want 207641.56 + 42.00, 275", dated, undated, negative)
	}

	// Item-level demand per day, every item and day.
	rows, err := db.Pool.Query(ctx, `SELECT item_id, date, sum(quantity) FROM gold.fact_demand WHERE site_id = 'ALL' GROUP BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[itemDay]float64{}
	for rows.Next() {
		var k itemDay
		var q float64
		if err := rows.Scan(&k.Item, &k.Date, &q); err != nil {
			t.Fatal(err)
		}
		got[k] = q
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	bad := 0
	items := map[string]bool{}
	for k, w := range want {
		items[k.Item] = true
		if g, ok := got[k]; !ok || !near(g, w) {
			if bad++; bad <= 5 {
				t.Errorf("demand of %q on %s: gold %v (present %v), CSV %v", k.Item, k.Date.Format(time.DateOnly), g, ok, w)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("gold has %d item-days of demand, the CSV %d", len(got), len(want))
	}
	var goldDated, goldUndated float64
	var goldItems, sites int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT sum(quantity) FROM gold.fact_demand WHERE site_id = 'ALL'),
		(SELECT sum(quantity) FROM gold.fact_demand WHERE site_id <> 'ALL'),
		(SELECT count(DISTINCT item_id) FROM gold.fact_demand),
		(SELECT quantity FROM silver.dropped_rows WHERE table_name = 'bronze.erp_requisitions' AND reason LIKE 'no DATA%'),
		(SELECT count(*) FROM gold.dim_site s WHERE s.site_id <> 'ALL')`).Scan(&goldDated, new(float64), &goldItems, &goldUndated, &sites); err != nil {
		t.Fatal(err)
	}
	if math.Abs(goldDated-207641.56) > 1e-6 || goldUndated != 42 || goldItems != len(items) {
		t.Errorf("gold: %.2f dated units of %d items, %.2f undated; want 207641.56 of %d items, 42.00", goldDated, goldItems, goldUndated, len(items))
	}
	// Every depot is a site (the blank one included, as site -1); the ML
	// sites keep their ids.
	if sites != len(depots) {
		t.Errorf("gold.dim_site has %d sites besides ALL, the export %d depots", sites, len(depots))
	}
	var stc string
	if err := db.Pool.QueryRow(ctx, `SELECT site_id FROM silver.site_map WHERE deposito = 'STC'`).Scan(&stc); err != nil || stc != "176" {
		t.Errorf("depot STC is site %q (%v), want the ML site 176", stc, err)
	}

	// Lead times of every (item, unit, day), item level.
	rows, err = db.Pool.Query(ctx, `SELECT item_id, unit, date, lead_time_lines, lead_time_days_avg, lead_time_days_max
		FROM gold.fact_demand WHERE site_id = 'ALL' AND lead_time_lines > 0`)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		var k leadKey
		var n, mx int
		var avg float64
		if err := rows.Scan(&k.Item, &k.Unit, &k.Date, &n, &avg, &mx); err != nil {
			t.Fatal(err)
		}
		seen++
		w := leads[k]
		if w == nil || w.n != n || w.max != mx || !near(avg, float64(w.sum)/float64(w.n)) {
			if bad++; bad <= 10 {
				t.Errorf("lead time of %+v: gold %d lines avg %v max %d, CSV %+v", k, n, avg, mx, w)
			}
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if seen != len(leads) {
		t.Errorf("gold has lead times on %d item-days, the CSV %d", seen, len(leads))
	}

	// Suppliers: every one, with the median and p90 of its lead times.
	rows, err = db.Pool.Query(ctx, `SELECT supplier, lines, lead_time_days_median, lead_time_days_p90 FROM gold.dim_supplier`)
	if err != nil {
		t.Fatal(err)
	}
	nsup := 0
	for rows.Next() {
		var s string
		var lines int
		var med, p90 *float64
		if err := rows.Scan(&s, &lines, &med, &p90); err != nil {
			t.Fatal(err)
		}
		nsup++
		var wm, wp *float64
		if l := supLeads[s]; len(l) > 0 {
			sort.Float64s(l)
			wm, wp = fp(percentile(l, 0.5)), fp(percentile(l, 0.9))
		}
		if lines != supLines[s] || !closeP(med, wm) || !closeP(p90, wp) {
			if bad++; bad <= 15 {
				t.Errorf("supplier %q: gold %d lines median %v p90 %v, CSV %d lines median %v p90 %v", s, lines, fmtP(med), fmtP(p90),
					supLines[s], fmtP(wm), fmtP(wp))
			}
		}
	}
	if nsup != len(supLines) || nsup != 472 {
		t.Errorf("gold.dim_supplier has %d suppliers, the CSV %d (want 472)", nsup, len(supLines))
	}
	checkActualIsDemand(t, db.Pool)
}

// checkActualIsDemand asserts that every gold.fact_forecast row whose ML
// file gives no actual has the demand of gold.fact_demand as its actual:
// the site's (its depot's site; site -1 the blank depot's), or the item's
// for site_id 'ALL', summed over units; 0 inside the ERP coverage without
// demand, NULL outside it or for a site without a depot.
func checkActualIsDemand(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var rows, mismatched int
	var first *string
	err := pool.QueryRow(context.Background(), `
		WITH dem AS (SELECT date, item_id, site_id, sum(quantity) AS q FROM gold.fact_demand GROUP BY 1, 2, 3),
		cov AS (SELECT min(date) AS lo, max(date) AS hi FROM gold.fact_demand),
		site AS (SELECT s.site_id, CASE WHEN s.site_id = 'ALL' OR s.site_id = '-1' THEN s.site_id
		                                WHEN s.deposito IS NOT NULL THEN m.site_id END AS demand_site
		         FROM gold.dim_site s LEFT JOIN silver.site_map m ON m.deposito = s.deposito),
		own AS (SELECT DISTINCT date, item_id, source FROM silver.stg_forecasts WHERE actual IS NOT NULL),
		cmp AS (
		    SELECT f.date, f.item_id, f.site_id, f.source, f.actual,
		           coalesce(d.q, CASE WHEN s.demand_site IS NOT NULL AND f.date BETWEEN cov.lo AND cov.hi THEN 0 END) AS demand
		    FROM gold.fact_forecast f
		    CROSS JOIN cov
		    LEFT JOIN site s ON s.site_id = f.site_id
		    LEFT JOIN dem d ON d.date = f.date AND d.item_id = f.item_id AND d.site_id = s.demand_site
		    WHERE NOT EXISTS (SELECT 1 FROM own o WHERE o.date = f.date AND o.item_id = f.item_id AND o.source = f.source))
		SELECT count(*), count(*) FILTER (WHERE (actual IS NULL) <> (demand IS NULL) OR abs(actual - demand) > 1e-9 * greatest(1, abs(demand))),
		       min(format('%s %s site %s %s: actual %s, demand %s', date, item_id, site_id, source, actual, demand))
		           FILTER (WHERE (actual IS NULL) <> (demand IS NULL) OR abs(actual - demand) > 1e-9 * greatest(1, abs(demand)))
		FROM cmp`).Scan(&rows, &mismatched, &first)
	if err != nil {
		t.Fatal(err)
	}
	if rows == 0 || mismatched != 0 {
		t.Errorf("fact_forecast actual vs fact_demand: %d of %d rows differ (first: %v)", mismatched, rows, fmtP2(first))
	}
}

func fmtP2(s *string) string {
	if s == nil {
		return "none"
	}
	return *s
}
