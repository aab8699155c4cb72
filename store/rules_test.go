package store_test

import (
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/novacorrente/novawh/store"
)

func day(s string) pgtype.Date {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return pgtype.Date{Time: t, Valid: true}
}

func f(v float64) *float64 { return &v }

func TestInventoryOf(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	critical := "critical"
	sites := []store.GetInventoryRow{
		{SiteID: "176", Date: day("2025-05-01"), CurrentStock: f(4), SafetyStock: f(1.5), ReorderPoint: f(10.5), DaysToRupture: f(3)},
		{SiteID: "22", Date: day("2025-04-15"), CurrentStock: f(7), SafetyStock: &nan, ReorderPoint: f(6.5)},
		{SiteID: "30", Date: day("2025-04-20"), CurrentStock: &inf},
	}
	inv, ok := store.InventoryOf(sites)
	if !ok || inv.Level != store.InventoryLevelSumOfSites || *inv.CurrentStock != 11 || *inv.SafetyStock != 1.5 ||
		*inv.ReorderPoint != 17 || inv.LastUpdated != day("2025-05-01") || inv.DaysToRupture != nil || len(inv.Sites) != 3 {
		t.Fatalf("sum of sites: %+v", inv)
	}
	withItem := append([]store.GetInventoryRow{{SiteID: store.ItemLevelSite, Date: day("2025-03-01"), CurrentStock: f(3),
		SafetyStock: f(2.5), ReorderPoint: &nan, DaysToRupture: f(2.6), StockStatus: &critical}}, sites...)
	inv, ok = store.InventoryOf(withItem)
	if !ok || inv.Level != store.InventoryLevelItem || *inv.CurrentStock != 3 || inv.ReorderPoint != nil ||
		*inv.DaysToRupture != 2.6 || *inv.StockStatus != "critical" || inv.LastUpdated != day("2025-03-01") || len(inv.Sites) != 3 {
		t.Fatalf("item level: %+v", inv)
	}
	none := []store.GetInventoryRow{{SiteID: "176", Date: day("2025-05-01")}}
	if inv, ok := store.InventoryOf(none); !ok || inv.CurrentStock != nil {
		t.Fatalf("no figures: %+v", inv)
	}
	if _, ok := store.InventoryOf(nil); ok {
		t.Fatal("no rows reported ok")
	}
}

func TestNewestGenerated(t *testing.T) {
	t.Parallel()
	at := func(s string) pgtype.Timestamptz {
		x, _ := time.Parse(time.RFC3339, s)
		return pgtype.Timestamptz{Time: x, Valid: true}
	}
	rows := []store.GetTimeseriesRow{
		{Source: "arima", ModelVersion: "a1", GeneratedAt: at("2025-11-10T03:00:00Z")},
		{Source: "ensemble", ModelVersion: "e1", GeneratedAt: at("2025-11-11T03:00:00Z")},
		{Source: "ensemble", ModelVersion: "e2", GeneratedAt: at("2025-11-11T03:00:00Z")}, // a tie: the first wins
	}
	if n, ok := store.NewestGenerated(rows); !ok || n.ModelVersion != "e1" {
		t.Fatalf("newest %+v", n)
	}
	if _, ok := store.NewestGenerated(nil); ok {
		t.Fatal("no rows reported ok")
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	r := store.GetAggregateRow{ForecastAvg7d: f(1), ActualTotal7d: f(2), ForecastAvg30d: f(3), Mape30d: f(0.25)}
	w7, err := r.Window(7)
	if err != nil || *w7.ForecastAvg != 1 || *w7.ActualTotal != 2 || w7.Mape != nil {
		t.Fatalf("7: %+v %v", w7, err)
	}
	w30, err := r.Window(30)
	if err != nil || *w30.ForecastAvg != 3 || *w30.Mape != 0.25 || w30.ActualTotal != nil {
		t.Fatalf("30: %+v %v", w30, err)
	}
	if _, err := r.Window(14); err == nil {
		t.Fatal("14-day window accepted")
	}
}

// A window the demand has left totals exactly 0, whatever the quantities
// were: a running total that subtracted them would leave 0.1 + 0.2 - 0.1 -
// 0.2 = 2.8e-17.
func TestDemandSeriesWindowsDoNotDrift(t *testing.T) {
	t.Parallel()
	row := func(d string, q float64) store.ListItemDemandRow {
		return store.ListItemDemandRow{Date: day(d), Unit: "UN", Quantity: q, Lines: 1}
	}
	a, b := 0.1, 0.2
	want := a + b // in float64, not Go's exact constant arithmetic
	rows := []store.ListItemDemandRow{row("2025-01-01", a), row("2025-01-02", b)}
	s := store.DemandSeriesOf(rows, "", day("2025-01-02").Time, day("2025-03-01").Time)
	for _, p := range s.Points {
		d := p.Date.Format(time.DateOnly)
		switch {
		case d == "2025-01-02" && (p.Total7d != want || p.Total30d != want):
			t.Errorf("%s: totals %v %v, want %v", d, p.Total7d, p.Total30d, want)
		case d >= "2025-01-10" && p.Total7d != 0:
			t.Errorf("%s: 7-day total %v, want 0", d, p.Total7d)
		case d >= "2025-02-02" && p.Total30d != 0:
			t.Errorf("%s: 30-day total %v, want 0", d, p.Total30d)
		}
	}
}
