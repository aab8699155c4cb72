package refresh

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// Items of the example queries (docs/data/example_queries.sql).
const (
	exDisco   = "ABRASIVOS_DISCO DE LIXA 4.1/2 G36"
	exBateria = "ABRASIVOS_BATERIA 9V"
)

// invRow is one bronze.inventory row.
type invRow struct {
	Item, Site, Deposito, Status        string
	Date                                *time.Time
	Stock, Safety, Reorder, DaysRupture float64
	Generated                           time.Time
}

func addInventory(t testing.TB, pool *pgxpool.Pool, file string, rows []invRow) int64 {
	t.Helper()
	id := addLoad(t, pool, "inventory", file, int64(len(rows)))
	_, err := pool.CopyFrom(context.Background(), pgx.Identifier{"bronze", "inventory"},
		[]string{"item_id", "site_id", "deposito", "date", "current_stock", "safety_stock", "reorder_point",
			"days_to_rupture", "stock_status", "model_version", "generated_at", "source", "dataset_id", "_load_id", "_line"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := rows[i]
			return []any{r.Item, r.Site, nullStr(r.Deposito), r.Date, r.Stock, r.Safety, r.Reorder, r.DaysRupture,
				r.Status, "rx-v1", r.Generated, "prescriptive", "nova_corrente", id, int64(i + 2)}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// exampleSeed is the small history the example queries run on: ERP lines
// of two materials at two depots (with suppliers and purchase dates, some
// before the request), ensemble forecasts for both items at the depots' two
// ML sites, arima for one, and dated inventory snapshots.
type exampleSeed struct {
	erp []erpLine
	fc  []fcRow
	inv []invRow
}

var exSites = map[string]string{"STC": "176", "ALMOX-BA": "22"}

func newExampleSeed() exampleSeed {
	var sd exampleSeed
	gen := time.Date(2025, 11, 11, 3, 0, 0, 0, time.UTC)
	first, last := day("2025-04-01"), day("2025-05-31")
	type mat struct{ familia, material, code string }
	mats := []mat{{"ABRASIVOS", "DISCO DE LIXA 4.1/2 G36", "010512"}, {"ABRASIVOS", "BATERIA 9V", "010463"}}
	siteDefs := []struct{ id, depot string }{{"176", "STC"}, {"22", "ALMOX-BA"}}
	suppliers := []string{"ACME LTDA", "Ferragens São João", "L.M.C LEMOS MATERIAIS"}
	n := 0
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		for mi, m := range mats {
			n++
			if n%3 == 0 && d.After(first) && d.Before(last) {
				continue // days without demand
			}
			dd, buy := d, d.AddDate(0, 0, n%9-1) // n%9 == 0: bought the day before the request
			sd.erp = append(sd.erp, erpLine{Deposito: siteDefs[(n+mi)%2].depot, Code: m.code, Material: m.material, Familia: m.familia,
				Supplier: suppliers[n%3], Unit: "UN", Request: strconv.Itoa(90000 + n/2), Qty: fp(float64(1 + (n*7+mi)%5)),
				Date: &dd, Purchase: &buy})
		}
	}
	for mi, m := range mats {
		for si, s := range siteDefs {
			i := 0
			for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
				i++
				base := float64(1+mi) + float64((i*(si+2))%7)/10
				sd.fc = append(sd.fc, fcRow{Item: m.familia + "_" + m.material, Site: s.id, Deposito: s.depot, Date: d,
					Forecast: base, Source: "ensemble", Model: "ensemble-2025.11.1", Dataset: "nova_corrente_2025-11-11", Generated: gen})
				if mi == 0 && si == 0 {
					sd.fc = append(sd.fc, fcRow{Item: m.familia + "_" + m.material, Site: s.id, Deposito: s.depot, Date: d,
						Forecast: base + 0.5, Source: "arima", Model: "arima-2025.11.0", Dataset: "nova_corrente_2025-11-11",
						Generated: gen.Add(-24 * time.Hour)})
				}
			}
		}
	}
	dp := func(s string) *time.Time { d := day(s); return &d }
	sd.inv = []invRow{
		{Item: exDisco, Site: "176", Deposito: "STC", Date: dp("2025-04-01"), Stock: 12, Safety: 1.5, Reorder: 10.46, DaysRupture: 9.2, Status: "ok", Generated: gen},
		{Item: exDisco, Site: "176", Deposito: "STC", Date: dp("2025-05-01"), Stock: 4, Safety: 1.5, Reorder: 10.46, DaysRupture: 3.1, Status: "critical", Generated: gen},
		{Item: exDisco, Site: "22", Deposito: "ALMOX-BA", Date: dp("2025-04-15"), Stock: 7, Safety: 1, Reorder: 6.95, DaysRupture: 6, Status: "warning", Generated: gen},
		{Item: exBateria, Site: "176", Deposito: "STC", Date: dp("2025-05-01"), Stock: 0, Safety: 1.05, Reorder: 10.46, DaysRupture: 0, Status: "critical", Generated: gen},
		// As in the real prescriptions: no stock, no reorder point, "normal".
		{Item: exBateria, Site: "22", Deposito: "ALMOX-BA", Date: dp("2025-05-01"), Stock: 0, Safety: 0, Reorder: 0, DaysRupture: 0, Status: "normal", Generated: gen},
	}
	return sd
}

// seedExamples loads the example history into bronze and refreshes gold.
func seedExamples(t testing.TB, pool *pgxpool.Pool) exampleSeed {
	t.Helper()
	sd := newExampleSeed()
	addERPLines(t, pool, "custo_de_material_e_servicos.csv", sd.erp)
	addForecasts(t, pool, "forecasts.parquet", sd.fc)
	addInventory(t, pool, "prescriptions.csv", sd.inv)
	if _, err := New(pool, nil).Run(context.Background(), Options{}); err != nil {
		t.Fatalf("refresh of the example data: %v", err)
	}
	return sd
}

// row is one result row by column name.
type row map[string]any

// num reads a numeric value of any SQL numeric type.
func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case pgtype.Numeric:
		f, err := x.Float64Value()
		return f.Float64, err == nil && f.Valid
	}
	return 0, false
}

// sameValue compares a result value with an expected one (numbers within
// 1e-6, dates by day, nil for SQL NULL).
func sameValue(got, want any) bool {
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	if w, ok := num(want); ok {
		g, ok := num(got)
		return ok && math.Abs(g-w) <= 1e-6*math.Max(1, math.Abs(w))
	}
	if w, ok := want.(time.Time); ok {
		g, ok := got.(time.Time)
		return ok && g.Equal(w)
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

// expectedExamples computes, from the seed alone, the rows each statement
// of docs/data/example_queries.sql must return (only the columns named).
func expectedExamples(sd exampleSeed) [][]row {
	periodFrom, periodTo := day("2025-04-09"), day("2025-05-08")
	type ik struct {
		Item string
		Date time.Time
	}
	type sk struct {
		Item, Site string
		Date       time.Time
	}
	demAll, demSite, lines := map[ik]float64{}, map[sk]float64{}, map[ik]int{}
	for _, l := range sd.erp {
		demAll[ik{itemOf(l), *l.Date}] += *l.Qty
		demSite[sk{itemOf(l), exSites[l.Deposito], *l.Date}] += *l.Qty
		lines[ik{itemOf(l), *l.Date}]++
	}
	type fk struct {
		Item, Site, Source string
		Date               time.Time
	}
	fcSite, fcAll := map[fk]float64{}, map[fk]float64{}
	for _, f := range sd.fc {
		fcSite[fk{f.Item, f.Site, f.Source, f.Date}] = f.Forecast
		fcAll[fk{f.Item, "ALL", f.Source, f.Date}] += f.Forecast
	}
	mape := func(f, a float64) any {
		if a > 0 {
			return math.Abs(f-a) / a
		}
		return nil
	}
	days := func(a, b time.Time, f func(time.Time)) {
		for d := a; !d.After(b); d = d.AddDate(0, 0, 1) {
			f(d)
		}
	}
	var q [][]row
	// 1. items named like disco
	q = append(q, []row{{"item_id": exDisco, "name": "DISCO DE LIXA 4.1/2 G36", "category": "ABRASIVOS", "sku": "010512"}})
	// 2. the item-level timeseries
	var r2 []row
	days(periodFrom, periodTo, func(d time.Time) {
		for _, src := range []string{"arima", "ensemble"} {
			f, a := fcAll[fk{exDisco, "ALL", src, d}], demAll[ik{exDisco, d}]
			r2 = append(r2, row{"date": d, "source": src, "forecast": f, "actual": a, "mape": mape(f, a)})
		}
	})
	q = append(q, r2)
	// 3. per site and source
	var r3 []row
	days(periodFrom, periodTo, func(d time.Time) {
		for _, c := range []struct{ site, depot, src string }{{"176", "STC", "arima"}, {"176", "STC", "ensemble"}, {"22", "ALMOX-BA", "ensemble"}} {
			r3 = append(r3, row{"date": d, "site_id": c.site, "deposito": c.depot, "source": c.src,
				"forecast": fcSite[fk{exDisco, c.site, c.src, d}], "actual": demSite[sk{exDisco, c.site, d}]})
		}
	})
	q = append(q, r3)
	// 4. summary of the period (the ensemble, generated last, of each item and day)
	var tf, ta, ms float64
	mn := 0
	for _, item := range []string{exDisco, exBateria} {
		days(periodFrom, periodTo, func(d time.Time) {
			f, a := fcAll[fk{item, "ALL", "ensemble", d}], demAll[ik{item, d}]
			tf, ta = tf+f, ta+a
			if a > 0 {
				ms, mn = ms+math.Abs(f-a)/a, mn+1
			}
		})
	}
	q = append(q, []row{{"total_forecast": tf, "total_actual": ta, "mape": ms / float64(mn), "items_count": 2}})
	// 5. accuracy by category (one category; mape rounded to 4 digits)
	q = append(q, []row{{"category": "ABRASIVOS", "items": 2, "mape": math.Round(ms/float64(mn)*1e4) / 1e4,
		"total_forecast": tf, "total_actual": ta}})
	// 6. rolling 30-day totals of both items, 2025-05-01..08 (every day has a row)
	var r6 []row
	for _, c := range []struct{ item, src string }{{exBateria, "ensemble"}, {exDisco, "arima"}, {exDisco, "ensemble"}} {
		days(day("2025-05-01"), day("2025-05-08"), func(d time.Time) {
			var f, a float64
			days(d.AddDate(0, 0, -29), d, func(x time.Time) { f, a = f+fcAll[fk{c.item, "ALL", c.src, x}], a+demAll[ik{c.item, x}] })
			r6 = append(r6, row{"item_id": c.item, "date": d, "source": c.src, "forecast_total_30d": f, "actual_total_30d": a})
		})
	}
	// the query orders by item_id, date, source
	sort.SliceStable(r6, func(i, j int) bool {
		a, b := r6[i], r6[j]
		if a["item_id"] != b["item_id"] {
			return a["item_id"].(string) < b["item_id"].(string)
		}
		if !a["date"].(time.Time).Equal(b["date"].(time.Time)) {
			return a["date"].(time.Time).Before(b["date"].(time.Time))
		}
		return a["source"].(string) < b["source"].(string)
	})
	q = append(q, r6)
	// 7. the disco's latest snapshot per site on or before 2025-05-08
	q = append(q, []row{{"site_id": "176", "date": day("2025-05-01"), "current_stock": 4.0}, {"site_id": "22", "date": day("2025-04-15"), "current_stock": 7.0}})
	// 8. at risk: stock at or below a reorder point above 0 (not the "normal" 0/0 row)
	q = append(q, []row{{"item_id": exBateria, "site_id": "176", "stock_status": "critical"}, {"item_id": exDisco, "site_id": "176", "stock_status": "critical"}})
	// 9. item-level ensemble demand by weekend and holiday (2025-04-18 Sexta-feira
	//    Santa, 04-21 Tiradentes, 05-01 Dia do Trabalho)
	type wh struct{ weekend, holiday bool }
	groups := map[wh][2]float64{}
	for _, item := range []string{exDisco, exBateria} {
		days(day("2025-04-01"), day("2025-05-31"), func(d time.Time) {
			k := wh{d.Weekday() == time.Saturday || d.Weekday() == time.Sunday,
				d.Equal(day("2025-04-18")) || d.Equal(day("2025-04-21")) || d.Equal(day("2025-05-01"))}
			g := groups[k]
			groups[k] = [2]float64{g[0] + 1, g[1] + demAll[ik{item, d}]}
		})
	}
	var r9 []row
	for _, k := range []wh{{false, false}, {false, true}, {true, false}, {true, true}} {
		if g, ok := groups[k]; ok {
			r9 = append(r9, row{"is_weekend": k.weekend, "is_holiday": k.holiday, "days": g[0], "actual": g[1], "actual_per_item_day": g[1] / g[0]})
		}
	}
	q = append(q, r9)
	// 10. monthly ensemble forecast and actual per item
	var r10 []row
	for _, item := range []string{exBateria, exDisco} {
		for _, m := range []time.Time{day("2025-04-01"), day("2025-05-01")} {
			var f, a float64
			days(m, m.AddDate(0, 1, -1), func(d time.Time) { f, a = f+fcAll[fk{item, "ALL", "ensemble", d}], a+demAll[ik{item, d}] })
			r10 = append(r10, row{"item_id": item, "month": m, "forecast": f, "actual": a})
		}
	}
	q = append(q, r10)
	// 11. freshness per source: the ensemble was generated after the arima run
	q = append(q, []row{{"source": "ensemble", "model_version": "ensemble-2025.11.1", "last_date": day("2025-05-31"), "rows": 2*2*61 + 2*61},
		{"source": "arima", "model_version": "arima-2025.11.0", "last_date": day("2025-05-31"), "rows": 61 + 61}})
	// 12. top materials by demand, April and May
	var dq, bq, dl, bl float64
	for k, v := range demAll {
		if k.Item == exDisco {
			dq, dl = dq+v, dl+float64(lines[k])
		} else {
			bq, bl = bq+v, bl+float64(lines[k])
		}
	}
	top := []row{{"item_id": exDisco, "quantity": dq, "lines": dl, "share": math.Round(dq/(dq+bq)*1e4) / 1e4},
		{"item_id": exBateria, "quantity": bq, "lines": bl, "share": math.Round(bq/(dq+bq)*1e4) / 1e4}}
	if bq > dq || (bq == dq && exBateria < exDisco) {
		top[0], top[1] = top[1], top[0]
	}
	q = append(q, top)
	// 13. the disco's rolling demand, 2025-05-01..08 (averages: 7 and 30 days inside the coverage)
	var r13 []row
	days(day("2025-05-01"), day("2025-05-08"), func(d time.Time) {
		var t7, t30 float64
		days(d.AddDate(0, 0, -6), d, func(x time.Time) { t7 += demAll[ik{exDisco, x}] })
		days(d.AddDate(0, 0, -29), d, func(x time.Time) { t30 += demAll[ik{exDisco, x}] })
		r13 = append(r13, row{"date": d, "unit": "UN", "quantity": demAll[ik{exDisco, d}], "quantity_total_7d": t7,
			"quantity_avg_7d": t7 / 7, "quantity_total_30d": t30, "quantity_total_30d_prev_year": nil})
	})
	q = append(q, r13)
	// 14. the disco's suppliers; 15. every supplier's lead times
	type sacc struct {
		lines, leadN, leadSum, leadMax, neg int
		qty                                 float64
		leads                               []float64
		items                               map[string]bool
		first, last                         time.Time
	}
	byItem, all := map[string]*sacc{}, map[string]*sacc{}
	for _, l := range sd.erp {
		lead := int(l.Purchase.Sub(*l.Date).Hours() / 24)
		for mi, m := range []map[string]*sacc{byItem, all} {
			if mi == 0 && itemOf(l) != exDisco {
				continue
			}
			a := m[l.Supplier]
			if a == nil {
				a = &sacc{items: map[string]bool{}, leadMax: -1, first: *l.Purchase, last: *l.Purchase}
				m[l.Supplier] = a
			}
			a.lines++
			a.qty += *l.Qty
			a.items[itemOf(l)] = true
			if l.Purchase.Before(a.first) {
				a.first = *l.Purchase
			}
			if l.Purchase.After(a.last) {
				a.last = *l.Purchase
			}
			if lead < 0 {
				a.neg++
				continue
			}
			a.leadN++
			a.leadSum += lead
			a.leadMax = max(a.leadMax, lead)
			a.leads = append(a.leads, float64(lead))
		}
	}
	var r14, r15 []row
	for name, a := range byItem {
		r14 = append(r14, row{"supplier_name": name, "lines": a.lines, "quantity": a.qty,
			"lead_time_days_avg": math.Round(float64(a.leadSum)/float64(a.leadN)*10) / 10, "lead_time_days_max": a.leadMax})
	}
	sort.Slice(r14, func(i, j int) bool {
		if r14[i]["lines"] != r14[j]["lines"] {
			return r14[i]["lines"].(int) > r14[j]["lines"].(int)
		}
		return r14[i]["supplier_name"].(string) < r14[j]["supplier_name"].(string)
	})
	q = append(q, r14)
	for name, a := range all {
		sort.Float64s(a.leads)
		r15 = append(r15, row{"supplier_name": name, "lines": a.lines, "items": len(a.items), "quantity": a.qty, "lead_time_lines": a.leadN,
			"lead_time_days_median": percentile(a.leads, 0.5), "lead_time_days_p90": percentile(a.leads, 0.9),
			"negative_lead_time_lines": a.neg, "first_purchase": a.first, "last_purchase": a.last})
	}
	sort.Slice(r15, func(i, j int) bool {
		mi, mj := r15[i]["lead_time_days_median"].(float64), r15[j]["lead_time_days_median"].(float64)
		if mi != mj {
			return mi > mj
		}
		return r15[i]["supplier_name"].(string) < r15[j]["supplier_name"].(string)
	})
	q = append(q, r15)
	// 16. demand per site, April and May
	siteQ, siteN := map[string]float64{}, map[string]float64{}
	siteItems := map[string]map[string]bool{}
	for _, l := range sd.erp {
		s := exSites[l.Deposito]
		siteQ[s] += *l.Qty
		siteN[s]++
		if siteItems[s] == nil {
			siteItems[s] = map[string]bool{}
		}
		siteItems[s][itemOf(l)] = true
	}
	var r16 []row
	for s, qty := range siteQ {
		dep := map[string]string{"176": "STC", "22": "ALMOX-BA"}[s]
		r16 = append(r16, row{"site_id": s, "deposito": dep, "quantity": qty, "lines": siteN[s], "items": len(siteItems[s])})
	}
	sort.Slice(r16, func(i, j int) bool { return r16[i]["quantity"].(float64) > r16[j]["quantity"].(float64) })
	q = append(q, r16)
	return q
}

// TestExampleQueries runs every statement of docs/data/example_queries.sql
// as novawh_reader against gold built by a refresh of a seeded bronze, and
// compares each result, row by row, with what the seed alone says it must
// be.
func TestExampleQueries(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "data", "example_queries.sql"))
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := splitSQL(string(b))
	if err != nil {
		t.Fatalf("example_queries.sql: %v", err)
	}
	db := pgtest.New(t)
	sd := seedExamples(t, db.Pool)
	want := expectedExamples(sd)
	if len(stmts) != len(want) {
		t.Fatalf("example_queries.sql has %d statements, the test expects results for %d: add the new query's expected rows", len(stmts), len(want))
	}
	reader := readerPool(t, db)
	for i, st := range stmts {
		t.Run("line "+strconv.Itoa(st.line), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rows, err := reader.Query(ctx, st.sql)
			if err != nil {
				t.Fatalf("example_queries.sql:%d: %v", st.line, err)
			}
			var got []row
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				r := row{}
				for j, fd := range rows.FieldDescriptions() {
					r[fd.Name] = vals[j]
				}
				got = append(got, r)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("example_queries.sql:%d: %v", st.line, err)
			}
			if len(got) != len(want[i]) {
				t.Fatalf("example_queries.sql:%d: %d rows, want %d", st.line, len(got), len(want[i]))
			}
			bad := 0
			for j, w := range want[i] {
				for c, wv := range w {
					gv, ok := got[j][c]
					if !ok {
						t.Fatalf("example_queries.sql:%d: no column %q in %v", st.line, c, got[j])
					}
					if !sameValue(gv, wv) {
						if bad++; bad <= 5 {
							t.Errorf("example_queries.sql:%d: row %d %s = %v, want %v (row %v)", st.line, j+1, c, gv, wv, got[j])
						}
					}
				}
			}
		})
	}
}

// readerPool opens a pool on db whose connections act as novawh_reader,
// the role analysts and the API read gold with.
func readerPool(t testing.TB, db *pgtest.DB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 2
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET ROLE novawh_reader")
		return err
	}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

type statement struct {
	sql  string
	line int // line of the statement's first non-comment character
}

// splitSQL splits a script on semicolons outside quotes and comments.
func splitSQL(s string) ([]statement, error) {
	var out []statement
	var cur strings.Builder
	line, start := 1, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			if i < len(s) {
				line++
				cur.WriteByte('\n')
			}
			continue
		case c == '\'' || c == '"':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return nil, &splitError{line: line, msg: "unterminated quote"}
			}
			seg := s[i : j+1]
			if start == 0 {
				start = line
			}
			line += strings.Count(seg, "\n")
			cur.WriteString(seg)
			i = j
			continue
		case c == ';':
			if sql := strings.TrimSpace(cur.String()); sql != "" {
				out = append(out, statement{sql: sql, line: start})
			}
			cur.Reset()
			start = 0
			continue
		case c == '\n':
			line++
		case start == 0 && c != ' ' && c != '\t' && c != '\r':
			start = line
		}
		cur.WriteByte(c)
	}
	if strings.TrimSpace(cur.String()) != "" {
		return nil, &splitError{line: start, msg: "statement without a final semicolon"}
	}
	return out, nil
}

type splitError struct {
	line int
	msg  string
}

func (e *splitError) Error() string { return "line " + strconv.Itoa(e.line) + ": " + e.msg }
