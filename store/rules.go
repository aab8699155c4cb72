package store

// This file is written by hand (sqlc generate leaves it alone): the read
// rules the dashboards' API applies to the rows of the generated queries,
// so that a Go backend gets the same answers as the HTTP API.

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// ItemLevelSite is the site_id of the item-level rows of gold: the
// forecast summed over the item's sites, the item's total demand, an
// item-level inventory snapshot.
const ItemLevelSite = "ALL"

// Inventory levels (Inventory.Level).
const (
	InventoryLevelItem       = "item"         // an item-level snapshot (site_id = 'ALL') exists: its figures
	InventoryLevelSumOfSites = "sum_of_sites" // stock, safety stock and reorder point summed over the sites
)

// Inventory is an item's stock on a date: the item-level snapshot
// (site_id = 'ALL') when there is one, else the sum of each site's latest
// snapshot on or before the date. NaN and infinite figures count as
// missing.
type Inventory struct {
	Level         string
	CurrentStock  *float64
	SafetyStock   *float64
	ReorderPoint  *float64
	DaysToRupture *float64 // of the item-level snapshot only (a sum of sites has none)
	StockStatus   *string  // idem
	LastUpdated   pgtype.Date
	// Sites are each site's latest snapshot (the item-level row excluded),
	// ordered by site_id.
	Sites []GetInventoryRow
}

// ItemInventory returns the item's inventory on asOf by the rule of
// Inventory; ok is false when the item has no snapshot on or before asOf.
func (q *Queries) ItemInventory(ctx context.Context, itemID string, asOf pgtype.Date) (inv Inventory, ok bool, err error) {
	rows, err := q.GetInventory(ctx, GetInventoryParams{ItemID: itemID, AsOf: asOf})
	if err != nil {
		return Inventory{}, false, fmt.Errorf("inventory of %q: %w", itemID, err)
	}
	inv, ok = InventoryOf(rows)
	return inv, ok, nil
}

// InventoryOf applies the rule of Inventory to the rows of GetInventory
// (each site's latest snapshot, the item-level one included when it
// exists); ok is false when there are none.
func InventoryOf(rows []GetInventoryRow) (inv Inventory, ok bool) {
	if len(rows) == 0 {
		return Inventory{}, false
	}
	inv.Sites = make([]GetInventoryRow, 0, len(rows))
	var all *GetInventoryRow
	var cur, safety, reorder finiteSum
	for i, x := range rows {
		if x.SiteID == ItemLevelSite {
			all = &rows[i]
			continue
		}
		inv.Sites = append(inv.Sites, x)
		cur.add(x.CurrentStock)
		safety.add(x.SafetyStock)
		reorder.add(x.ReorderPoint)
		if !inv.LastUpdated.Valid || x.Date.Time.After(inv.LastUpdated.Time) {
			inv.LastUpdated = x.Date
		}
	}
	if all != nil {
		inv.Level = InventoryLevelItem
		inv.CurrentStock, inv.SafetyStock, inv.ReorderPoint = finite(all.CurrentStock), finite(all.SafetyStock), finite(all.ReorderPoint)
		inv.DaysToRupture, inv.StockStatus = finite(all.DaysToRupture), all.StockStatus
		inv.LastUpdated = all.Date
		return inv, true
	}
	inv.Level = InventoryLevelSumOfSites
	inv.CurrentStock, inv.SafetyStock, inv.ReorderPoint = cur.value(), safety.value(), reorder.value()
	return inv, true
}

// NewestGenerated returns the row of a series generated last (the first
// of them in the rows' order, date then source): its model_version,
// dataset_id and generated_at describe the series. ok is false for no rows.
func NewestGenerated(rows []GetTimeseriesRow) (newest GetTimeseriesRow, ok bool) {
	n := -1
	for i, p := range rows {
		if n < 0 || p.GeneratedAt.Time.After(rows[n].GeneratedAt.Time) {
			n = i
		}
	}
	if n < 0 {
		return GetTimeseriesRow{}, false
	}
	return rows[n], true
}

// Rolling windows of gold.agg_forecast_rolling, in days.
const (
	Window7  = 7
	Window30 = 30
)

// Rolling is the figures of one window of a gold.agg_forecast_rolling row.
type Rolling struct {
	ForecastAvg   *float64
	ActualAvg     *float64
	ForecastTotal *float64
	ActualTotal   *float64
	Mape          *float64
}

// Window returns the row's 7- or 30-day figures (GetAggregate reads both:
// sqlc types a CASE over them as non-null, which the NULLs of a series'
// first days would break).
func (r GetAggregateRow) Window(days int) (Rolling, error) {
	switch days {
	case Window7:
		return Rolling{r.ForecastAvg7d, r.ActualAvg7d, r.ForecastTotal7d, r.ActualTotal7d, r.Mape7d}, nil
	case Window30:
		return Rolling{r.ForecastAvg30d, r.ActualAvg30d, r.ForecastTotal30d, r.ActualTotal30d, r.Mape30d}, nil
	}
	return Rolling{}, fmt.Errorf("window must be %d or %d days, not %d", Window7, Window30, days)
}

// finiteSum adds the finite values it is given; value is nil when none.
type finiteSum struct {
	v  float64
	ok bool
}

func (s *finiteSum) add(p *float64) {
	if p = finite(p); p != nil {
		s.v += *p
		s.ok = true
	}
}

func (s *finiteSum) value() *float64 {
	if !s.ok {
		return nil
	}
	v := s.v
	return &v
}

// finite drops NaN and infinities to nil.
func finite(p *float64) *float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	return p
}

// DemandPoint is one day of an item's demand series.
type DemandPoint struct {
	Date     time.Time
	Quantity float64
	Lines    int32
	Total7d  float64 // the 7 calendar days ending at Date (days without demand count as 0)
	Total30d float64 // the 30 calendar days ending at Date
}

// DemandSeries is an item's daily demand at a site in one unit.
type DemandSeries struct {
	Unit   string   // "" when the window has no demand and no unit was asked for
	Units  []string // every unit of the window, the most ERP lines first
	Points []DemandPoint
}

// DemandWindowDays is how far before start the rows of DemandSeriesOf must
// reach (the 30-day total of start covers start-29..start).
const DemandWindowDays = 29

// ItemDemand returns the item's zero-filled demand series at site between
// start and end (inclusive) in unit ("": the unit with the most ERP lines
// in the window, start-29..end).
func (q *Queries) ItemDemand(ctx context.Context, itemID, site, unit string, start, end time.Time) (DemandSeries, error) {
	rows, err := q.ListItemDemand(ctx, ListItemDemandParams{ItemID: itemID, SiteID: site,
		FromDate: pgtype.Date{Time: start.AddDate(0, 0, -DemandWindowDays), Valid: true}, ToDate: pgtype.Date{Time: end, Valid: true}})
	if err != nil {
		return DemandSeries{}, fmt.Errorf("demand of %q: %w", itemID, err)
	}
	return DemandSeriesOf(rows, unit, start, end), nil
}

// DemandSeriesOf builds the series from the rows of ListItemDemand for
// start-29..end: one point for every day of start..end, the demand in unit
// ("": the unit with the most lines among the rows), and the 7- and 30-day
// calendar totals.
func DemandSeriesOf(rows []ListItemDemandRow, unit string, start, end time.Time) DemandSeries {
	lines := map[string]int64{}
	for _, r := range rows {
		lines[r.Unit] += int64(r.Lines)
	}
	s := DemandSeries{Units: make([]string, 0, len(lines))}
	for u := range lines {
		s.Units = append(s.Units, u)
	}
	sort.Slice(s.Units, func(i, j int) bool {
		a, b := s.Units[i], s.Units[j]
		if lines[a] != lines[b] {
			return lines[a] > lines[b]
		}
		return a < b
	})
	s.Unit = unit
	if s.Unit == "" && len(s.Units) > 0 {
		s.Unit = s.Units[0]
	}
	from := start.AddDate(0, 0, -DemandWindowDays)
	n := int(end.Sub(from).Hours()/24) + 1
	if n <= DemandWindowDays {
		return s
	}
	qty := make([]float64, n)
	cnt := make([]int32, n)
	for _, r := range rows {
		if r.Unit != s.Unit || !r.Date.Valid {
			continue
		}
		if i := int(r.Date.Time.Sub(from).Hours() / 24); i >= 0 && i < n {
			if v := finite(&r.Quantity); v != nil {
				qty[i] += *v
			}
			cnt[i] += r.Lines
		}
	}
	s.Points = make([]DemandPoint, 0, n-DemandWindowDays)
	// Each window is summed afresh, in date order (a running total that
	// subtracts the day leaving the window drifts: 0.1 + 0.2 - 0.1 - 0.2 is
	// not 0 in floating point, and a window without demand must say 0).
	sum := func(lo, hi int) (t float64) {
		for _, q := range qty[max(lo, 0) : hi+1] {
			t += q
		}
		return t
	}
	for i := DemandWindowDays; i < n; i++ {
		s.Points = append(s.Points, DemandPoint{Date: from.AddDate(0, 0, i), Quantity: qty[i], Lines: cnt[i],
			Total7d: sum(i-6, i), Total30d: sum(i-29, i)})
	}
	return s
}
