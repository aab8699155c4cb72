package webui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DefaultFreshness is how old a source's last successful load may be
// before the overview calls it late.
const DefaultFreshness = 26 * time.Hour

// Options tune the pages.
type Options struct {
	Logger *slog.Logger // nil: discard
	// Freshness is the expected age bound per source (Default otherwise).
	Freshness map[string]time.Duration
	// DefaultFreshness applies to the sources Freshness does not name
	// (0: DefaultFreshness).
	DefaultFreshness time.Duration
	// RequestTimeout bounds a page's database work (0: 15 s).
	RequestTimeout time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// Handler serves the pages.
type Handler struct {
	q     *store.Queries
	opts  Options
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New builds the pages over pool (the API's read-only pool).
func New(pool *pgxpool.Pool, opts Options) (*Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DefaultFreshness <= 0 {
		opts.DefaultFreshness = DefaultFreshness
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 15 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{q: store.New(pool), opts: opts, log: opts.Logger, pages: map[string]*template.Template{}}
	for _, name := range []string{"overview", "items", "item", "run", "error"} {
		t, err := template.New(name).Funcs(template.FuncMap{"base": func() string { return "" }}).
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("webui: template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", h.overview)
	m.HandleFunc("GET /items", h.items)
	m.HandleFunc("GET /items/{id}", h.item)
	m.HandleFunc("GET /runs/{id}", h.run)
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "Not found", "There is no page "+r.URL.Path+".")
	})
	h.mux = m
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t := h.pages[name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("webui: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	h.render(w, r, status, "error", map[string]string{"Title": title, "Message": msg})
}

func (h *Handler) dbFail(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("webui: database", "path", r.URL.EscapedPath(), "err", err)
	h.fail(w, r, http.StatusServiceUnavailable, "Unavailable", "The warehouse could not be read; try again.")
}

func (h *Handler) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), h.opts.RequestTimeout)
}

func fmtTS(t pgtype.Timestamptz) string {
	if !t.Valid {
		return ""
	}
	return t.Time.UTC().Format("2006-01-02 15:04 UTC")
}

func fmtAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.0f days", d.Hours()/24)
}

// latest and earliest return the later / earlier of two nullable days.
func latest(a, b pgtype.Date) pgtype.Date {
	if !a.Valid || (b.Valid && b.Time.After(a.Time)) {
		return b
	}
	return a
}

func earliest(a, b pgtype.Date) pgtype.Date {
	if !a.Valid || (b.Valid && b.Time.Before(a.Time)) {
		return b
	}
	return a
}

func dayText(d pgtype.Date) string {
	if !d.Valid {
		return ""
	}
	return d.Time.Format(time.DateOnly)
}

// hasDemand: some day of the series' period has demand.
func hasDemand(s store.DemandSeries) bool {
	for _, p := range s.Points {
		if p.Quantity != 0 || p.Lines != 0 {
			return true
		}
	}
	return false
}

func statusClass(s string) string {
	switch s {
	case "ok", "succeeded", "loaded", "passed":
		return "ok"
	case "running", "warning", "warn", "skipped":
		return "late"
	}
	return "failed"
}

// ---- overview ----

type sourceRow struct {
	Source, State, LastSuccess, Age, Expect, LastStatus string
	RowsLoaded, RowsRejected                            int64
}

type stepRow struct{ Name, Class string }

// tableRow is one table of "Rows per layer" (monitor.table_rows()).
type tableRow struct {
	Layer, Name string
	Rows        int64
	Estimated   bool // Rows is the statistics' estimate, not a count
}

type runRow struct {
	ID                                               int64
	Trigger, Status, Class, Started, Duration, Error string
	FailedStep                                       string
	Steps                                            []stepRow
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	now := h.opts.Now()
	var d struct {
		Title     string
		Now       string
		Sources   []sourceRow
		Runs      []runRow
		Tables    []tableRow
		Exports   []struct{ Target, Success, Failure string }
		Checks    []struct{ CheckName, TableName, Level, Class, Observed, Threshold, Detail string }
		Unmatched []store.GoldVItemsUnmatched
		API       []string
	}
	d.Title, d.Now = "Overview", now.UTC().Format("2006-01-02 15:04 UTC")
	d.API = []string{"/metrics", "/health", "/api/v1/data/refresh"}
	sources, err := h.q.ListSourceFreshness(ctx)
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	for _, s := range sources {
		expect := h.opts.DefaultFreshness
		if e, ok := h.opts.Freshness[s.Source]; ok {
			expect = e
		}
		row := sourceRow{Source: s.Source, LastSuccess: fmtTS(s.LastSuccessAt), Expect: fmtAge(expect), LastStatus: s.LastStatus,
			RowsLoaded: s.LastRowsLoaded, RowsRejected: s.LastRowsRejected, State: "ok"}
		switch {
		case s.LastStatus == "failed":
			row.State = "failed"
		case !s.LastSuccessAt.Valid:
			row.State = "late"
		case now.Sub(s.LastSuccessAt.Time) > expect:
			row.State = "late"
		}
		if s.LastSuccessAt.Valid {
			row.Age = fmtAge(now.Sub(s.LastSuccessAt.Time))
		}
		d.Sources = append(d.Sources, row)
	}
	runs, err := h.q.ListRuns(ctx, 10)
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	ids := make([]int64, 0, len(runs))
	for _, x := range runs {
		ids = append(ids, x.RunID)
	}
	steps, err := h.q.ListRunSteps(ctx, ids)
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	byRun := map[int64][]stepRow{}
	for _, s := range steps {
		byRun[s.RunID] = append(byRun[s.RunID], stepRow{Name: s.Name, Class: statusClass(s.Status)})
	}
	for _, x := range runs {
		d.Runs = append(d.Runs, runRow{ID: x.RunID, Trigger: x.Trigger, Status: x.Status, Class: statusClass(x.Status), Started: fmtTS(x.StartedAt),
			Duration: fmtAge(time.Duration(x.DurationSeconds * float64(time.Second))), Error: deref(x.Error), Steps: byRun[x.RunID]})
	}
	tables, err := h.q.ListTableRows(ctx)
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	for _, t := range tables {
		d.Tables = append(d.Tables, tableRow{Layer: t.Layer, Name: t.TableName, Rows: t.RowCount, Estimated: t.Estimated})
	}
	exports, err := h.q.ListExportFreshness(ctx)
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	for _, e := range exports {
		d.Exports = append(d.Exports, struct{ Target, Success, Failure string }{e.Target, fmtTS(e.LastSuccessAt), fmtTS(e.LastFailureAt)})
	}
	checks, err := h.q.ListLatestChecks(ctx)
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	for _, c := range checks {
		if c.Passed {
			continue
		}
		d.Checks = append(d.Checks, struct{ CheckName, TableName, Level, Class, Observed, Threshold, Detail string }{
			c.CheckName, c.TableName, c.Level, statusClass(c.Level), fmtNum(c.Observed), c.Threshold, deref(c.Detail)})
	}
	if d.Unmatched, err = h.q.ListUnmatchedItems(ctx, 20); err != nil {
		h.dbFail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "overview", &d)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ---- items ----

func (h *Handler) items(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	offset = min(max(offset, 0), math.MaxInt32) // ListItems takes an int32
	const limit = 50
	var pattern *string
	if q != "" {
		p := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
		pattern = &p
	}
	rows, err := h.q.ListItems(ctx, store.ListItemsParams{Pattern: pattern, PageLimit: limit, PageOffset: int32(offset)})
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	total, err := h.q.CountItems(ctx, pattern)
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	type item struct {
		ID, Path, Name, Category, LastDemand string
		HasForecast                          bool
	}
	var d struct {
		Title      string
		Q          string
		Total      int64
		Items      []item
		Prev, Next string
		API        []string
	}
	d.Title, d.Q, d.Total = "Items", q, total
	for _, it := range rows {
		ld := ""
		if it.LastDemandDate.Valid {
			ld = it.LastDemandDate.Time.Format(time.DateOnly)
		}
		d.Items = append(d.Items, item{ID: it.ItemID, Path: url.PathEscape(it.ItemID), Name: deref(it.Name), Category: deref(it.Category),
			HasForecast: it.HasForecast, LastDemand: ld})
	}
	page := func(off int) string {
		v := url.Values{"offset": {strconv.Itoa(off)}}
		if q != "" {
			v.Set("q", q)
		}
		return "items?" + v.Encode()
	}
	if offset > 0 {
		d.Prev = page(max(offset-limit, 0))
	}
	if int64(offset+limit) < total {
		d.Next = page(offset + limit)
	}
	api := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
	if q != "" {
		api.Set("q", q)
	}
	d.API = []string{"/api/v1/items?" + api.Encode()}
	h.render(w, r, http.StatusOK, "items", &d)
}

// ---- one item ----

func parseDay(s string, def time.Time) (time.Time, bool) {
	if s == "" {
		return def, true
	}
	d, err := time.Parse(time.DateOnly, s)
	return d, err == nil
}

func (h *Handler) item(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	id := r.PathValue("id")
	n := h.opts.Now().UTC()
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
	it, err := h.q.GetItem(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		h.fail(w, r, http.StatusNotFound, "Unknown item", "No material has the id "+id+".")
		return
	}
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	days, err := h.q.GetItemDays(ctx, id)
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	// The default period: the 90 days up to the item's last forecast or
	// demand (else today), not before its first one (a chart of a short
	// history is not three quarters empty).
	end, ok := parseDay(r.URL.Query().Get("end"), time.Time{})
	if !ok {
		h.fail(w, r, http.StatusBadRequest, "Bad date", "end must be YYYY-MM-DD.")
		return
	}
	explicitEnd := !end.IsZero()
	if !explicitEnd {
		end = today
		if d := latest(days.LastForecast, days.LastDemand); d.Valid {
			end = d.Time
		}
	}
	defStart := end.AddDate(0, 0, -89)
	if f := earliest(days.FirstForecast, days.FirstDemand); f.Valid && f.Time.After(defStart) && !f.Time.After(end) {
		defStart = f.Time
	}
	start, ok := parseDay(r.URL.Query().Get("start"), defStart)
	if !ok || start.After(end) || end.Sub(start) > 366*24*time.Hour {
		h.fail(w, r, http.StatusBadRequest, "Bad period", "start must be YYYY-MM-DD, on or before end, at most 366 days before it.")
		return
	}
	// Inventory: the stock on the period's end when one was asked for, else
	// the newest snapshot (which may be later than the last forecast).
	invAsOf := end
	if !explicitEnd && days.LastInventory.Valid && days.LastInventory.Time.After(invAsOf) {
		invAsOf = days.LastInventory.Time
	}
	pd := func(t time.Time) pgtype.Date { return pgtype.Date{Time: t, Valid: true} }
	ts, err := h.q.GetTimeseries(ctx, store.GetTimeseriesParams{ItemID: id, StartDate: pd(start), EndDate: pd(end)})
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	aggs, err := h.q.GetAggregate(ctx, store.GetAggregateParams{ItemIds: []string{id}, StartDate: pd(start), EndDate: pd(end)})
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	demand, err := h.q.ItemDemand(ctx, id, store.ItemLevelSite, "", start, end)
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	inv, hasInv, err := h.q.ItemInventory(ctx, id, pd(invAsOf))
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	esc := url.PathEscape(id)
	period := "start=" + start.Format(time.DateOnly) + "&end=" + end.Format(time.DateOnly)
	d := struct {
		Title, ID, Name, Category, Start, End, InventoryAsOf string
		LastDemand, LastForecast                             string // "" when none ever
		Forecast, Mape, Demand, InventoryChart               *chart
		Inventory                                            *struct{ Level, LastUpdated, DaysToRupture string }
		ForecastAPI, DemandAPI, InventoryAPI                 []string
	}{ID: id, Name: deref(it.Name), Category: deref(it.Category), Start: start.Format(time.DateOnly), End: end.Format(time.DateOnly),
		InventoryAsOf: invAsOf.Format(time.DateOnly), LastDemand: dayText(days.LastDemand), LastForecast: dayText(days.LastForecast),
		ForecastAPI:  []string{"/api/v1/items/" + esc + "/timeseries?" + period, "/api/v1/aggregates?window=7&" + period + "&item_id=" + url.QueryEscape(id)},
		DemandAPI:    []string{"/api/v1/items/" + esc + "/demand?" + period},
		InventoryAPI: []string{"/api/v1/inventory/" + esc + "?date=" + invAsOf.Format(time.DateOnly)}}
	if d.Name == "" {
		d.Name = id
	}
	d.Title = d.Name
	if len(ts) > 0 {
		d.Forecast, d.Mape = forecastCharts(ts, aggs, start, end)
	}
	if demand.Unit != "" && hasDemand(demand) {
		d.Demand = demandChart(demand, start, end)
	}
	if hasInv {
		d.Inventory = &struct{ Level, LastUpdated, DaysToRupture string }{strings.ReplaceAll(inv.Level, "_", " "), inv.LastUpdated.Time.Format(time.DateOnly), fmtPtr(inv.DaysToRupture)}
		d.InventoryChart = inventoryChart(inv)
	}
	h.render(w, r, http.StatusOK, "item", &d)
}

// forecastCharts draws forecast vs actual (one source: the row generated
// last per day), its band and the 7/30-day rolling forecast, and MAPE (nil
// when the period has no MAPE value).
func forecastCharts(ts []store.GetTimeseriesRow, aggs []store.GetAggregateRow, start, end time.Time) (*chart, *chart) {
	days := int(end.Sub(start).Hours()/24) + 1
	at := func(d time.Time) int { return int(d.Sub(start).Hours() / 24) }
	fc, ac, lo, hi, r7, r30, mp := make([]xy, days), make([]xy, days), make([]xy, days), make([]xy, days), make([]xy, days), make([]xy, days), make([]xy, days)
	newest := make([]time.Time, days)
	for i := range fc {
		d := start.AddDate(0, 0, i)
		fc[i], ac[i], lo[i], hi[i], r7[i], r30[i], mp[i] = xy{d: d}, xy{d: d}, xy{d: d}, xy{d: d}, xy{d: d}, xy{d: d}, xy{d: d}
	}
	set := func(s []xy, i int, p *float64) {
		if p != nil && !math.IsNaN(*p) && !math.IsInf(*p, 0) {
			s[i].v, s[i].ok = *p, true
		}
	}
	sources := map[string]string{}
	for _, p := range ts {
		i := at(p.Date.Time)
		if i < 0 || i >= days || (!newest[i].IsZero() && !p.GeneratedAt.Time.After(newest[i])) {
			continue
		}
		newest[i] = p.GeneratedAt.Time
		sources[p.Date.Time.Format(time.DateOnly)] = p.Source
		set(fc, i, p.Forecast)
		set(ac, i, p.Actual)
		set(lo, i, p.Lower)
		set(hi, i, p.Upper)
	}
	for _, a := range aggs {
		i := at(a.Date.Time)
		if i < 0 || i >= days || sources[a.Date.Time.Format(time.DateOnly)] != a.Source {
			continue
		}
		set(r7, i, a.ForecastAvg7d)
		set(r30, i, a.ForecastAvg30d)
		set(mp, i, a.Mape7d)
	}
	f := newChart("forecast", "Forecast vs actual", start, end, maxOf(fc, ac, hi, r7, r30))
	f.Legend = []legend{{"band (lower–upper)", "#9ec5ec"}, {"forecast", "#1f5fa8"}, {"actual", "#d0473d"}, {"7-day avg", "#2e8540"}, {"30-day avg", "#8a5cb8"}}
	f.band("band", lo, hi)
	f.line("forecast", fc)
	f.line("r7", r7)
	f.line("r30", r30)
	f.dots("actual", ac)
	f.Table.Head = []string{"date", "source", "forecast", "actual", "lower", "upper", "7-day avg", "30-day avg"}
	m := newChart("mape", "MAPE, 7-day mean (fraction)", start, end, maxOf(mp))
	m.Legend = []legend{{"MAPE 7 days", "#a05a00"}}
	m.line("mape", mp)
	m.dots("mape", mp)
	m.Table.Head = []string{"date", "mape_7d"}
	for i := range fc {
		if !fc[i].ok && !ac[i].ok {
			continue
		}
		v := func(x xy) string {
			if !x.ok {
				return ""
			}
			return fmtNum(x.v)
		}
		day := fc[i].d.Format(time.DateOnly)
		f.Table.Rows = append(f.Table.Rows, []string{day, sources[day], v(fc[i]), v(ac[i]), v(lo[i]), v(hi[i]), v(r7[i]), v(r30[i])})
		if mp[i].ok {
			m.Table.Rows = append(m.Table.Rows, []string{day, v(mp[i])})
		}
	}
	if len(m.Table.Rows) == 0 {
		return f, nil // no MAPE point: the page says so instead of an empty chart
	}
	return f, m
}

func demandChart(s store.DemandSeries, start, end time.Time) *chart {
	q, t7, t30 := make([]xy, len(s.Points)), make([]xy, len(s.Points)), make([]xy, len(s.Points))
	for i, p := range s.Points {
		q[i], t7[i], t30[i] = xy{p.Date, p.Quantity, true}, xy{p.Date, p.Total7d / 7, true}, xy{p.Date, p.Total30d / 30, true}
	}
	unit := s.Unit
	if unit == "" {
		unit = "no demand"
	}
	c := newChart("demand", "Daily demand ("+unit+")", start, end, maxOf(q, t7, t30))
	c.Legend = []legend{{"quantity", "#1f5fa8"}, {"7-day average", "#2e8540"}, {"30-day average", "#8a5cb8"}}
	c.bars("demand", q)
	c.line("total7", t7)
	c.line("total30", t30)
	c.Table.Head = []string{"date", "quantity", "lines", "total 7 days", "total 30 days"}
	for _, p := range s.Points {
		if p.Quantity != 0 || p.Lines != 0 {
			c.Table.Rows = append(c.Table.Rows, []string{p.Date.Format(time.DateOnly), fmtNum(p.Quantity), strconv.Itoa(int(p.Lines)), fmtNum(p.Total7d), fmtNum(p.Total30d)})
		}
	}
	return c
}

// inventoryChart: one bar of current stock per site (or the item level)
// against its safety stock and reorder point.
func inventoryChart(inv store.Inventory) *chart {
	rows := inv.Sites
	if inv.Level == store.InventoryLevelItem || len(rows) == 0 {
		rows = []store.GetInventoryRow{{SiteID: store.ItemLevelSite, Date: inv.LastUpdated, CurrentStock: inv.CurrentStock,
			SafetyStock: inv.SafetyStock, ReorderPoint: inv.ReorderPoint, DaysToRupture: inv.DaysToRupture, StockStatus: inv.StockStatus}}
	}
	ymax := 0.0
	for _, x := range rows {
		for _, p := range []*float64{x.CurrentStock, x.SafetyStock, x.ReorderPoint} {
			if p != nil && *p > ymax {
				ymax = *p
			}
		}
	}
	base := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newChart("inventory", "Stock against safety stock and reorder point", base, base.AddDate(0, 0, len(rows)), ymax)
	c.XFirst, c.XLast = "", ""
	c.Legend = []legend{{"current stock", "#1f5fa8"}, {"safety stock", "#b3261e"}, {"reorder point", "#a05a00"}}
	w := (c.Right - c.Left) / float64(len(rows))
	for i, x := range rows {
		x0 := c.Left + w*float64(i) + w*0.2
		if x.CurrentStock != nil && *x.CurrentStock > 0 {
			y := c.y(*x.CurrentStock)
			c.Bars = append(c.Bars, bar{Class: "stock", X: round1(x0), Y: round1(y), W: round1(w * 0.6), H: round1(c.Bottom - y)})
		}
		for _, l := range []struct {
			class string
			v     *float64
		}{{"safety", x.SafetyStock}, {"reorder", x.ReorderPoint}} {
			if l.v != nil {
				c.Lines = append(c.Lines, shape{Class: l.class, Points: fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x0, c.y(*l.v), x0+w*0.6, c.y(*l.v))})
			}
		}
		site := "site " + x.SiteID
		if x.SiteID == store.ItemLevelSite {
			site = "all sites"
		}
		c.Labels = append(c.Labels, label{X: round1(x0 + w*0.3), Text: site})
		c.Table.Rows = append(c.Table.Rows, []string{x.SiteID, x.Date.Time.Format(time.DateOnly), fmtPtr(x.CurrentStock), fmtPtr(x.SafetyStock), fmtPtr(x.ReorderPoint), fmtPtr(x.DaysToRupture), deref(x.StockStatus)})
	}
	c.Table.Head = []string{"site", "date", "current stock", "safety stock", "reorder point", "days to rupture", "status"}
	return c
}

// ---- one run ----

func (h *Handler) run(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "Bad run id", "A run id is a number.")
		return
	}
	x, err := h.q.GetRun(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		h.fail(w, r, http.StatusNotFound, "Unknown run", fmt.Sprintf("There is no run %d.", id))
		return
	}
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	steps, err := h.q.ListRunSteps(ctx, []int64{id})
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	rej, err := h.q.ListRunRejectedRows(ctx, store.ListRunRejectedRowsParams{RunStarted: x.StartedAt, RunFinished: x.FinishedAt, MaxRows: 50})
	if err != nil {
		h.dbFail(w, r, err)
		return
	}
	type step struct{ No, Name, Status, Class, Duration, Counts, Note, Error string }
	type rejected struct {
		File, Column, Reason, Raw string
		Line                      int64
	}
	d := struct {
		Title    string
		Run      runRow
		Steps    []step
		Rejected []rejected
	}{Title: fmt.Sprintf("Run %d", id), Run: runRow{ID: x.RunID, Trigger: x.Trigger, Status: x.Status, Class: statusClass(x.Status), Started: fmtTS(x.StartedAt),
		Duration: fmtAge(time.Duration(x.DurationSeconds * float64(time.Second))), Error: deref(x.Error), FailedStep: deref(x.FailedStep)}}
	for _, s := range steps {
		counts := s.Counts
		if counts == "{}" {
			counts = ""
		}
		d.Steps = append(d.Steps, step{No: strconv.Itoa(int(s.StepNo)), Name: s.Name, Status: s.Status, Class: statusClass(s.Status),
			Duration: fmt.Sprintf("%d ms", s.DurationMs), Counts: counts, Note: s.Note, Error: s.Error})
	}
	for _, j := range rej {
		d.Rejected = append(d.Rejected, rejected{File: j.FileName, Line: j.Line, Column: deref(j.ColumnName), Reason: j.Reason, Raw: j.Raw})
	}
	h.render(w, r, http.StatusOK, "run", &d)
}
