package webui

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBandPolygon: the forecast interval is one polygon along the upper
// values left to right, then back along the lower values right to left,
// skipping the days that lack either bound.
func TestBandPolygon(t *testing.T) {
	t.Parallel()
	d0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	day := func(i int) time.Time { return d0.AddDate(0, 0, i) }
	for _, tc := range []struct {
		name         string
		lower, upper []xy
		want         []int // the days of the polygon's points, in order: top then bottom
	}{
		{"every day", []xy{{day(0), 1, true}, {day(1), 2, true}, {day(2), 3, true}},
			[]xy{{day(0), 4, true}, {day(1), 5, true}, {day(2), 6, true}}, []int{0, 1, 2, 2, 1, 0}},
		{"a day without a lower bound", []xy{{day(0), 1, true}, {day(1), 0, false}, {day(2), 3, true}},
			[]xy{{day(0), 4, true}, {day(1), 5, true}, {day(2), 6, true}}, []int{0, 2, 2, 0}},
		{"no day with both", []xy{{day(0), 1, false}}, []xy{{day(0), 4, true}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newChart("c", "c", day(0), day(2), 10)
			c.band("band", tc.lower, tc.upper)
			if tc.want == nil {
				if len(c.Bands) != 0 {
					t.Fatalf("bands %v, want none", c.Bands)
				}
				return
			}
			if len(c.Bands) != 1 {
				t.Fatalf("%d bands, want 1", len(c.Bands))
			}
			got := strings.Fields(c.Bands[0].Points)
			if len(got) != len(tc.want) {
				t.Fatalf("points %q, want %d", got, len(tc.want))
			}
			half := len(tc.want) / 2
			for i, d := range tc.want {
				src := tc.upper
				if i >= half {
					src = tc.lower
				}
				var p xy
				for _, q := range src {
					if q.d.Equal(day(d)) {
						p = q
					}
				}
				if w := fmtPoint(c, p); got[i] != w {
					t.Errorf("point %d = %s, want %s (day %d)", i, got[i], w, d)
				}
			}
		})
	}
}

// fmtPoint writes a point as the chart's SVG does.
func fmtPoint(c *chart, p xy) string { return fmt.Sprintf("%.1f,%.1f", c.x(p.d), c.y(p.v)) }
