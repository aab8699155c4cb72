package export

import (
	"strings"
	"testing"
)

func TestChooseGrain(t *testing.T) {
	t.Parallel()
	all := func(string) bool { return true }
	noMonth := func(g string) bool { return g != grainMonth }
	for _, tc := range []struct {
		name    string
		stats   grainStats
		prev    string
		allowed func(string) bool
		want    string
	}{
		// The cases: 920 forecast rows over 167 days, one external row a day.
		{"tiny table", grainStats{rows: 920, days: 167, months: 6}, "", all, grainNone},
		{"one row a day", grainStats{rows: 400, days: 400, months: 14}, "", all, grainNone},
		// 0.5M rows over two years: 700 a day, 21k a month.
		{"half a million rows", grainStats{rows: 511_700, days: 730, months: 24}, "", all, grainMonth},
		// 10M rows over a year: 27k a day.
		{"ten million rows", grainStats{rows: 9_992_000, days: 366, months: 12}, "", all, grainDay},
		{"exactly the target", grainStats{rows: 20_000, days: 2, months: 1}, "", all, grainDay},
		{"just below", grainStats{rows: 19_999, days: 2, months: 1}, "", all, grainMonth},
		// Hysteresis: a table already exported keeps its grain within a factor of two.
		{"keeps day at 6k a day", grainStats{rows: 60_000, days: 10, months: 1}, grainDay, all, grainDay},
		{"leaves day at 4k a day", grainStats{rows: 40_000, days: 10, months: 1}, grainDay, all, grainMonth},
		{"keeps month at 15k a day", grainStats{rows: 150_000, days: 10, months: 1}, grainMonth, all, grainMonth},
		{"leaves month at 25k a day", grainStats{rows: 250_000, days: 10, months: 1}, grainMonth, all, grainDay},
		{"keeps none at 8k a month", grainStats{rows: 16_000, days: 60, months: 2}, grainNone, all, grainNone},
		// A grain whose folders would shadow a column is never chosen.
		{"no month folders", grainStats{rows: 511_700, days: 730, months: 24}, "", noMonth, grainNone},
		{"empty table", grainStats{}, "", all, grainNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, rule := chooseGrain(tc.stats, tc.prev, DefaultMinRowsPerFile, tc.allowed)
			if got != tc.want {
				t.Fatalf("%+v prev %q: %s (%s), want %s", tc.stats, tc.prev, got, rule, tc.want)
			}
			if !strings.HasPrefix(rule, "auto: ") || !strings.Contains(rule, "per "+got+" partition") {
				t.Fatalf("rule %q", rule)
			}
		})
	}
}

func TestPartitionDirs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src        partSource
		grain, key string
		want       string
	}{
		{partByDate, grainDay, "2025-01-31", "date=2025-01-31"},
		{partByDate, grainMonth, "2025-01", "month=2025-01"},
		{partByDate, grainDay, nullKey, "date=__HIVE_DEFAULT_PARTITION__"},
		{partByDate, grainNone, "", ""},
		{partByLoad, grainDay, "2025-01-31", "year=2025/month=01/day=31"},
		{partByLoad, grainMonth, "2025-01", "year=2025/month=01"},
		{partNone, grainNone, "", ""},
	} {
		if got := partitionDir(tc.src, tc.grain, tc.key); got != tc.want {
			t.Errorf("partitionDir(%v, %s, %s) = %q, want %q", tc.src, tc.grain, tc.key, got, tc.want)
		}
	}
}
