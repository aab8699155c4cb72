package webui_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/webui"
)

// TestItemPagePeriodAndEmptyStates: the item page's default period ends on
// the item's last forecast or demand day (else today), spans at most 90
// days and does not start before the item's first day; a period without
// forecast, MAPE, demand or inventory says so (naming the last day there
// is) instead of drawing an empty chart; by default the inventory is the newest
// snapshot even when it is later than the last forecast, and with an
// explicit period it is the one on the period's end.
func TestItemPagePeriodAndEmptyStates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	// SHORT: 20 days of forecast (MAPE from the 7th day), demand on two
	// days, inventory snapshots on 03-10 and on 04-15 (after its last
	// forecast). LONG: 200 days of forecast without rolling figures. NONE:
	// nothing but its name.
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO gold.dim_site (site_id) VALUES ('S1') ON CONFLICT DO NOTHING;
		INSERT INTO gold.dim_item (item_id, name) VALUES ('SHORT', 'Short history'), ('LONG', 'Long history'), ('NONE', 'Nothing at all');
		INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id)
		SELECT date '2026-03-01' + g, 'SHORT', 'ALL', 'ensemble', 5, 4, 3, 7, 'v1', now(), 'd1' FROM generate_series(0, 19) g;
		INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id)
		SELECT date '2026-03-20' - g, 'LONG', 'ALL', 'ensemble', 5, 4, 3, 7, 'v1', now(), 'd1' FROM generate_series(0, 199) g;
		UPDATE gold.fact_forecast SET forecast_avg_7d = 5, mape_7d = 0.25
		WHERE item_id = 'SHORT' AND date BETWEEN date '2026-03-07' AND date '2026-03-20';
		INSERT INTO gold.fact_demand (date, item_id, site_id, unit, quantity, lines, requests, suppliers, lead_time_lines, load_id)
		VALUES ('2026-03-05', 'SHORT', 'ALL', 'UN', 3, 1, 1, 1, 0, 1), ('2026-03-12', 'SHORT', 'ALL', 'UN', 2, 1, 1, 1, 0, 1);
		INSERT INTO gold.fact_inventory (date, item_id, site_id, current_stock, safety_stock, reorder_point)
		VALUES ('2026-03-10', 'SHORT', 'S1', 7, 2, 4), ('2026-04-15', 'SHORT', 'S1', 9, 2, 4)`); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 30, 15, 4, 0, 0, time.UTC)
	_, ui := readerUI(t, db, webui.Options{Now: func() time.Time { return now }})

	for _, tc := range []struct {
		name, path string
		want, not  []string
	}{
		{"short history: from its first day to its last, newest inventory", "/items/SHORT",
			[]string{`name="start" value="2026-03-01"`, `name="end" value="2026-03-20"`, `id="chart-forecast"`, `id="chart-mape"`, `id="chart-demand"`,
				"snapshot of 2026-04-15 (the latest on or before 2026-04-15)", "/api/v1/inventory/SHORT?date=2026-04-15", `id="chart-inventory"`, `<text class="label" x="469" y="240" text-anchor="middle">site S1</text>`, "Level: sum of sites ·"},
			[]string{`id="no-forecast"`, `id="no-mape"`, `id="no-demand"`, `id="no-inventory"`}},
		{"long history: the last 90 days", "/items/LONG",
			[]string{`name="start" value="2025-12-21"`, `name="end" value="2026-03-20"`, `id="chart-forecast"`, `id="no-mape"`,
				`id="no-demand"`, "(the ERP export has no requisition for it)", `id="no-inventory"`, "No inventory snapshot on or before 2026-03-20."},
			[]string{`id="no-forecast"`, `id="chart-demand"`, `id="chart-mape"`}},
		{"nothing: the 90 days up to today", "/items/NONE",
			[]string{`name="start" value="2026-04-02"`, `name="end" value="2026-06-30"`,
				`id="no-forecast"`, "between 2026-04-02 and 2026-06-30 (it has no forecast).", `id="no-demand"`, "(the ERP export has no requisition for it)",
				"No inventory snapshot on or before 2026-06-30."},
			[]string{`id="chart-forecast"`, `id="chart-mape"`, "MAPE over time", `id="chart-demand"`, `id="no-mape"`}},
		{"a period before everything: messages naming the last days", "/items/SHORT?start=2026-01-01&end=2026-02-01",
			[]string{`id="no-forecast"`, "No forecast for this material between 2026-01-01 and 2026-02-01 (last forecast day: 2026-03-20).",
				`id="no-demand"`, "No demand recorded for this material between 2026-01-01 and 2026-02-01 (last demand: 2026-03-12).",
				`id="no-inventory"`, "No inventory snapshot on or before 2026-02-01.", "/api/v1/inventory/SHORT?date=2026-02-01"},
			[]string{`id="chart-forecast"`, `id="chart-mape"`, "MAPE over time", `id="chart-demand"`, `id="chart-inventory"`, `id="no-mape"`}},
		{"an explicit end: the inventory of that day", "/items/SHORT?start=2026-03-13&end=2026-03-31",
			[]string{`id="chart-forecast"`, "snapshot of 2026-03-10 (the latest on or before 2026-03-31)",
				`id="no-demand"`, "between 2026-03-13 and 2026-03-31 (last demand: 2026-03-12)."},
			[]string{`id="no-forecast"`, `id="chart-demand"`, "2026-04-15"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			ui.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			body := rec.Body.String()
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d\n%s", tc.path, rec.Code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s lacks %q", tc.path, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("%s has %q", tc.path, n)
				}
			}
			if t.Failed() {
				t.Logf("body:\n%s", body)
			}
		})
	}
}
