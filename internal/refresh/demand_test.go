package refresh

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// erpLine is one bronze.erp_requisitions row with every column the demand
// facts read.
type erpLine struct {
	Deposito, Code, Familia, Material, Supplier, Unit, Request string // blank = NULL
	Qty                                                        *float64
	Date, Purchase                                             *time.Time
}

func addERPLines(t testing.TB, pool *pgxpool.Pool, file string, lines []erpLine) int64 {
	t.Helper()
	id := addLoad(t, pool, "erp_requisitions", file, int64(len(lines)))
	_, err := pool.CopyFrom(context.Background(), pgx.Identifier{"bronze", "erp_requisitions"},
		[]string{"deposito", "product_code", "familia", "material", "supplier_name", "unit", "request_id", "quantity",
			"solicited_date", "purchase_date", "_load_id", "_line"},
		pgx.CopyFromSlice(len(lines), func(i int) ([]any, error) {
			l := lines[i]
			return []any{nullStr(l.Deposito), nullStr(l.Code), nullStr(l.Familia), nullStr(l.Material), nullStr(l.Supplier),
				nullStr(l.Unit), nullStr(l.Request), l.Qty, l.Date, l.Purchase, id, int64(i + 2)}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// demandRef computes the demand tables in Go from the current ERP lines
// (later loads and lines last). site maps a depot to its gold site.
type demandRef struct {
	lines []erpLine
	site  func(depot string) string
}

type demandKey struct {
	Item, Site, Unit string
	Date             time.Time
}

type demandVal struct {
	Qty                  float64
	Lines, Requests      int
	Suppliers, LeadLines int
	LeadAvg              *float64
	LeadMax              *int
}

type bridgeKey struct {
	demandKey
	Supplier string
}

type supplierVal struct {
	Name                    string
	Lines, Items, LeadLines int
	NegLines                int
	Qty                     float64
	First, Last             *time.Time
	Median, P90             *float64
}

type rollingVal struct {
	Qty, T7, A7, T30, A30 float64
	Prev                  *float64
}

func itemOf(l erpLine) string {
	return strings.TrimSpace(l.Familia) + "_" + strings.TrimSpace(l.Material)
}

// supplierKey is the matching form of a supplier name, as in SQL.
func supplierKey(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ToLower(s)
}

// minusYear is PostgreSQL's date - interval '1 year' (Feb 29 -> Feb 28).
func minusYear(t time.Time) time.Time {
	y := t.AddDate(-1, 0, 0)
	if y.Day() != t.Day() {
		y = y.AddDate(0, 0, -y.Day())
	}
	return y
}

// percentile is percentile_cont(p) over sorted values.
func percentile(sorted []float64, p float64) float64 {
	r := p * float64(len(sorted)-1)
	lo, hi := math.Floor(r), math.Ceil(r)
	return sorted[int(lo)] + (sorted[int(hi)]-sorted[int(lo)])*(r-lo)
}

func (d demandRef) facts() (map[demandKey]demandVal, map[bridgeKey]demandVal) {
	type acc struct {
		v         demandVal
		reqs, sup map[string]bool
		leadSum   int
	}
	facts := map[demandKey]*acc{}
	bridge := map[bridgeKey]*acc{}
	add := func(a *acc, l erpLine) {
		a.v.Qty += *l.Qty
		a.v.Lines++
		if l.Request != "" {
			a.reqs[l.Request] = true
		}
		if l.Supplier != "" {
			a.sup[supplierKey(l.Supplier)] = true
		}
		if l.Purchase != nil {
			if days := int(l.Purchase.Sub(*l.Date).Hours() / 24); days >= 0 {
				a.v.LeadLines++
				a.leadSum += days
				if a.v.LeadMax == nil || days > *a.v.LeadMax {
					a.v.LeadMax = &days
				}
			}
		}
	}
	get := func(m map[demandKey]*acc, k demandKey) *acc {
		if m[k] == nil {
			m[k] = &acc{reqs: map[string]bool{}, sup: map[string]bool{}}
		}
		return m[k]
	}
	for _, l := range d.lines {
		if l.Date == nil || l.Qty == nil {
			continue
		}
		k := demandKey{Item: itemOf(l), Site: d.site(l.Deposito), Unit: l.Unit, Date: *l.Date}
		add(get(facts, k), l)
		all := k
		all.Site = "ALL"
		add(get(facts, all), l)
		if l.Supplier != "" {
			bk := bridgeKey{k, supplierKey(l.Supplier)}
			if bridge[bk] == nil {
				bridge[bk] = &acc{reqs: map[string]bool{}, sup: map[string]bool{}}
			}
			add(bridge[bk], l)
		}
	}
	done := func(a *acc) demandVal {
		v := a.v
		v.Requests, v.Suppliers = len(a.reqs), len(a.sup)
		if v.LeadLines > 0 {
			v.LeadAvg = fp(float64(a.leadSum) / float64(v.LeadLines))
		}
		return v
	}
	outF := map[demandKey]demandVal{}
	for k, a := range facts {
		outF[k] = done(a)
	}
	outB := map[bridgeKey]demandVal{}
	for k, a := range bridge {
		v := done(a)
		v.Suppliers = 0 // the bridge has no suppliers column
		outB[k] = v
	}
	return outF, outB
}

func (d demandRef) suppliers() map[string]supplierVal {
	type acc struct {
		v        supplierVal
		items    map[string]bool
		spell    map[string]int
		lastSeen map[string]int
		leads    []float64
	}
	out := map[string]*acc{}
	for i, l := range d.lines {
		if l.Supplier == "" || strings.TrimSpace(l.Familia)+strings.TrimSpace(l.Material) == "" {
			continue
		}
		k := supplierKey(l.Supplier)
		a := out[k]
		if a == nil {
			a = &acc{items: map[string]bool{}, spell: map[string]int{}, lastSeen: map[string]int{}}
			out[k] = a
		}
		a.v.Lines++
		if l.Qty != nil {
			a.v.Qty += *l.Qty
		}
		a.items[itemOf(l)] = true
		name := strings.TrimSpace(l.Supplier)
		a.spell[name]++
		a.lastSeen[name] = i
		if l.Purchase != nil {
			if a.v.First == nil || l.Purchase.Before(*a.v.First) {
				a.v.First = l.Purchase
			}
			if a.v.Last == nil || l.Purchase.After(*a.v.Last) {
				a.v.Last = l.Purchase
			}
			if l.Date != nil {
				days := l.Purchase.Sub(*l.Date).Hours() / 24
				if days >= 0 {
					a.leads = append(a.leads, days)
				} else {
					a.v.NegLines++
				}
			}
		}
	}
	res := map[string]supplierVal{}
	for k, a := range out {
		v := a.v
		v.Items = len(a.items)
		best := ""
		for n, c := range a.spell {
			if best == "" || c > a.spell[best] || (c == a.spell[best] && a.lastSeen[n] > a.lastSeen[best]) {
				best = n
			}
		}
		v.Name = best
		v.LeadLines = len(a.leads)
		if len(a.leads) > 0 {
			sort.Float64s(a.leads)
			v.Median, v.P90 = fp(percentile(a.leads, 0.5)), fp(percentile(a.leads, 0.9))
		}
		res[k] = v
	}
	return res
}

func (d demandRef) rolling(facts map[demandKey]demandVal) map[demandKey]rollingVal {
	var lo, hi time.Time
	type series struct{ Item, Site, Unit string }
	byDay := map[series]map[time.Time]demandVal{}
	for k, v := range facts {
		if lo.IsZero() || k.Date.Before(lo) {
			lo = k.Date
		}
		if k.Date.After(hi) {
			hi = k.Date
		}
		s := series{k.Item, k.Site, k.Unit}
		if byDay[s] == nil {
			byDay[s] = map[time.Time]demandVal{}
		}
		byDay[s][k.Date] = v
	}
	out := map[demandKey]rollingVal{}
	sum := func(days map[time.Time]demandVal, from, to time.Time) (float64, int) {
		var q float64
		n := 0
		for t := from; !t.After(to); t = t.AddDate(0, 0, 1) {
			if v, ok := days[t]; ok {
				q += v.Qty
				n += v.Lines
			}
		}
		return q, n
	}
	for s, days := range byDay {
		for t := lo; !t.After(hi); t = t.AddDate(0, 0, 1) {
			t7, _ := sum(days, t.AddDate(0, 0, -6), t)
			t30, n30 := sum(days, t.AddDate(0, 0, -29), t)
			ya := minusYear(t)
			ty, ny := sum(days, ya.AddDate(0, 0, -29), ya)
			if n30 == 0 && ny == 0 {
				continue
			}
			wdays := func(w int) float64 {
				start := t.AddDate(0, 0, -(w - 1))
				if start.Before(lo) {
					start = lo
				}
				return t.Sub(start).Hours()/24 + 1
			}
			v := rollingVal{Qty: days[t].Qty, T7: t7, A7: t7 / wdays(7), T30: t30, A30: t30 / wdays(30)}
			if !ya.AddDate(0, 0, -29).Before(lo) {
				v.Prev = fp(ty)
			}
			out[demandKey{s.Item, s.Site, s.Unit, t}] = v
		}
	}
	return out
}

func closeI(a, b *int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func sameDate(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// compareDemand fails t when the demand tables differ from the reference.
func compareDemand(t *testing.T, pool *pgxpool.Pool, ref demandRef) {
	t.Helper()
	ctx := context.Background()
	wantF, wantB := ref.facts()
	bad := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if bad++; bad <= 12 {
			t.Errorf(format, args...)
		}
	}
	scanFacts := func(q string, bridge bool) map[bridgeKey]demandVal {
		rows, err := pool.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out := map[bridgeKey]demandVal{}
		for rows.Next() {
			var k bridgeKey
			var v demandVal
			dest := []any{&k.Item, &k.Site, &k.Unit, &k.Date, &v.Qty, &v.Lines, &v.Requests, &v.LeadLines, &v.LeadAvg, &v.LeadMax}
			if bridge {
				dest = append(dest, &k.Supplier)
			} else {
				dest = append(dest, &v.Suppliers)
			}
			if err := rows.Scan(dest...); err != nil {
				t.Fatal(err)
			}
			out[k] = v
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	cmp := func(what string, got map[bridgeKey]demandVal, want map[bridgeKey]demandVal) {
		t.Helper()
		if len(got) != len(want) {
			fail("%s: %d rows, want %d", what, len(got), len(want))
		}
		for k, w := range want {
			g, ok := got[k]
			if !ok || !near(g.Qty, w.Qty) || g.Lines != w.Lines || g.Requests != w.Requests || g.Suppliers != w.Suppliers ||
				g.LeadLines != w.LeadLines || !closeP(g.LeadAvg, w.LeadAvg) || !closeI(g.LeadMax, w.LeadMax) {
				fail("%s %+v: got %+v (present %v), want %+v", what, k, g, ok, w)
			}
		}
	}
	gotF := scanFacts(`SELECT item_id, site_id, unit, date, quantity, lines, requests, lead_time_lines,
		lead_time_days_avg, lead_time_days_max, suppliers FROM gold.fact_demand`, false)
	wf := map[bridgeKey]demandVal{}
	for k, v := range wantF {
		wf[bridgeKey{demandKey: k}] = v
	}
	cmp("fact_demand", gotF, wf)
	gotB := scanFacts(`SELECT item_id, site_id, unit, date, quantity, lines, requests, lead_time_lines,
		lead_time_days_avg, lead_time_days_max, supplier FROM gold.fact_demand_supplier`, true)
	cmp("fact_demand_supplier", gotB, wantB)

	wantS := ref.suppliers()
	rows, err := pool.Query(ctx, `SELECT supplier, supplier_name, lines, items, quantity, first_purchase, last_purchase,
		lead_time_lines, lead_time_days_median, lead_time_days_p90, negative_lead_time_lines FROM gold.dim_supplier`)
	if err != nil {
		t.Fatal(err)
	}
	gotS := map[string]supplierVal{}
	for rows.Next() {
		var k string
		var v supplierVal
		if err := rows.Scan(&k, &v.Name, &v.Lines, &v.Items, &v.Qty, &v.First, &v.Last, &v.LeadLines, &v.Median, &v.P90, &v.NegLines); err != nil {
			t.Fatal(err)
		}
		gotS[k] = v
	}
	if len(gotS) != len(wantS) {
		fail("dim_supplier: %d rows, want %d", len(gotS), len(wantS))
	}
	for k, w := range wantS {
		g, ok := gotS[k]
		if !ok || g.Name != w.Name || g.Lines != w.Lines || g.Items != w.Items || !near(g.Qty, w.Qty) || !sameDate(g.First, w.First) ||
			!sameDate(g.Last, w.Last) || g.LeadLines != w.LeadLines || !closeP(g.Median, w.Median) || !closeP(g.P90, w.P90) ||
			g.NegLines != w.NegLines {
			fail("dim_supplier %q: got %+v (present %v), want %+v", k, g, ok, w)
		}
	}

	wantR := ref.rolling(wantF)
	rows, err = pool.Query(ctx, `SELECT item_id, site_id, unit, date, quantity, quantity_total_7d, quantity_avg_7d,
		quantity_total_30d, quantity_avg_30d, quantity_total_30d_prev_year FROM gold.agg_demand_rolling`)
	if err != nil {
		t.Fatal(err)
	}
	gotR := map[demandKey]rollingVal{}
	for rows.Next() {
		var k demandKey
		var v rollingVal
		if err := rows.Scan(&k.Item, &k.Site, &k.Unit, &k.Date, &v.Qty, &v.T7, &v.A7, &v.T30, &v.A30, &v.Prev); err != nil {
			t.Fatal(err)
		}
		gotR[k] = v
	}
	if len(gotR) != len(wantR) {
		fail("agg_demand_rolling: %d rows, want %d", len(gotR), len(wantR))
	}
	for k, w := range wantR {
		g, ok := gotR[k]
		if !ok || !near(g.Qty, w.Qty) || !near(g.T7, w.T7) || !near(g.A7, w.A7) || !near(g.T30, w.T30) || !near(g.A30, w.A30) ||
			!closeP(g.Prev, w.Prev) {
			fail("agg_demand_rolling %+v: got %+v prev %v (present %v), want %+v prev %v", k, g, fmtP(g.Prev), ok, w, fmtP(w.Prev))
		}
	}
}

// demandHistory is two years and a bit of ERP demand with the shapes of the
// real export: several depots (ML sites, ERP-only depots, blank), an item
// in two units, suppliers spelled several ways, purchases before the
// request, lines without a date, quantity or request.
func demandHistory(rng *rand.Rand, from time.Time, days, n int) []erpLine {
	type mat struct{ familia, material, code string }
	mats := []mat{{"EPI", "LUVA DE RASPA", "010202"}, {"ABRASIVOS", "BATERIA 9V", "010303"}, {"FERRAMENTAS", "ALICATE", "010101"},
		{"EPI", "MASCARA DESCARTAVEL", "010404"}, {"MATERIAL CIVIL", `PREGO 2.1/2"X10MM`, "010825"}}
	depots := []string{"STC", "ALMOX-BA", "ESCRITÓRIO", "GERBA", ""}
	suppliers := []string{"ACME LTDA", "acme  ltda", " Acme Ltda ", "L.M.C LEMOS MATERIAIS", "Ferragens São João", "FERRAGENS SÃO JOÃO"}
	var out []erpLine
	for i := 0; i < n; i++ {
		m := mats[rng.IntN(len(mats))]
		l := erpLine{Deposito: depots[rng.IntN(len(depots))], Code: m.code, Familia: m.familia, Material: m.material,
			Unit: "UN", Request: fmt.Sprintf("%d", 90000+rng.IntN(n/3+1))}
		if m.material == "MASCARA DESCARTAVEL" && rng.IntN(3) == 0 {
			l.Unit = "CX"
		}
		if rng.IntN(5) > 0 {
			l.Supplier = suppliers[rng.IntN(len(suppliers))]
		}
		q := float64(1+rng.IntN(40)) / 4
		l.Qty = &q
		if rng.IntN(60) == 0 {
			l.Qty = nil
		}
		d := from.AddDate(0, 0, rng.IntN(days))
		if rng.IntN(50) != 0 {
			l.Date = &d
		}
		if rng.IntN(4) > 0 {
			p := d.AddDate(0, 0, rng.IntN(40)-6) // some purchases before the request
			l.Purchase = &p
		}
		if rng.IntN(30) == 0 {
			l.Request = ""
		}
		out = append(out, l)
	}
	return out
}

// demandSites maps the depots of demandHistory to gold sites: STC and
// ALMOX-BA are ML sites 176 and 22 (forecasts name them), the others are
// ERP-only depots, the blank depot is site -1.
func demandSites(depot string) string {
	switch depot {
	case "STC":
		return "176"
	case "ALMOX-BA":
		return "22"
	case "":
		return blankDepotSite
	}
	return depot
}

// addSiteForecasts gives sites 176 (STC) and 22 (ALMOX-BA) one forecast row
// each, so that they are ML sites with a depot.
func addSiteForecasts(t testing.TB, pool *pgxpool.Pool, d time.Time) {
	t.Helper()
	addForecasts(t, pool, "sites.csv", []fcRow{
		{Item: "EPI_LUVA DE RASPA", Site: "176", Deposito: "STC", Date: d, Forecast: 3, Source: "ensemble", Model: "m", Dataset: "d", Generated: d},
		{Item: "EPI_LUVA DE RASPA", Site: "22", Deposito: "ALMOX-BA", Date: d, Forecast: 2, Source: "ensemble", Model: "m", Dataset: "d", Generated: d},
	})
}

// TestDemandMatchesGoComputation: every demand table equals an independent
// Go computation after each of several loads (a first export, a new day in
// a separate file, a re-export of the first file that changes lines in the
// middle of the history, a few days in another file), and the incremental
// refreshes end where a full rebuild does.
func TestDemandMatchesGoComputation(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	rng := rand.New(rand.NewPCG(12, 34))
	from := day("2024-01-20") // the history spans 2024-02-29
	addSiteForecasts(t, db.Pool, from.AddDate(0, 0, 400))
	first := demandHistory(rng, from, 800, 1500)
	newDay := demandHistory(rng, from.AddDate(0, 0, 800), 1, 12)
	reexport := append([]erpLine{}, first[200:]...) // the re-export drops lines and changes others
	for i := 0; i < 100; i++ {
		reexport[i*7].Qty = fp(float64(i%9) + 0.25)
	}
	reexport = append(reexport, demandHistory(rng, from.AddDate(0, 0, 300), 40, 60)...)
	middle := demandHistory(rng, from.AddDate(0, 0, 500), 3, 30)

	steps := []struct {
		file    string
		lines   []erpLine
		current func() []erpLine
	}{
		{"custo_de_material_e_servicos.csv", first, func() []erpLine { return first }},
		{"custo_2026-03-30.csv", newDay, func() []erpLine { return append(append([]erpLine{}, first...), newDay...) }},
		{"custo_de_material_e_servicos.csv", reexport, func() []erpLine { return append(append([]erpLine{}, newDay...), reexport...) }},
		{"custo_extra.csv", middle, func() []erpLine {
			return append(append(append([]erpLine{}, newDay...), reexport...), middle...)
		}},
	}
	for i, s := range steps {
		addERPLines(t, db.Pool, s.file, s.lines)
		res := run(t, db.Pool, false)
		if res.Status != "ok" || res.Demand == nil {
			t.Fatalf("step %d: %+v, want demand rewritten", i, res)
		}
		if i == 1 && (res.Demand.All || !res.Demand.From.Equal(from.AddDate(0, 0, 800))) {
			t.Errorf("new day: demand window %s, want only %s", res.Demand, from.AddDate(0, 0, 800).Format(time.DateOnly))
		}
		t.Run(fmt.Sprintf("after load %d", i+1), func(t *testing.T) { compareDemand(t, db.Pool, demandRef{s.current(), demandSites}) })
	}
	// The history exercises the year-earlier totals, also on days whose
	// own 30 days hold no demand.
	var prev, onlyPrev, units int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE quantity_total_30d_prev_year > 0),
		count(*) FILTER (WHERE quantity_total_30d = 0 AND quantity_total_30d_prev_year > 0),
		(SELECT count(DISTINCT unit) FROM gold.fact_demand WHERE item_id = 'EPI_MASCARA DESCARTAVEL' AND site_id = 'ALL')
		FROM gold.agg_demand_rolling`).Scan(&prev, &onlyPrev, &units); err != nil || prev == 0 || onlyPrev == 0 || units != 2 {
		t.Errorf("rows with a year-earlier total %d, with only one %d, units of the two-unit item %d (%v); want > 0, > 0, 2", prev, onlyPrev, units, err)
	}
	inc := snapshot(t, db.Pool)
	full := run(t, db.Pool, true)
	if len(full.Rebuilt) == 0 {
		t.Errorf("full refresh rebuilt no table: %+v", full)
	}
	got := snapshot(t, db.Pool)
	for name := range got {
		if inc[name] != got[name] {
			t.Errorf("%s differs between incremental and full refresh:\n%s", name, firstDiff(inc[name], got[name]))
		}
	}
	compareDemand(t, db.Pool, demandRef{steps[3].current(), demandSites})
	checkActualIsDemand(t, db.Pool)
}

// TestSameInputTwiceSameGold: loading the same ERP export again (a new load
// of the same file that supersedes the first) and refreshing leaves every
// gold figure as it was (only load_id, the rows' lineage, names the new
// load).
func TestSameInputTwiceSameGold(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	rng := rand.New(rand.NewPCG(3, 4))
	from := day("2024-06-01")
	addSiteForecasts(t, db.Pool, from.AddDate(0, 0, 100))
	lines := demandHistory(rng, from, 500, 600)
	addERPLines(t, db.Pool, "custo_de_material_e_servicos.csv", lines)
	run(t, db.Pool, false)
	once := snapshotWithout(t, db.Pool, "load_id")
	addERPLines(t, db.Pool, "custo_de_material_e_servicos.csv", lines)
	res := run(t, db.Pool, false)
	if res.Status != "ok" || len(res.LoadsApplied) != 1 {
		t.Fatalf("second refresh %+v, want the reload applied", res)
	}
	twice := snapshotWithout(t, db.Pool, "load_id")
	for name := range once {
		if once[name] != twice[name] {
			t.Errorf("%s changed when the same export was loaded again:\n%s", name, firstDiff(once[name], twice[name]))
		}
	}
	if _, ok := res.Rows[TableAggDemandRolling]; res.DemandChanged != nil || ok {
		t.Errorf("the same export again: demand changed on %s, rolling rows %v; want no day changed, no rolling rewrite",
			res.DemandChanged, res.Rows)
	}

	// The next export: the same lines and one more day. Only that day is
	// rewritten, and gold ends where a full rebuild does.
	next := from.AddDate(0, 0, 501)
	grown := append(append([]erpLine{}, lines...), demandHistory(rng, next, 1, 15)...)
	addERPLines(t, db.Pool, "custo_de_material_e_servicos.csv", grown)
	res = run(t, db.Pool, false)
	if w := res.DemandChanged; w == nil || w.All || !w.From.Equal(next) || !w.To.Equal(next) {
		t.Errorf("an export grown by one day: demand changed on %s, want %s only", w, next.Format(time.DateOnly))
	}
	compareDemand(t, db.Pool, demandRef{grown, demandSites})
	inc := snapshot(t, db.Pool)
	run(t, db.Pool, true)
	full := snapshot(t, db.Pool)
	for name := range full {
		if inc[name] != full[name] {
			t.Errorf("%s differs between incremental and full refresh:\n%s", name, firstDiff(inc[name], full[name]))
		}
	}
}
