package load

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/registry"
	"github.com/novacorrente/novawh/internal/testbin"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	testbin.Cleanup()
	os.Exit(code)
}

// repoRoot is the checkout's root folder.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func corpus(tb testing.TB, name string) string {
	return filepath.Join(repoRoot(tb), "testdata", "load", name)
}

// testSources are extra sources defined the way a user would: YAML only.
const testSources = `
sources:
  erp_semicolon:
    table: bronze.erp_requisitions
    format: csv
    business_date: solicited_date
    dialect:
      delimiter: ";"
      decimal: ","
      thousands: "."
      encoding: latin-1
      date_layouts: ["02/01/2006"]
    columns:
      deposito: [DEPÓSITO]
      product_code: {headers: ["PRODUTO/SERVIÇO"], required: true}
      material: [MATERIAL]
      familia: [FAMÍLIA]
      supplier_name: [NOME FORNEC.]
      quantity: {headers: [QUANTIDADE], required: true}
      unit: [U.M.]
      requested_date: [DATA REQUISITADA]
      request_id: [SOLICITAÇÃO]
      solicited_date: [DATA SOLICITADO]
      purchase_date: [DATA DE COMPRA]
  fc_small:
    table: bronze.ml_forecasts
    dialect: {max_record_bytes: 4096}
    columns:
      item_id: {headers: [item_id], required: true}
      site_id: {headers: [site_id], required: true}
      date: {headers: [date, ds], required: true}
      forecast: {headers: [forecast], required: true}
      lower: [lower]
      upper: [upper]
`

// projectConfig is the sources: section of the project's novawh.yaml.
func projectConfig(tb testing.TB) Config {
	tb.Helper()
	f, err := config.Load(filepath.Join(repoRoot(tb), "novawh.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := LoadConfig(f)
	if err != nil {
		tb.Fatal(err)
	}
	addSources(tb, cfg, testSources)
	return cfg
}

// addSources adds the sources: of a YAML document to cfg.
func addSources(tb testing.TB, cfg Config, yaml string) {
	tb.Helper()
	extra, err := config.Parse([]byte(yaml), "test sources")
	if err != nil {
		tb.Fatal(err)
	}
	ecfg, err := LoadConfig(extra)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range ecfg.Sources {
		cfg.Sources[k] = v
	}
}

// column is the values of a one-column query over the load's rows.
func column[T any](tb testing.TB, pool *pgxpool.Pool, sql string, args ...any) []T {
	tb.Helper()
	rows, err := pool.Query(context.Background(), sql, args...)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[T])
	if err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return out
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(p))
	return len(p), nil
}

func newTestLoader(tb testing.TB, pool *pgxpool.Pool) *Loader {
	tb.Helper()
	reg, err := registry.Default()
	if err != nil {
		tb.Fatal(err)
	}
	return New(pool, reg, projectConfig(tb), testLogger(tb))
}

var genAt = time.Date(2025, 11, 11, 6, 0, 0, 0, time.UTC)

// flagMeta is what --model-version/--generated-at/--ml-source/--dataset-id give.
var flagMeta = MLMeta{ModelVersion: "arima-xgb-1.0", GeneratedAt: &genAt, Source: "ensemble", DatasetID: "nova-2025-11"}

func scalar[T any](tb testing.TB, pool *pgxpool.Pool, sql string, args ...any) T {
	tb.Helper()
	var v T
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return v
}

// checkLedger verifies that the load's meta.loads row, bronze rows and
// rejected rows agree with the result.
func checkLedger(tb testing.TB, pool *pgxpool.Pool, table string, r Result) {
	tb.Helper()
	ctx := context.Background()
	var status string
	var read, loaded, rejected int64
	if err := pool.QueryRow(ctx, `SELECT status, rows_read, rows_loaded, rows_rejected FROM meta.loads WHERE load_id = $1`, r.LoadID).
		Scan(&status, &read, &loaded, &rejected); err != nil {
		tb.Fatalf("meta.loads row %d of %s: %v", r.LoadID, r.File, err)
	}
	if status != r.Status || read != r.RowsRead || loaded != r.RowsLoaded || rejected != r.RowsRejected {
		tb.Errorf("meta.loads %d = %s %d/%d/%d, result %+v", r.LoadID, status, read, loaded, rejected, r)
	}
	if read != loaded+rejected {
		tb.Errorf("meta.loads %d: rows_read %d != rows_loaded %d + rows_rejected %d", r.LoadID, read, loaded, rejected)
	}
	n := scalar[int64](tb, pool, `SELECT count(*) FROM `+table+` WHERE _load_id = $1`, r.LoadID)
	rj := scalar[int64](tb, pool, `SELECT count(*) FROM meta.rejected_rows WHERE load_id = $1`, r.LoadID)
	if r.Status == "loaded" {
		if n != loaded || rj != rejected {
			tb.Errorf("load %d: %d bronze rows (want %d), %d rejected rows (want %d)", r.LoadID, n, loaded, rj, rejected)
		}
	} else if n != 0 || rj != 0 {
		tb.Errorf("%s load %d left %d bronze rows and %d rejected rows", r.Status, r.LoadID, n, rj)
	}
}
