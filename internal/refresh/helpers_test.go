package refresh

import (
	"context"
	"math"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// SetBeforeCommit exposes the test hook.
func (o *Options) setBeforeCommit(f func(context.Context, pgx.Tx) error) { o.beforeCommit = f }

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fcRow is one bronze.ml_forecasts row.
type fcRow struct {
	Item, Site, Deposito, Series string // blank = NULL
	Date                         time.Time
	Forecast                     float64
	Actual                       *float64
	Source, Model, Dataset       string
	Generated                    time.Time
}

// erpRow is one bronze.erp_requisitions row.
type erpRow struct {
	Deposito, Code, Material, Familia string
	Qty                               float64
	Date                              *time.Time
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// addLoad inserts a loaded meta.loads row.
func addLoad(t testing.TB, pool *pgxpool.Pool, source, file string, rows int64) int64 {
	t.Helper()
	var id int64
	err := pool.QueryRow(context.Background(), `INSERT INTO meta.loads
		(source, file_name, file_sha256, status, rows_read, rows_loaded, finished_at)
		VALUES ($1, $2, md5(random()::text), 'loaded', $3, $3, now()) RETURNING load_id`, source, file, rows).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func addForecasts(t testing.TB, pool *pgxpool.Pool, file string, rows []fcRow) int64 {
	t.Helper()
	id := addLoad(t, pool, "ml_forecasts", file, int64(len(rows)))
	_, err := pool.CopyFrom(context.Background(), pgx.Identifier{"bronze", "ml_forecasts"},
		[]string{"item_id", "site_id", "deposito", "series_key", "date", "forecast", "lower", "upper", "actual",
			"model_version", "generated_at", "source", "dataset_id", "_load_id", "_line"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := rows[i]
			return []any{nullStr(r.Item), nullStr(r.Site), nullStr(r.Deposito), nullStr(r.Series), r.Date, r.Forecast,
				r.Forecast * 0.8, r.Forecast * 1.2, r.Actual, r.Model, r.Generated, r.Source, r.Dataset, id, int64(i + 2)}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func addERP(t testing.TB, pool *pgxpool.Pool, file string, rows []erpRow) int64 {
	t.Helper()
	id := addLoad(t, pool, "erp_requisitions", file, int64(len(rows)))
	_, err := pool.CopyFrom(context.Background(), pgx.Identifier{"bronze", "erp_requisitions"},
		[]string{"deposito", "product_code", "material", "familia", "quantity", "unit", "solicited_date", "_load_id", "_line"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := rows[i]
			return []any{nullStr(r.Deposito), r.Code, r.Material, r.Familia, r.Qty, "UN", r.Date, id, int64(i + 2)}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// factKey is the grain of gold.fact_forecast.
type factKey struct {
	Item, Site, Source string
	Date               time.Time
}

type factVal struct {
	Forecast float64
	Actual   *float64
	Mape     *float64
}

// aggVal holds the rolling figures of one gold.agg_forecast_rolling row.
type aggVal struct {
	FAvg7, FTot7, FAvg30, FTot30 float64
	AAvg7, ATot7, Mape7          *float64
	AAvg30, ATot30, Mape30       *float64
}

// refInput is what the independent Go computation needs: resolved forecast
// rows in load order (later wins), demand lines and the site -> depot map.
type refInput struct {
	Forecasts []resolvedFc
	Demand    []demandLine
	Depot     map[string]string
}

type resolvedFc struct {
	Item, Site, Source string
	Date               time.Time
	Forecast           float64
	Actual             *float64
	Generated          time.Time
	Order              int // load * 1e6 + line: higher wins on equal generated_at
}

type demandLine struct {
	Item, Depot string
	Date        time.Time
	Qty         float64
}

func fp(f float64) *float64 { return &f }

// blankDepotSite is the site of ERP lines without DEPÓSITO (the id the
// company's ML outputs give the blank depot).
const blankDepotSite = "-1"

// expected computes gold.fact_forecast and gold.agg_forecast_rolling in Go.
func expected(in refInput) (map[factKey]factVal, map[factKey]aggVal) {
	best := map[factKey]resolvedFc{}
	for _, f := range in.Forecasts {
		k := factKey{f.Item, f.Site, f.Source, f.Date}
		b, ok := best[k]
		if !ok || f.Generated.After(b.Generated) || (f.Generated.Equal(b.Generated) && f.Order > b.Order) {
			best[k] = f
		}
	}
	var covFrom, covTo time.Time
	itemDem := map[factKey]float64{}
	siteDem := map[factKey]float64{}
	for i, d := range in.Demand {
		if i == 0 || d.Date.Before(covFrom) {
			covFrom = d.Date
		}
		if i == 0 || d.Date.After(covTo) {
			covTo = d.Date
		}
		itemDem[factKey{Item: d.Item, Date: d.Date}] += d.Qty
		siteDem[factKey{Item: d.Item, Site: d.Depot, Date: d.Date}] += d.Qty
	}
	inCov := func(t time.Time) bool {
		return len(in.Demand) > 0 && !t.Before(covFrom) && !t.After(covTo)
	}
	facts := map[factKey]factVal{}
	type agg struct {
		f       float64
		a       float64
		anyA    bool
		allFile bool
	}
	all := map[factKey]*agg{}
	for k, f := range best {
		v := factVal{Forecast: f.Forecast}
		// A site's actual is its depot's demand; site -1 is the blank depot's.
		dep := in.Depot[k.Site]
		hasDep := dep != ""
		if k.Site == blankDepotSite {
			dep, hasDep = "", true
		}
		switch {
		case f.Actual != nil:
			v.Actual = fp(*f.Actual)
		case hasDep && siteDem[factKey{Item: k.Item, Site: dep, Date: k.Date}] != 0:
			v.Actual = fp(siteDem[factKey{Item: k.Item, Site: dep, Date: k.Date}])
		case hasDep && inCov(k.Date):
			v.Actual = fp(0)
		}
		facts[k] = v
		ak := factKey{k.Item, "ALL", k.Source, k.Date}
		a := all[ak]
		if a == nil {
			a = &agg{}
			all[ak] = a
		}
		a.f += f.Forecast
		if f.Actual != nil {
			a.a += *f.Actual
			a.anyA = true
		}
	}
	for k, a := range all {
		v := factVal{Forecast: a.f}
		if a.anyA {
			v.Actual = fp(a.a)
		} else if q, ok := itemDem[factKey{Item: k.Item, Date: k.Date}]; ok {
			v.Actual = fp(q)
		} else if inCov(k.Date) {
			v.Actual = fp(0)
		}
		facts[k] = v
	}
	for k, v := range facts {
		if v.Actual != nil && *v.Actual > 0 {
			v.Mape = fp(math.Abs(v.Forecast-*v.Actual) / *v.Actual)
			facts[k] = v
		}
	}
	// Rolling calendar windows per series.
	series := map[factKey][]time.Time{}
	for k := range facts {
		s := factKey{k.Item, k.Site, k.Source, time.Time{}}
		series[s] = append(series[s], k.Date)
	}
	aggs := map[factKey]aggVal{}
	for s, dates := range series {
		sort.Slice(dates, func(i, j int) bool { return dates[i].Before(dates[j]) })
		for i, d := range dates {
			var out aggVal
			for _, w := range []int{7, 30} {
				var fs, as, ms float64
				var fn, an, mn int
				for j := i; j >= 0 && d.Sub(dates[j]) <= time.Duration(w-1)*24*time.Hour; j-- {
					v := facts[factKey{s.Item, s.Site, s.Source, dates[j]}]
					fs += v.Forecast
					fn++
					if v.Actual != nil {
						as += *v.Actual
						an++
					}
					if v.Mape != nil {
						ms += *v.Mape
						mn++
					}
				}
				var aa, at, mm *float64
				if an > 0 {
					aa, at = fp(as/float64(an)), fp(as)
				}
				if mn > 0 {
					mm = fp(ms / float64(mn))
				}
				if w == 7 {
					out.FAvg7, out.FTot7, out.AAvg7, out.ATot7, out.Mape7 = fs/float64(fn), fs, aa, at, mm
				} else {
					out.FAvg30, out.FTot30, out.AAvg30, out.ATot30, out.Mape30 = fs/float64(fn), fs, aa, at, mm
				}
			}
			aggs[factKey{s.Item, s.Site, s.Source, d}] = out
		}
	}
	return facts, aggs
}

func readFacts(t testing.TB, pool *pgxpool.Pool) map[factKey]factVal {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT item_id, site_id, source, date, forecast, actual, mape FROM gold.fact_forecast`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[factKey]factVal{}
	for rows.Next() {
		var k factKey
		var v factVal
		if err := rows.Scan(&k.Item, &k.Site, &k.Source, &k.Date, &v.Forecast, &v.Actual, &v.Mape); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}

func readAggs(t testing.TB, pool *pgxpool.Pool) map[factKey]aggVal {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT item_id, site_id, source, date,
		forecast_avg_7d, forecast_total_7d, forecast_avg_30d, forecast_total_30d,
		actual_avg_7d, actual_total_7d, mape_7d, actual_avg_30d, actual_total_30d, mape_30d
		FROM gold.agg_forecast_rolling`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[factKey]aggVal{}
	for rows.Next() {
		var k factKey
		var v aggVal
		if err := rows.Scan(&k.Item, &k.Site, &k.Source, &k.Date, &v.FAvg7, &v.FTot7, &v.FAvg30, &v.FTot30,
			&v.AAvg7, &v.ATot7, &v.Mape7, &v.AAvg30, &v.ATot30, &v.Mape30); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a)) }

func closeP(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return near(*a, *b)
}

func fmtP(p *float64) any {
	if p == nil {
		return "NULL"
	}
	return *p
}

// compareGold fails t when gold differs from the Go computation.
func compareGold(t *testing.T, pool *pgxpool.Pool, in refInput) {
	t.Helper()
	wantF, wantA := expected(in)
	gotF, gotA := readFacts(t, pool), readAggs(t, pool)
	if len(gotF) != len(wantF) {
		t.Errorf("fact_forecast: %d rows, want %d", len(gotF), len(wantF))
	}
	bad := 0
	for k, w := range wantF {
		g, ok := gotF[k]
		if !ok || !near(g.Forecast, w.Forecast) || !closeP(g.Actual, w.Actual) || !closeP(g.Mape, w.Mape) {
			if bad++; bad <= 5 {
				t.Errorf("fact %v: got %v/%v/%v (present %v), want %v/%v/%v", k, g.Forecast, fmtP(g.Actual), fmtP(g.Mape), ok,
					w.Forecast, fmtP(w.Actual), fmtP(w.Mape))
			}
		}
	}
	if len(gotA) != len(wantA) {
		t.Errorf("agg_forecast_rolling: %d rows, want %d", len(gotA), len(wantA))
	}
	for k, w := range wantA {
		g, ok := gotA[k]
		if !ok || !near(g.FAvg7, w.FAvg7) || !near(g.FTot7, w.FTot7) || !near(g.FAvg30, w.FAvg30) || !near(g.FTot30, w.FTot30) ||
			!closeP(g.AAvg7, w.AAvg7) || !closeP(g.ATot7, w.ATot7) || !closeP(g.Mape7, w.Mape7) ||
			!closeP(g.AAvg30, w.AAvg30) || !closeP(g.ATot30, w.ATot30) || !closeP(g.Mape30, w.Mape30) {
			if bad++; bad <= 10 {
				t.Errorf("agg %v: got %+v (present %v), want %+v", k, g, ok, w)
			}
		}
	}
}
