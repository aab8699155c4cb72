package refresh

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/internal/pgtest"
)

// scenario is a realistic small history split into several loads.
type scenario struct {
	loads []func(t testing.TB, pool *pgxpool.Pool)
	ref   refInput
}

type itemDef struct{ familia, material, code string }

var items = []itemDef{
	{"FERRAMENTAS", "ALICATE UNIVERSAL", "010101"},
	{"EPI", "LUVA DE RASPA", "010202"},
	{"ABRASIVOS", "BATERIA 9V", "010303"},
	{"ABRASIVOS", "BATERIA 9V", "010304"}, // two codes, one key
}

var sites = []struct{ id, depot string }{{"10", "ALMOX-BA"}, {"20", "STC"}, {"30", ""}}

// loadedScenario is a new database with every load of newScenario in
// bronze, not refreshed yet.
func loadedScenario(t testing.TB) (*pgtest.DB, scenario) {
	t.Helper()
	db := pgtest.New(t)
	sc := newScenario()
	for _, l := range sc.loads {
		l(t, db.Pool)
	}
	return db, sc
}

func newScenario() scenario {
	rng := rand.New(rand.NewPCG(5, 7))
	gen1 := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)
	gen2 := gen1.Add(24 * time.Hour)
	start := day("2025-01-01")
	var sc scenario
	sc.ref.Depot = map[string]string{}
	for _, s := range sites {
		if s.depot != "" {
			sc.ref.Depot[s.id] = s.depot
		}
	}
	keys := []string{"FERRAMENTAS_ALICATE UNIVERSAL", "EPI_LUVA DE RASPA", "ABRASIVOS_BATERIA 9V", "QUIMICOS_GRAXA AZUL"}
	order := 0
	mk := func(load int, lo, hi int, gen time.Time, withActual bool) []fcRow {
		var rows []fcRow
		for ki, key := range keys {
			for _, s := range sites {
				for _, src := range []string{"prophet", "ensemble"} {
					for d := lo; d < hi; d++ {
						if rng.IntN(10) == 0 {
							continue // gaps in the series
						}
						date := start.AddDate(0, 0, d)
						r := fcRow{Item: key, Site: s.id, Deposito: s.depot, Date: date,
							Forecast: float64(rng.IntN(500)) / 10, Source: src, Model: fmt.Sprintf("m%d", load),
							Dataset: "ds1", Generated: gen}
						if ki == 1 && s.id == "20" {
							// Forecast-file shape: item and site only in the series key.
							// As the loader does, item and site may come from the file name.
							r.Item, r.Site, r.Deposito = "", "", ""
							if src == "prophet" {
								r.Item, r.Site = "EPI_LUVA_DE_RASPA", "20"
							}
							r.Series = "itemEPI_LUVA_DE_RASPA_site20"
						}
						if withActual && src == "ensemble" && rng.IntN(3) == 0 {
							r.Actual = fp(float64(rng.IntN(20)))
						}
						rows = append(rows, r)
						order++
						sc.ref.Forecasts = append(sc.ref.Forecasts, resolvedFc{Item: key, Site: s.id, Source: src, Date: date,
							Forecast: r.Forecast, Actual: r.Actual, Generated: gen, Order: load*1_000_000 + len(rows) + 1})
					}
				}
			}
		}
		return rows
	}
	erp := func(lo, hi, n int) []erpRow {
		var rows []erpRow
		for i := 0; i < n; i++ {
			it := items[rng.IntN(len(items))]
			depots := []string{"ALMOX-BA", "STC", "OUTRO", ""}
			dep := depots[rng.IntN(len(depots))]
			var dp *time.Time
			if rng.IntN(40) != 0 {
				d := start.AddDate(0, 0, lo+rng.IntN(hi-lo))
				dp = &d
			}
			q := float64(1 + rng.IntN(30))
			rows = append(rows, erpRow{Deposito: dep, Code: it.code, Material: it.material, Familia: it.familia, Qty: q, Date: dp})
		}
		return rows
	}
	// Load order: the series-key-only rows arrive with the first forecasts,
	// ERP demand arrives in two snapshots of the same file (the second
	// supersedes the first), a revision re-forecasts some days later.
	f1 := mk(1, 0, 60, gen1, true)
	e1 := erp(3, 50, 150)
	f2 := mk(2, 60, 90, gen1, false)
	e2 := erp(3, 80, 260)
	f3 := mk(3, 40, 70, gen2, true) // revision: newer generated_at wins
	sc.loads = []func(testing.TB, *pgxpool.Pool){
		func(t testing.TB, p *pgxpool.Pool) { addForecasts(t, p, "forecasts_1.csv", f1) },
		func(t testing.TB, p *pgxpool.Pool) { addERP(t, p, "custo.csv", e1) },
		func(t testing.TB, p *pgxpool.Pool) { addForecasts(t, p, "forecasts_2.csv", f2) },
		func(t testing.TB, p *pgxpool.Pool) { addERP(t, p, "custo.csv", e2) },
		func(t testing.TB, p *pgxpool.Pool) { addForecasts(t, p, "forecasts_3.csv", f3) },
	}
	// Only the last ERP snapshot counts.
	for _, r := range e2 {
		if r.Date != nil {
			sc.ref.Demand = append(sc.ref.Demand, demandLine{Item: r.Familia + "_" + r.Material, Depot: r.Deposito, Date: *r.Date, Qty: r.Qty})
		}
	}
	return sc
}

func run(t testing.TB, pool *pgxpool.Pool, full bool) Result {
	t.Helper()
	res, err := New(pool, nil).Run(context.Background(), Options{Full: full})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// snapshot renders every gold table (without its timestamps) as text.
func snapshot(t testing.TB, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	return snapshotWithout(t, pool)
}

// snapshotWithout is snapshot without the given columns (e.g. load_id, the
// lineage of a row rather than its figures).
func snapshotWithout(t testing.TB, pool *pgxpool.Pool, drop ...string) map[string]string {
	t.Helper()
	if drop == nil {
		drop = []string{}
	}
	queries := map[string]string{
		"dim_item":       `SELECT item_id, sku, name, category, familia, erp_product_codes, in_item_master FROM gold.dim_item`,
		"dim_site":       `SELECT * FROM gold.dim_site`,
		"dim_time":       `SELECT * FROM gold.dim_time`,
		"fact_forecast":  `SELECT date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id, mape, load_id FROM gold.fact_forecast`,
		"fact_inventory": `SELECT * FROM gold.fact_inventory`,
		"agg":            `SELECT * FROM gold.agg_forecast_rolling`,
		"external":       `SELECT * FROM gold.fact_external_daily`,
		"fact_demand":    `SELECT * FROM gold.fact_demand`,
		"demand_bridge":  `SELECT * FROM gold.fact_demand_supplier`,
		"dim_supplier":   `SELECT * FROM gold.dim_supplier`,
		"agg_demand":     `SELECT * FROM gold.agg_demand_rolling`,
	}
	out := map[string]string{}
	for name, q := range queries {
		var s string
		if err := pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(r, E'\n' ORDER BY r), '')
			FROM (SELECT CASE WHEN cardinality($1::text[]) = 0 THEN x::text ELSE (to_jsonb(x) - $1::text[])::text END AS r
			      FROM (`+q+`) x) y`, drop).Scan(&s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = s
	}
	return out
}

func TestFiguresMatchGoComputation(t *testing.T) {
	t.Parallel()
	db, sc := loadedScenario(t)
	res := run(t, db.Pool, false)
	if res.Status != "ok" || len(res.LoadsApplied) != len(sc.loads) {
		t.Fatalf("result %+v", res)
	}
	compareGold(t, db.Pool, sc.ref)
	checkActualIsDemand(t, db.Pool)

	// Unknown item kept and flagged; the two-code item reconciled.
	var inMaster bool
	var codes []string
	if err := db.Pool.QueryRow(context.Background(), `SELECT in_item_master FROM gold.dim_item WHERE item_id = 'QUIMICOS_GRAXA AZUL'`).Scan(&inMaster); err != nil || inMaster {
		t.Errorf("unknown item: in_item_master=%v err=%v, want present and false", inMaster, err)
	}
	if err := db.Pool.QueryRow(context.Background(), `SELECT erp_product_codes FROM gold.dim_item WHERE item_id = 'ABRASIVOS_BATERIA 9V'`).Scan(&codes); err != nil || strings.Join(codes, ",") != "010303,010304" {
		t.Errorf("codes of ABRASIVOS_BATERIA 9V = %v (%v), want [010303 010304]", codes, err)
	}
	// The series-key-only rows resolved to the canonical item.
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM gold.fact_forecast WHERE item_id = 'EPI_LUVA DE RASPA' AND site_id = '20'`).Scan(&n); err != nil || n == 0 {
		t.Errorf("series key rows: %d (%v)", n, err)
	}
}

func TestIncrementalEqualsFull(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	sc := newScenario()
	for i, l := range sc.loads {
		l(t, db.Pool)
		res := run(t, db.Pool, false)
		if res.Status != "ok" || len(res.LoadsApplied) != 1 {
			t.Fatalf("load %d: result %+v", i, res)
		}
		if i == 2 && (res.Forecast == nil || res.Forecast.All) {
			t.Errorf("load %d: forecast window %v, want a bounded window", i, res.Forecast)
		}
	}
	if res := run(t, db.Pool, false); res.Status != "noop" {
		t.Errorf("refresh without new loads: status %q, want noop", res.Status)
	}
	inc := snapshot(t, db.Pool)
	run(t, db.Pool, true)
	full := snapshot(t, db.Pool)
	for name := range full {
		if inc[name] != full[name] {
			t.Errorf("%s differs between incremental and full refresh:\nincremental %d bytes, full %d bytes\n%s", name, len(inc[name]), len(full[name]), firstDiff(inc[name], full[name]))
		}
	}
	compareGold(t, db.Pool, sc.ref)

	// Every rewrite was logged for the exporter.
	var changes int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM meta.gold_changes WHERE table_name = 'gold.agg_forecast_rolling'`).Scan(&changes); err != nil || changes < len(sc.loads) {
		t.Errorf("gold_changes for agg: %d (%v)", changes, err)
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "first difference:\n  inc:  " + al[i] + "\n  full: " + bl[i]
		}
	}
	return "one is a prefix of the other"
}

func TestLatestLoadWins(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	gen := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	base := fcRow{Item: "EPI_LUVA", Site: "1", Deposito: "STC", Date: day("2025-05-10"), Source: "prophet", Model: "a", Dataset: "d", Generated: gen}
	r1, r2, r3 := base, base, base
	r1.Forecast, r2.Forecast = 1, 2 // same load: the later line wins
	addForecasts(t, db.Pool, "a.csv", []fcRow{r1, r2})
	run(t, db.Pool, false)
	r3.Forecast, r3.Model = 3, "b" // a later load with the same generated_at wins
	addForecasts(t, db.Pool, "b.csv", []fcRow{r3})
	old := base
	old.Forecast, old.Generated = 9, gen.Add(-time.Hour) // an older generation loaded last loses
	addForecasts(t, db.Pool, "c.csv", []fcRow{old})
	run(t, db.Pool, false)
	var f float64
	var mv string
	if err := db.Pool.QueryRow(context.Background(), `SELECT forecast, model_version FROM gold.fact_forecast WHERE site_id = '1'`).Scan(&f, &mv); err != nil {
		t.Fatal(err)
	}
	if f != 3 || mv != "b" {
		t.Errorf("forecast %v model %s, want 3 from model b", f, mv)
	}
}

func TestNullKeysCountedNotSilent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	d := day("2025-02-03")
	addERP(t, db.Pool, "custo.csv", []erpRow{
		{Deposito: "STC", Code: "1", Material: "M", Familia: "F", Qty: 5, Date: &d},
		{Deposito: "STC", Code: "1", Material: "M", Familia: "F", Qty: 7},
		{Code: "1", Material: "M", Familia: "F", Qty: 11},
	})
	addForecasts(t, db.Pool, "f.csv", []fcRow{
		{Series: "garbage-without-site", Date: d, Forecast: 1, Source: "s", Model: "m", Dataset: "d", Generated: d},
		{Item: "F_M", Site: "1", Deposito: "STC", Date: d, Forecast: 4, Source: "s", Model: "m", Dataset: "d", Generated: d},
	})
	run(t, db.Pool, false)
	rows, err := db.Pool.Query(context.Background(), `SELECT table_name, rows, quantity FROM silver.dropped_rows WHERE rows > 0 ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var tbl string
		var n int64
		var q float64
		if err := rows.Scan(&tbl, &n, &q); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s:%d:%g", tbl, n, q))
	}
	if want := "bronze.erp_requisitions:2:18,bronze.ml_forecasts:1:1"; strings.Join(got, ",") != want {
		t.Errorf("dropped rows %v, want %s", got, want)
	}
	var actual float64
	if err := db.Pool.QueryRow(context.Background(), `SELECT actual FROM gold.fact_forecast WHERE site_id = 'ALL'`).Scan(&actual); err != nil || actual != 5 {
		t.Errorf("actual %v (%v), want 5 (undated demand is not assigned a day)", actual, err)
	}
}

// refreshedOneForecast is a database refreshed with one forecast row, on
// date (the calendar of its year is in gold.dim_time).
func refreshedOneForecast(t *testing.T, date string) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	d := day(date)
	addForecasts(t, db.Pool, "f.csv", []fcRow{{Item: "A_B", Site: "1", Date: d, Forecast: 1, Source: "s", Model: "m", Dataset: "d", Generated: d}})
	run(t, db.Pool, false)
	return db
}

func TestHolidays(t *testing.T) {
	t.Parallel()
	db := refreshedOneForecast(t, "2025-06-19")
	for _, c := range []struct {
		date    string
		holiday bool
		name    string
	}{
		{"2025-01-01", true, "Confraternização Universal"},
		{"2025-03-03", true, "Carnaval (segunda-feira)"},
		{"2025-03-04", true, "Carnaval (terça-feira)"},
		{"2025-04-18", true, "Sexta-feira Santa"},
		{"2025-04-21", true, "Tiradentes"},
		{"2025-06-19", true, "Corpus Christi"},
		{"2025-11-20", true, "Dia Nacional de Zumbi e da Consciência Negra"},
		{"2025-12-25", true, "Natal"},
		{"2025-03-05", false, ""},
		{"2025-06-20", false, ""},
	} {
		var h bool
		var name *string
		if err := db.Pool.QueryRow(context.Background(), `SELECT is_holiday, holiday_name FROM gold.dim_time WHERE date = $1`, day(c.date)).Scan(&h, &name); err != nil {
			t.Fatalf("%s: %v", c.date, err)
		}
		got := ""
		if name != nil {
			got = *name
		}
		if h != c.holiday || got != c.name {
			t.Errorf("%s: holiday %v %q, want %v %q", c.date, h, got, c.holiday, c.name)
		}
	}
	// Consciência Negra is national only from 2024; Easter moves.
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM gold.br_holidays(2023) WHERE date = '2023-11-20'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("2023-11-20: %d (%v), want not a national holiday", n, err)
	}
	var easter time.Time
	if err := db.Pool.QueryRow(context.Background(), `SELECT gold.easter(2024)`).Scan(&easter); err != nil || !easter.Equal(day("2024-03-31")) {
		t.Errorf("easter 2024 = %v (%v)", easter, err)
	}
}

// TestDimTimeRefillsMissingDays: a refresh whose years are all in
// gold.dim_time inserts nothing (the count on the key that skips
// generating them), and one with a day missing puts that day back with
// its holiday.
func TestDimTimeRefillsMissingDays(t *testing.T) {
	t.Parallel()
	db := refreshedOneForecast(t, "2025-06-19")
	ctx := context.Background()
	fill := func() (n int64) {
		t.Helper()
		if err := db.Pool.QueryRow(ctx, `SELECT gold.fill_dim_time('2025-06-19', '2025-06-19')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := fill(); n != 0 {
		t.Fatalf("complete year: %d days inserted, want 0", n)
	}
	if _, err := db.Pool.Exec(ctx, `DELETE FROM gold.dim_time WHERE date IN ('2025-04-21', '2025-12-31')`); err != nil {
		t.Fatal(err)
	}
	if n := fill(); n != 2 {
		t.Fatalf("two days missing: %d inserted, want 2", n)
	}
	var name string
	if err := db.Pool.QueryRow(ctx, `SELECT holiday_name FROM gold.dim_time WHERE date = '2025-04-21'`).Scan(&name); err != nil || name != "Tiradentes" {
		t.Fatalf("2025-04-21 back as %q (%v), want Tiradentes", name, err)
	}
	var days int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM gold.dim_time WHERE date BETWEEN '2025-01-01' AND '2025-12-31'`).Scan(&days); err != nil || days != 365 {
		t.Fatalf("2025 has %d days in gold.dim_time (%v), want 365", days, err)
	}
}

func TestConcurrentRefreshesNeverDoubleApply(t *testing.T) {
	t.Parallel()
	db, sc := loadedScenario(t)
	var wg sync.WaitGroup
	results := make([]Result, 3)
	errs := make([]error, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = New(db.Pool, nil).Run(context.Background(), Options{})
		}()
	}
	wg.Wait()
	applied := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if r.Status == "ok" {
			applied += len(r.LoadsApplied)
		} else if r.Status != "noop" {
			t.Errorf("refresh %d: status %q", i, r.Status)
		}
	}
	if applied != len(sc.loads) {
		t.Errorf("loads applied %d times in total, want %d", applied, len(sc.loads))
	}
	compareGold(t, db.Pool, sc.ref)

	// NoWait while another refresh holds the lock: returns busy.
	conn, err := db.Pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if err := pglock.Lock(context.Background(), conn, pglock.Refresh); err != nil {
		t.Fatal(err)
	}
	res, err := New(db.Pool, nil).Run(context.Background(), Options{NoWait: true})
	if err != nil || res.Status != "busy" {
		t.Errorf("NoWait under lock: %+v, %v; want status busy", res, err)
	}
	if err := pglock.Unlock(context.Background(), conn, pglock.Refresh); err != nil {
		t.Fatal(err)
	}
}

func TestReadersNotBlocked(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	sc := newScenario()
	sc.loads[0](t, db.Pool)
	run(t, db.Pool, false)
	var before int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM gold.fact_forecast`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	for _, l := range sc.loads[1:] {
		l(t, db.Pool)
	}
	reader, err := pgxpool.New(context.Background(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var seen int
	opts := Options{}
	opts.setBeforeCommit(func(ctx context.Context, _ pgx.Tx) error {
		// The refresh has deleted and inserted but not committed: a reader
		// with a short lock timeout must still read the previous gold.
		conn, err := reader.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, `SET lock_timeout = '2s'`); err != nil {
			return err
		}
		for _, q := range []string{`SELECT count(*) FROM gold.fact_forecast`, `SELECT count(*) FROM gold.agg_forecast_rolling`} {
			if err := conn.QueryRow(ctx, q).Scan(&seen); err != nil {
				return fmt.Errorf("reader blocked or failed during refresh: %w", err)
			}
		}
		return conn.QueryRow(ctx, `SELECT count(*) FROM gold.fact_forecast`).Scan(&seen)
	})
	if _, err := New(db.Pool, nil).Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if seen != before {
		t.Errorf("reader saw %d rows during the refresh, want the committed %d", seen, before)
	}
}

// Item ids derived from a forecast file name (spaces and '/' turned into
// '_') resolve to the ERP / ML spelling of the same key.
func TestFileNameItemIDsResolveToKnownKey(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	d := day("2025-04-09")
	addERP(t, db.Pool, "custo.csv", []erpRow{{Deposito: "STC", Code: "010463", Material: "DISCO DE LIXA 4.1/2 G36", Familia: "ABRASIVOS", Qty: 2, Date: &d}})
	addForecasts(t, db.Pool, "itemABRASIVOS_DISCO_DE_LIXA_4.1_2_G36_site176.csv", []fcRow{{
		Item: "ABRASIVOS_DISCO_DE_LIXA_4.1_2_G36", Site: "176", Series: "itemABRASIVOS_DISCO_DE_LIXA_4.1_2_G36_site176",
		Date: d, Forecast: 3, Source: "prophet", Model: "m", Dataset: "d", Generated: d}})
	run(t, db.Pool, false)
	var items []string
	rows, err := db.Pool.Query(context.Background(), `SELECT item_id || ':' || in_item_master FROM gold.dim_item ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		items = append(items, s)
	}
	if want := "ABRASIVOS_DISCO DE LIXA 4.1/2 G36:true"; strings.Join(items, ",") != want {
		t.Errorf("dim_item %v, want [%s]", items, want)
	}
	var actual float64
	if err := db.Pool.QueryRow(context.Background(), `SELECT actual FROM gold.fact_forecast
		WHERE item_id = 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36' AND site_id = 'ALL'`).Scan(&actual); err != nil || actual != 2 {
		t.Errorf("item-level actual %v (%v), want 2", actual, err)
	}
}

// The daily case: one new day of forecasts appended after the history (the
// rolling aggregates of the few new dates are computed per row, not with
// window functions) must give the figures of a full rebuild.
func TestIncrementalNewDayEqualsFull(t *testing.T) {
	t.Parallel()
	db, _ := loadedScenario(t)
	run(t, db.Pool, false)
	start := day("2025-01-01")
	gen := time.Date(2025, 4, 5, 12, 0, 0, 0, time.UTC)
	for i, d := range []int{90, 91, 95} { // consecutive days, then a gap
		var rows []fcRow
		for _, key := range []string{"FERRAMENTAS_ALICATE UNIVERSAL", "ABRASIVOS_BATERIA 9V"} {
			for _, s := range sites {
				for _, src := range []string{"prophet", "ensemble"} {
					r := fcRow{Item: key, Site: s.id, Deposito: s.depot, Date: start.AddDate(0, 0, d),
						Forecast: float64(7+i) + 0.1, Source: src, Model: "m9", Dataset: "ds1", Generated: gen}
					if src == "ensemble" && s.id == "10" {
						r.Actual = fp(float64(3 + i))
					}
					rows = append(rows, r)
				}
			}
		}
		addForecasts(t, db.Pool, fmt.Sprintf("day_%d.csv", d), rows)
		res := run(t, db.Pool, false)
		if res.Forecast == nil || res.Forecast.All {
			t.Fatalf("day %d: forecast window %v, want the new day", d, res.Forecast)
		}
		var aggRows int
		if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM gold.agg_forecast_rolling WHERE date = $1`,
			start.AddDate(0, 0, d)).Scan(&aggRows); err != nil || aggRows == 0 {
			t.Fatalf("day %d: %d rolling rows (%v)", d, aggRows, err)
		}
	}
	inc := snapshot(t, db.Pool)
	run(t, db.Pool, true)
	full := snapshot(t, db.Pool)
	for name := range full {
		if inc[name] != full[name] {
			t.Errorf("%s differs between incremental and full refresh:\n%s", name, firstDiff(inc[name], full[name]))
		}
	}
}

// A refresh whose session dies mid-transaction (as when its process is
// killed) leaves its meta.refreshes row 'running'; the next refresh, holding
// the lock, marks it abandoned and applies the loads the dead one did not.
func TestKilledRefreshIsMarkedAbandoned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, sc := loadedScenario(t)
	opts := Options{}
	opts.setBeforeCommit(func(ctx context.Context, tx pgx.Tx) error {
		var pid int
		if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			return err
		}
		var ok bool
		if err := db.Pool.QueryRow(ctx, `SELECT pg_terminate_backend($1, 60000)`, pid).Scan(&ok); err != nil || !ok {
			return fmt.Errorf("terminate the refresh's backend %d: %v %v", pid, ok, err)
		}
		return nil
	})
	killed, err := New(db.Pool, nil).Run(ctx, opts)
	if err == nil {
		t.Fatalf("refresh whose session was terminated: no error (%+v)", killed)
	}
	var status string
	if err := db.Pool.QueryRow(ctx, `SELECT status FROM meta.refreshes WHERE refresh_id = $1`, killed.RefreshID).Scan(&status); err != nil || status != "running" {
		t.Fatalf("killed refresh %d: status %q (%v), want it left 'running' as a dead process leaves it", killed.RefreshID, status, err)
	}

	next := run(t, db.Pool, false)
	if next.Status != "ok" || len(next.LoadsApplied) != len(sc.loads) {
		t.Fatalf("next refresh %+v, want every load applied", next)
	}
	var reason string
	var finished, dur bool
	if err := db.Pool.QueryRow(ctx, `SELECT status, coalesce(error, ''), finished_at IS NOT NULL, duration_ms IS NOT NULL
		FROM meta.refreshes WHERE refresh_id = $1`, killed.RefreshID).Scan(&status, &reason, &finished, &dur); err != nil {
		t.Fatal(err)
	}
	if status != "abandoned" || reason != AbandonedReason || !finished || !dur {
		t.Errorf("killed refresh after the next one: status %q, error %q, finished %v, duration %v; want abandoned with the reason and both set",
			status, reason, finished, dur)
	}
	var running int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM meta.refreshes WHERE status = 'running'`).Scan(&running); err != nil || running != 0 {
		t.Errorf("%d refreshes still running (%v)", running, err)
	}
	compareGold(t, db.Pool, sc.ref)
}

// TestReadersDuringFullRefresh: readers (novawh_reader, prepared
// statements, as the API reads) loop over gold while a full refresh builds
// new tables and swaps them in: they never fail and every count they see is
// the state before the refresh or the state after it.
func TestReadersDuringFullRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	sc := newScenario()
	for _, l := range sc.loads[:3] {
		l(t, db.Pool)
	}
	run(t, db.Pool, false)
	queries := []string{
		`SELECT count(*) FROM gold.fact_forecast`,
		`SELECT count(*) FROM gold.agg_forecast_rolling`,
		`SELECT count(*) FROM gold.fact_demand`,
		`SELECT count(*) FROM gold.v_forecast_accuracy`,
	}
	counts := func() []int64 {
		out := make([]int64, len(queries))
		for i, q := range queries {
			if err := db.Pool.QueryRow(ctx, q).Scan(&out[i]); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	before := counts()
	for _, l := range sc.loads[3:] {
		l(t, db.Pool) // the full refresh also applies these: the counts change
	}
	reader := readerPool(t, db)
	type seen struct {
		query  int
		n      int64
		err    error
		during bool // started after the refresh began and ended before it returned
		after  bool // started after the refresh returned
	}
	var phase atomic.Int32 // 0 before the refresh, 1 while it runs, 2 after
	var mu sync.Mutex
	var obs []seen
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				q := i % len(queries)
				var n int64
				p0 := phase.Load()
				err := reader.QueryRow(ctx, queries[q]).Scan(&n)
				p1 := phase.Load()
				mu.Lock()
				obs = append(obs, seen{q, n, err, p0 == 1 && p1 == 1, p0 == 2})
				mu.Unlock()
			}
		}()
	}
	phase.Store(1)
	res := run(t, db.Pool, true)
	phase.Store(2)
	after := counts()
	// Let the readers see the new state a few times too.
	for {
		mu.Lock()
		n := 0
		for _, o := range obs {
			if o.after {
				n++
			}
		}
		mu.Unlock()
		if n >= 2*len(queries) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if len(res.Rebuilt) == 0 {
		t.Fatalf("full refresh rebuilt no table: %+v", res)
	}
	if before[0] == after[0] {
		t.Fatalf("the full refresh did not change gold.fact_forecast (%d rows): the test proves nothing", before[0])
	}
	bad, during, sawAfter := 0, 0, 0
	for _, o := range obs {
		if o.err != nil || (o.n != before[o.query] && o.n != after[o.query]) {
			if bad++; bad <= 5 {
				t.Errorf("reader: %s = %d (%v), want %d (before) or %d (after)", queries[o.query], o.n, o.err, before[o.query], after[o.query])
			}
		}
		if o.during {
			during++
		}
		if o.after && o.err == nil {
			if o.n != after[o.query] {
				t.Errorf("reader after the refresh: %s = %d, want %d", queries[o.query], o.n, after[o.query])
			}
			sawAfter++
		}
	}
	// The readers must really have read while the refresh ran (else the
	// test proves nothing about blocking) and, after it, the new tables.
	if during == 0 {
		t.Errorf("no read ran entirely during the full refresh (%d reads): the test proves nothing", len(obs))
	}
	if sawAfter == 0 {
		t.Errorf("no read after the refresh saw the swapped-in tables")
	}
	t.Logf("%d reads (%d while the refresh ran, %d after it saw the new state); before %v, after %v; rebuilt %v",
		len(obs), during, sawAfter, before, after, res.Rebuilt)
}

// The item-level forecast adds the site rows' float8 values in site order,
// in the daily case as in a full rebuild: 0.1, 0.2 and 0.3 at sites 10, 20
// and 30 give (0.1 + 0.2) + 0.3, which is not 0.1 + (0.2 + 0.3) nor the
// decimal 0.6, whatever order the file lists them in.
func TestItemLevelSumInSiteOrder(t *testing.T) {
	t.Parallel()
	db, _ := loadedScenario(t)
	run(t, db.Pool, false)
	d := day("2025-01-01").AddDate(0, 0, 100)
	gen := time.Date(2025, 4, 12, 12, 0, 0, 0, time.UTC)
	values := map[string]float64{"10": 0.1, "20": 0.2, "30": 0.3}
	var rows []fcRow
	for _, s := range []int{2, 0, 1} { // not in site order
		site := sites[s]
		rows = append(rows, fcRow{Item: "FERRAMENTAS_ALICATE UNIVERSAL", Site: site.id, Deposito: site.depot, Date: d,
			Forecast: values[site.id], Source: "prophet", Model: "m9", Dataset: "ds1", Generated: gen})
	}
	addForecasts(t, db.Pool, "three_sites.csv", rows)
	a, b, c := values["10"], values["20"], values["30"]
	want := (a + b) + c
	if want == a+(b+c) {
		t.Fatal("the test needs values whose float sum depends on the order")
	}
	for _, full := range []bool{false, true} {
		run(t, db.Pool, full)
		var got float64
		if err := db.Pool.QueryRow(context.Background(), `SELECT forecast FROM gold.fact_forecast
			WHERE item_id = 'FERRAMENTAS_ALICATE UNIVERSAL' AND site_id = 'ALL' AND date = $1 AND source = 'prophet'`, d).Scan(&got); err != nil {
			t.Fatalf("full=%v: %v", full, err)
		}
		if got != want {
			t.Errorf("full=%v: item-level forecast %v (%b), want (0.1 + 0.2) + 0.3 = %v (%b)", full, got, got, want, want)
		}
	}
}

// meta.analyze_if_stale counts the rows of an inheritance tree (bronze
// tables whose parallel load stages are children): a few thousand rows
// inserted into the parent of a large tree are not a 10 % change, however
// few rows the parent holds itself; enough of them are.
func TestAnalyzeIfStaleCountsTheInheritanceTree(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	conn, err := db.Pool.Acquire(ctx) // one session: its statistics are flushed on demand
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// Each statement's counts reach the shared statistics before the next
	// one (else an INSERT's could land after the ANALYZE that follows it).
	exec := func(sql string) {
		t.Helper()
		for _, q := range []string{sql, `SELECT pg_stat_force_next_flush()`} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	stale := func() bool {
		t.Helper()
		var got bool
		if err := conn.QueryRow(ctx, `SELECT meta.analyze_if_stale('public.tree_parent')`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	exec(`CREATE TABLE public.tree_parent (x int) WITH (autovacuum_enabled = false)`)
	exec(`CREATE TABLE public.tree_child () INHERITS (public.tree_parent) WITH (autovacuum_enabled = false)`)
	exec(`INSERT INTO public.tree_child SELECT g FROM generate_series(1, 20000) g`)
	exec(`ANALYZE public.tree_child`)
	exec(`ANALYZE public.tree_parent`)
	if stale() {
		t.Fatal("stale right after ANALYZE")
	}
	exec(`INSERT INTO public.tree_parent SELECT g FROM generate_series(1, 1500) g`) // 7.5 % of the tree
	if stale() {
		t.Error("1,500 rows into the parent of a 20,000-row tree: analyzed, want not stale")
	}
	exec(`INSERT INTO public.tree_parent SELECT g FROM generate_series(1, 3000) g`) // 4,500 of 20,000
	if !stale() {
		t.Error("4,500 rows into the parent of a 20,000-row tree: not analyzed, want stale")
	}
	if stale() {
		t.Error("stale again right after its own ANALYZE")
	}
	// A new load stage: a child never analyzed, holding most of the rows.
	exec(`CREATE TABLE public.tree_stage () INHERITS (public.tree_parent) WITH (autovacuum_enabled = false)`)
	exec(`INSERT INTO public.tree_stage SELECT g FROM generate_series(1, 30000) g`)
	if !stale() {
		t.Error("a new 30,000-row stage in a 24,500-row tree: not analyzed, want stale")
	}
	if stale() {
		t.Error("stale again after the ANALYZE of the tree and of its new stage")
	}
}
