package store_test

import (
	"testing"
	"time"

	"github.com/novacorrente/novawh/store"
)

// DemandSeriesOf: zero-filled days, calendar 7/30-day totals that reach
// before start, the default unit (most lines, then name), other units
// left out.
func TestDemandSeriesOf(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time { x, _ := time.Parse(time.DateOnly, s); return x }
	rows := []store.ListItemDemandRow{
		{Date: day("2025-03-20"), Unit: "UN", Quantity: 4, Lines: 1}, // 29 days before start: in the 30-day total of 04-18 only
		{Date: day("2025-04-18"), Unit: "UN", Quantity: 1, Lines: 2},
		{Date: day("2025-04-19"), Unit: "CX", Quantity: 50, Lines: 1},
		{Date: day("2025-04-20"), Unit: "UN", Quantity: 2, Lines: 1},
	}
	s := store.DemandSeriesOf(rows, "", at("2025-04-18"), at("2025-04-25"))
	if s.Unit != "UN" || len(s.Units) != 2 || s.Units[0] != "UN" || s.Units[1] != "CX" || len(s.Points) != 8 {
		t.Fatalf("series %+v", s)
	}
	want := [][3]float64{{1, 1, 5}, {0, 1, 1}, {2, 3, 3}, {0, 3, 3}, {0, 3, 3}, {0, 3, 3}, {0, 3, 3}, {0, 2, 3}}
	for i, p := range s.Points {
		if p.Date != at("2025-04-18").AddDate(0, 0, i) || p.Quantity != want[i][0] || p.Total7d != want[i][1] || p.Total30d != want[i][2] {
			t.Errorf("point %d: %+v, want %v", i, p, want[i])
		}
	}
	cx := store.DemandSeriesOf(rows, "CX", at("2025-04-18"), at("2025-04-19"))
	if cx.Unit != "CX" || cx.Points[1].Quantity != 50 || cx.Points[0].Total30d != 0 {
		t.Errorf("CX %+v", cx)
	}
	if none := store.DemandSeriesOf(nil, "", at("2025-04-18"), at("2025-04-19")); none.Unit != "" || len(none.Units) != 0 || len(none.Points) != 2 {
		t.Errorf("no rows %+v", none)
	}
}
