package migrate_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/migrate"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/registry"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func tableCount(t *testing.T, db *pgtest.DB) int {
	t.Helper()
	var n int
	err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('bronze','silver','gold','meta') AND c.relkind IN ('r','p','v','m')`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// emptyWarehouse is a new empty database and a migrator on it, closed at
// the end of the test.
func emptyWarehouse(t *testing.T) (*pgtest.DB, *migrate.Migrator) {
	t.Helper()
	db := pgtest.NewEmpty(t)
	m, err := migrate.New(context.Background(), db.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return db, m
}

// Every migration goes up, all the way down, and up again; the registry
// matches the catalog after each up.
func TestUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, m := emptyWarehouse(t)
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	latest, err := migrate.Latest()
	if err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		drifts, err := registry.Check(ctx, db.Pool, reg)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range drifts {
			t.Errorf("%s: drift: %s", stage, d)
		}
	}
	for round := 1; round <= 2; round++ {
		if err := m.Up(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		v, dirty, err := m.Version()
		if err != nil || dirty || v != latest {
			t.Fatalf("round %d: version %d dirty %v err %v, want %d", round, v, dirty, err, latest)
		}
		check("after up")
		if round == 2 {
			break
		}
		// Step down one version at a time so each .down.sql runs on its own.
		versions, err := migrate.Versions()
		if err != nil {
			t.Fatal(err)
		}
		for i := len(versions) - 1; i >= 0; i-- {
			if err := m.Down(1); err != nil {
				t.Fatalf("down from %d: %v", versions[i], err)
			}
		}
		v, _, err = m.Version()
		if err != nil || v != 0 {
			t.Fatalf("after down: version %d err %v", v, err)
		}
		if n := tableCount(t, db); n != 0 {
			t.Fatalf("after down: %d tables remain in the warehouse schemas", n)
		}
	}
}

// A column dropped by hand is reported by name.
func TestRegistryCheckDetectsDrift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, ddl, want string
	}{
		{"dropped column", `ALTER TABLE bronze.raw_responses DROP COLUMN content_type`, "bronze.raw_responses.content_type: missing from the database"},
		{"changed type", `ALTER TABLE bronze.raw_responses ALTER COLUMN status_code TYPE numeric`, "bronze.raw_responses.status_code: type is numeric in the database, registry says int32"},
		{"dropped table", `DROP TABLE meta.watermarks`, "meta.watermarks: missing from the database"},
		{"extra table", `CREATE TABLE silver.surprise (x int)`, "silver.surprise: table exists in the database but not in the registry"},
		{"extra column", `ALTER TABLE gold.dim_site ADD COLUMN x int`, "gold.dim_site.x: exists in the database but not in the registry"},
		{"nullability", `ALTER TABLE meta.loads ALTER COLUMN source DROP NOT NULL`, "meta.loads.source: nullable is true in the database, registry says false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			if d, err := registry.Check(ctx, db.Pool, reg); err != nil || len(d) != 0 {
				t.Fatalf("fresh database drifts: %v %v", d, err)
			}
			if _, err := db.Pool.Exec(ctx, tc.ddl); err != nil {
				t.Fatal(err)
			}
			drifts, err := registry.Check(ctx, db.Pool, reg)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range drifts {
				got = append(got, d.String())
			}
			if !strings.Contains(strings.Join(got, "\n"), tc.want) {
				t.Fatalf("drifts %q do not contain %q", got, tc.want)
			}
		})
	}
}

// Migration 000400 moves the rolling figures of gold.agg_forecast_rolling
// into columns of gold.fact_forecast (the view shows them) and back down:
// figures written before either step survive it.
func TestRollingColumnsCarryOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, m := emptyWarehouse(t)
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	if err := m.Down(1); err != nil {
		t.Fatal(err)
	}
	if v, _, err := m.Version(); err != nil || v != 350 {
		t.Fatalf("version %d (%v), want 350: the test is about migration 400", v, err)
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, actual, model_version, generated_at, dataset_id, mape)
		VALUES ('2025-01-02', 'I', 'ALL', 'arima', 4, 5, 'v', now(), 'd', 0.2), ('2025-01-03', 'I', 'ALL', 'arima', 6, NULL, 'v', now(), 'd', NULL)`)
	exec(`INSERT INTO gold.agg_forecast_rolling VALUES
		('2025-01-02', 'I', 'ALL', 'arima', 4, 5, 4, 5, 4, 5, 0.2, 4, 5, 4, 5, 0.2),
		('2025-01-03', 'I', 'ALL', 'arima', 6, NULL, 5, 5, 10, 5, 0.2, 5, 5, 10, 5, 0.2)`)
	const rolling = `SELECT string_agg(concat_ws(',', date, forecast, actual, forecast_avg_7d, actual_avg_7d, forecast_total_7d,
		actual_total_7d, mape_7d, forecast_avg_30d, actual_avg_30d, forecast_total_30d, actual_total_30d, mape_30d), ';' ORDER BY date)
		FROM gold.agg_forecast_rolling`
	want := "2025-01-02,4,5,4,5,4,5,0.2,4,5,4,5,0.2;2025-01-03,6,5,5,10,5,0.2,5,5,10,5,0.2"
	for _, step := range []struct {
		name string
		run  func() error
		kind string
	}{{"up", m.Up, "v"}, {"down", func() error { return m.Down(1) }, "r"}} {
		if err := step.run(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		var got, kind string
		if err := db.Pool.QueryRow(ctx, rolling).Scan(&got); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if err := db.Pool.QueryRow(ctx, `SELECT relkind::text FROM pg_class WHERE oid = 'gold.agg_forecast_rolling'::regclass`).Scan(&kind); err != nil {
			t.Fatal(err)
		}
		if got != want || kind != step.kind {
			t.Errorf("after %s: gold.agg_forecast_rolling (relkind %s, want %s) holds\n%s\nwant\n%s", step.name, kind, step.kind, got, want)
		}
	}
}
