package quality

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/realdata"
	"github.com/novacorrente/novawh/internal/refresh"
	"github.com/novacorrente/novawh/internal/testload"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// seed writes a small, consistent warehouse: ERP demand (one undated line
// of 200), forecasts with metadata, then refreshes gold.
func seed(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO meta.loads (load_id, source, file_name, file_sha256, status, rows_read, rows_loaded, min_date, max_date)
		VALUES (1, 'erp', 'custo.csv', 'a', 'loaded', 200, 200, '2025-01-01', '2025-03-31'),
		       (2, 'ml', 'f.csv', 'b', 'loaded', 180, 180, '2025-01-01', '2025-03-31')`)
	exec(`SELECT setval('meta.loads_load_id_seq', 10)`)
	exec(`INSERT INTO bronze.erp_requisitions (deposito, product_code, material, familia, quantity, solicited_date,
			supplier_name, purchase_date, _load_id, _line)
		SELECT CASE WHEN g % 2 = 0 THEN 'STC' END, '0100' || (g % 3), 'MAT ' || (g % 3), 'FAM', 1 + g % 5,
		       CASE WHEN g <> 7 THEN date '2025-01-01' + (g % 90) END,
		       'FORNECEDOR ' || (g % 4), date '2025-01-01' + (g % 90) + (g % 11), 1, g + 1
		FROM generate_series(1, 200) g`)
	exec(`INSERT INTO bronze.ml_forecasts (item_id, site_id, deposito, date, forecast, model_version, generated_at, source, dataset_id, _load_id, _line)
		SELECT 'FAM_MAT ' || (g % 2), '1', 'STC', date '2025-01-01' + (g / 2), (g % 7)::float8, 'v1', '2025-04-01', 'prophet', 'd1', 2, g + 1
		FROM generate_series(0, 179) g`)
	if _, err := refresh.New(pool, nil).Run(ctx, refresh.Options{}); err != nil {
		t.Fatal(err)
	}
}

func runChecks(t *testing.T, pool *pgxpool.Pool) Report {
	t.Helper()
	now := func() time.Time { return time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC) }
	rep, err := New(pool, nil, Config{FreshnessMaxAge: 72 * time.Hour, Now: now}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func failed(rep Report) []string {
	var out []string
	for _, r := range rep.Results {
		if !r.Passed {
			out = append(out, r.Check+" "+r.Table)
		}
	}
	return out
}

func TestChecksPassOnGoodData(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	seed(t, db.Pool)
	rep := runChecks(t, db.Pool)
	if !rep.Passed() || rep.Warnings != 0 {
		t.Errorf("failed checks on good data: %v", failed(rep))
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"RESULT", "unique_grain", "key_null_ratio", "1 ERP lines (", "0 error-level failures"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	// Every result is recorded.
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM meta.check_results WHERE run_id = $1`, rep.RunID).Scan(&n); err != nil || n != len(rep.Results) {
		t.Errorf("recorded %d results (%v), want %d", n, err, len(rep.Results))
	}
}

func TestChecksFailOnBadData(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, inject, want string // want: the failed checks, comma-separated
		level              string
	}{
		{"negative forecast", `UPDATE gold.fact_forecast SET forecast = -1 WHERE ctid = (SELECT ctid FROM gold.fact_forecast LIMIT 1)`, "forecast_non_negative gold.fact_forecast", LevelError},
		{"negative actual", `UPDATE gold.fact_forecast SET actual = -3 WHERE site_id = 'ALL' AND actual IS NOT NULL`, "actual_non_negative gold.fact_forecast", LevelError},
		{"blank metadata", `UPDATE gold.fact_forecast SET dataset_id = ' ' WHERE site_id = '1'`, "ml_metadata_present gold.fact_forecast", LevelError},
		{"ledger mismatch", `UPDATE meta.loads SET rows_loaded = 150, rows_read = 150 WHERE load_id = 1`, "rows_loaded_match_bronze meta.loads", LevelError},
		// Bronze changed behind gold's back: the dates are gone and gold no
		// longer matches the lines.
		{"many undated", `UPDATE bronze.erp_requisitions SET solicited_date = NULL WHERE _line < 20`,
			"key_null_ratio bronze.erp_requisitions,demand_matches_bronze gold.fact_demand,demand_lines_accounted gold.fact_demand", LevelError},
		{"orphan item", `DELETE FROM gold.dim_item WHERE item_id = 'FAM_MAT 1'`, "orphan_items gold.fact_forecast,orphan_items gold.fact_demand", LevelError},
		{"stale source", `UPDATE meta.loads SET max_date = '2025-03-01' WHERE load_id = 2`, "freshness source ml", LevelWarn},
		{"pending load", `INSERT INTO meta.loads (source, file_name, file_sha256, status) VALUES ('ml', 'g.csv', 'c', 'loaded')`, "loads_not_refreshed meta.refresh_loads", LevelWarn},
		{"demand changed", `UPDATE gold.fact_demand SET quantity = quantity + 1 WHERE ctid = (SELECT ctid FROM gold.fact_demand WHERE site_id = 'ALL' LIMIT 1)`,
			"demand_matches_bronze gold.fact_demand", LevelError},
		{"demand line lost", `DELETE FROM gold.fact_demand WHERE ctid = (SELECT ctid FROM gold.fact_demand WHERE site_id = 'ALL' ORDER BY lines LIMIT 1)`,
			"demand_matches_bronze gold.fact_demand,demand_lines_accounted gold.fact_demand", LevelError},
		{"negative demand", `UPDATE gold.fact_demand_supplier SET quantity = -1 WHERE ctid = (SELECT ctid FROM gold.fact_demand_supplier LIMIT 1)`,
			"demand_non_negative gold.fact_demand", LevelError},
		{"negative lead time", `UPDATE gold.dim_supplier SET lead_time_days_p90 = -2 WHERE ctid = (SELECT ctid FROM gold.dim_supplier LIMIT 1)`,
			"lead_time_non_negative gold.fact_demand", LevelError},
		{"purchase before request", `UPDATE bronze.erp_requisitions SET purchase_date = solicited_date - 3 WHERE _line < 6`,
			"purchase_before_request bronze.erp_requisitions", LevelWarn},
		{"orphan supplier", `DELETE FROM gold.dim_supplier WHERE ctid = (SELECT ctid FROM gold.dim_supplier LIMIT 1)`,
			"orphan_suppliers gold.fact_demand_supplier", LevelError},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			seed(t, db.Pool)
			if _, err := db.Pool.Exec(context.Background(), c.inject); err != nil {
				t.Fatal(err)
			}
			rep := runChecks(t, db.Pool)
			if f := strings.Join(failed(rep), ","); f != c.want {
				t.Fatalf("failed checks [%s], want exactly [%s]", f, c.want)
			}
			if got := rep.Passed(); got != (c.level != LevelError) {
				t.Errorf("Passed() = %v for a %s-level failure", got, c.level)
			}
		})
	}
}

// A check run whose session dies (its process killed) stays 'running'; the
// next check run marks it abandoned. A run that stops on an error with its
// connection alive records it as failed.
func TestKilledCheckRunIsMarkedAbandoned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	seed(t, db.Pool)
	cfg := Config{FreshnessMaxAge: 72 * time.Hour, Now: func() time.Time { return time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC) }}

	killed := New(db.Pool, nil, cfg)
	killed.afterStart = func(ctx context.Context, conn *pgx.Conn) error {
		var ok bool
		if err := db.Pool.QueryRow(ctx, `SELECT pg_terminate_backend($1, 60000)`, conn.PgConn().PID()).Scan(&ok); err != nil || !ok {
			return fmt.Errorf("terminate the check run's backend: %v %v", ok, err)
		}
		return nil
	}
	rep, err := killed.Run(ctx)
	if err == nil {
		t.Fatal("check run whose session was terminated: no error")
	}
	status := func(id int64) (string, string, bool) {
		t.Helper()
		var s, e string
		var fin bool
		if err := db.Pool.QueryRow(ctx, `SELECT status, coalesce(error, ''), finished_at IS NOT NULL FROM meta.check_runs WHERE run_id = $1`, id).Scan(&s, &e, &fin); err != nil {
			t.Fatal(err)
		}
		return s, e, fin
	}
	if s, _, _ := status(rep.RunID); s != "running" {
		t.Fatalf("killed check run %d: status %q, want it left 'running' as a dead process leaves it", rep.RunID, s)
	}

	failing := New(db.Pool, nil, cfg)
	failing.afterStart = func(context.Context, *pgx.Conn) error { return errors.New("injected failure") }
	frep, err := failing.Run(ctx)
	if err == nil {
		t.Fatal("injected failure: no error")
	}
	if s, e, fin := status(rep.RunID); s != "abandoned" || e != AbandonedReason || !fin {
		t.Errorf("killed check run after the next one: %q %q finished %v, want abandoned with the reason", s, e, fin)
	}
	if s, e, fin := status(frep.RunID); s != "failed" || e != "injected failure" || !fin {
		t.Errorf("failed check run: %q %q finished %v, want failed with its error", s, e, fin)
	}
	ok := runChecks(t, db.Pool)
	if s, _, fin := status(ok.RunID); s != "finished" || !fin {
		t.Errorf("complete check run: %q finished %v, want finished", s, fin)
	}
}

// TestRealDataDemandChecks: on the company's ERP export, loaded and
// refreshed like `novawh load` and `novawh refresh` do it, every demand
// check passes and the purchases dated before their request are a warning
// with their count (275 of the 4,188 lines with both dates).
func TestRealDataDemandChecks(t *testing.T) {
	t.Parallel()
	erp := realdata.Path(t, "docs/proj/dadosSuprimentos/custo_de_material_e_servicos.csv")
	db := pgtest.New(t)
	testload.Files(t, db.Pool, "erp_requisitions", erp)
	if _, err := refresh.New(db.Pool, nil).Run(context.Background(), refresh.Options{}); err != nil {
		t.Fatal(err)
	}
	rep, err := New(db.Pool, nil, Config{FreshnessMaxAge: 72 * time.Hour,
		Now: func() time.Time { return time.Date(2025, 10, 25, 12, 0, 0, 0, time.UTC) }}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f := failed(rep); strings.Join(f, ",") != "purchase_before_request bronze.erp_requisitions" {
		t.Errorf("failed checks %v, want only the purchase_before_request warning", f)
	}
	for _, r := range rep.Results {
		switch r.Check + " " + r.Table {
		case "purchase_before_request bronze.erp_requisitions":
			if r.Observed != 275 || r.Level != LevelWarn || !strings.Contains(r.Detail, "-941 days") {
				t.Errorf("purchase_before_request: %+v, want 275 lines (down to -941 days), warn", r)
			}
		case "demand_without_date bronze.erp_requisitions":
			if r.Observed != 19 || !strings.Contains(r.Detail, "42 units") {
				t.Errorf("demand_without_date: %+v, want 19 lines of 42 units", r)
			}
		case "demand_lines_accounted gold.fact_demand":
			if !strings.HasPrefix(r.Detail, "4207 ERP lines: 4188 in gold demand, 19 counted") {
				t.Errorf("demand_lines_accounted detail %q", r.Detail)
			}
		}
	}
	if !rep.Passed() || rep.Warnings != 1 {
		t.Errorf("passed %v with %d warnings, want passed with 1", rep.Passed(), rep.Warnings)
	}
}
