package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/registry"
	"github.com/novacorrente/novawh/internal/testbin"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	testbin.Cleanup() // the novawh binary the crash test and benchmark built
	os.Exit(code)
}

// seedSQL fills gold with days of synthetic but realistic-shaped rows
// starting at day0: NULLs in nullable columns, accents, arrays with NULL
// elements and empty arrays, jsonb documents.
const seedSQL = `
INSERT INTO gold.dim_site (site_id, deposito, region)
SELECT 'S' || s, CASE WHEN s % 3 = 0 THEN NULL ELSE 'DEP' || s END, CASE WHEN s % 2 = 0 THEN 'Nordeste' ELSE 'São Paulo' END
FROM generate_series(1, @sites) s;

INSERT INTO gold.dim_item (item_id, sku, name, category, familia, erp_product_codes, in_item_master, updated_at)
SELECT 'FAMÍLIA_' || i, CASE WHEN i % 4 = 0 THEN NULL ELSE 'SKU' || i END, 'Item "' || i || '" ação',
       'cat' || (i % 3), 'FAM' || (i % 5),
       CASE i % 3 WHEN 0 THEN '{}'::text[] WHEN 1 THEN ARRAY['0' || i, '1' || i] ELSE ARRAY['0' || i, NULL] END,
       i % 2 = 0, timestamptz '2025-01-02 03:04:05.123456+00' + i * interval '1 second'
FROM generate_series(1, @items) i;

INSERT INTO gold.dim_time (date, year, quarter, month, day, day_of_week, iso_week, is_weekend, is_holiday, holiday_name)
SELECT d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d), extract(day FROM d),
       extract(isodow FROM d), extract(week FROM d), extract(isodow FROM d) >= 6,
       extract(day FROM d) = 1, CASE WHEN extract(day FROM d) = 1 THEN 'Dia ' || extract(month FROM d) END
FROM generate_series(@day0::date, @day0::date + @days - 1, interval '1 day') g(d);

INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, actual, lower, upper,
                                model_version, generated_at, dataset_id, mape, load_id, created_at,
                                forecast_avg_7d, actual_avg_7d, forecast_total_7d, actual_total_7d, mape_7d,
                                forecast_avg_30d, actual_avg_30d, forecast_total_30d, actual_total_30d, mape_30d)
SELECT x.*, forecast, actual, forecast::float8 * 7, actual::float8 * 7, mape, forecast, actual, forecast::float8 * 30,
       actual::float8 * 30, mape
FROM (SELECT d, 'FAMÍLIA_' || i, 'S' || s, src,
             ((i * 7 + s * 3 + extract(doy FROM d)::int) % 97) / 3.0,
             CASE WHEN (i + s) % 5 = 0 THEN NULL ELSE ((i * 11 + extract(doy FROM d)::int) % 89) / 7.0 END,
             ((i * 7 + s * 3) % 97) / 4.0, ((i * 7 + s * 3) % 97) / 2.0,
             'prophet-1.2', timestamptz '2025-06-01 12:00:00+00', 'nova-ds-7',
             CASE WHEN i % 7 = 0 THEN NULL ELSE 0.125 * (i % 9) END,
             CASE WHEN s % 4 = 0 THEN NULL ELSE 40 + s END,
             timestamptz '2025-06-02 00:00:00.000001+00'
      FROM generate_series(@day0::date, @day0::date + @days - 1, interval '1 day') g(d),
           generate_series(1, @items) i, generate_series(1, @sites) s, unnest(ARRAY['arima', 'xgboost']) src) x(date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id, mape, load_id, created_at);

INSERT INTO gold.fact_inventory (date, item_id, site_id, current_stock, safety_stock, reorder_point, days_to_rupture, stock_status)
SELECT d, 'FAMÍLIA_' || i, 'S' || s, (i * s) % 50, 5, 10, CASE WHEN i % 3 = 0 THEN NULL ELSE (i + s) % 30 END,
       CASE WHEN (i * s) % 50 < 10 THEN 'reorder' ELSE 'ok' END
FROM generate_series(@day0::date, @day0::date + @days - 1, interval '1 day') g(d),
     generate_series(1, @items) i, generate_series(1, @sites) s;
`

const seedExternalSQL = `
INSERT INTO gold.fact_external_daily (date, city, selic_rate, ipca_monthly, usd_brl_buy, usd_brl_sell, indicators,
       temp_min, temp_max, temp_mean, precipitation_sum, humidity_mean, wind_max, wind_mean, telecom_5g_count, telecom_count)
SELECT d, c, 11.75, 0.52, 5.1, 5.2, jsonb_build_object('bcb_sgs:432', 11.75, 'city', c),
       20, 31, 25.5, CASE WHEN c = 'ALL' THEN NULL ELSE 2.5 END, 70, 12, 6, 100, 1000
FROM generate_series(@day0::date, @day0::date + @days - 1, interval '1 day') g(d), unnest(ARRAY['ALL', 'salvador', 'são luís']) c;
`

// seedDemandSQL fills the demand tables of issue 12: per item, site (with
// the blank depot's '-1' and the item-level 'ALL') and day, units as part of
// the key, lead times with NULLs, suppliers with accents.
const seedDemandSQL = `
INSERT INTO gold.fact_demand (date, item_id, site_id, unit, quantity, lines, requests, suppliers, lead_time_lines,
       lead_time_days_avg, lead_time_days_max, load_id)
SELECT d, 'FAMÍLIA_' || i, s, CASE WHEN i % 5 = 0 THEN 'CX' ELSE 'UN' END, ((i * 3 + extract(doy FROM d)::int) % 17) + 0.5,
       1 + i % 3, 1 + i % 2, 1, CASE WHEN i % 4 = 0 THEN 0 ELSE 1 END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 9) + 0.25 END, CASE WHEN i % 4 = 0 THEN NULL ELSE i % 9 + 1 END, 70 + i % 3
FROM generate_series(@day0::date, @day0::date + @days - 1, interval '1 day') g(d),
     generate_series(1, @items) i, unnest(ARRAY['S1', '-1', 'ALL']) s
WHERE (i + extract(doy FROM d)::int) % 3 <> 0;

INSERT INTO gold.fact_demand_supplier (date, item_id, site_id, unit, supplier, quantity, lines, requests, lead_time_lines,
       lead_time_days_avg, lead_time_days_max, load_id)
SELECT date, item_id, site_id, unit, CASE WHEN lines % 2 = 0 THEN 'comercial são joão ltda' ELSE 'fornecedor ' || lines END,
       quantity, lines, requests, lead_time_lines, lead_time_days_avg, lead_time_days_max, load_id
FROM gold.fact_demand;

INSERT INTO gold.dim_supplier (supplier, supplier_name, lines, items, quantity, first_purchase, last_purchase,
       lead_time_lines, lead_time_days_median, lead_time_days_p90, negative_lead_time_lines)
SELECT supplier, upper(supplier), sum(lines), count(DISTINCT item_id), sum(quantity), min(date),
       CASE WHEN supplier LIKE 'comercial%' THEN NULL ELSE max(date) END, sum(lead_time_lines),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_time_days_avg), percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_time_days_avg), 0
FROM gold.fact_demand_supplier GROUP BY supplier;

INSERT INTO gold.agg_demand_rolling (date, item_id, site_id, unit, quantity, quantity_total_7d, quantity_avg_7d,
       quantity_total_30d, quantity_avg_30d, quantity_total_30d_prev_year)
SELECT date, item_id, site_id, unit, quantity, quantity * 7, quantity, quantity * 30, quantity,
       CASE WHEN extract(day FROM date) > 15 THEN quantity * 29 END
FROM gold.fact_demand;
`

type seed struct {
	day0               time.Time
	days, items, sites int
}

func (s seed) sql(q string) string {
	r := strings.NewReplacer("@day0", "'"+s.day0.Format(time.DateOnly)+"'", "@days", strconv.Itoa(s.days),
		"@items", strconv.Itoa(s.items), "@sites", strconv.Itoa(s.sites))
	return r.Replace(q)
}

// seedGold fills the gold tables; fact_external_daily only when both the
// registry and the database have it.
func seedGold(t testing.TB, pool *pgxpool.Pool, s seed) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, s.sql(seedSQL)); err != nil {
		t.Fatalf("seed gold: %v", err)
	}
	if hasTable(t, pool, "fact_external_daily") {
		if _, err := pool.Exec(ctx, s.sql(seedExternalSQL)); err != nil {
			t.Fatalf("seed gold.fact_external_daily: %v", err)
		}
	}
	if hasTable(t, pool, "fact_demand") {
		if _, err := pool.Exec(ctx, s.sql(seedDemandSQL)); err != nil {
			t.Fatalf("seed the gold demand tables: %v", err)
		}
	}
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
}

// hasTable reports whether both the registry and the database have the
// gold table.
func hasTable(t testing.TB, pool *pgxpool.Pool, name string) bool {
	reg := testRegistry(t)
	if _, ok := reg.Table("gold", name); !ok {
		return false
	}
	var ok bool
	if err := pool.QueryRow(context.Background(), "SELECT to_regclass('gold.' || $1) IS NOT NULL", name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func testRegistry(t testing.TB) *registry.Registry {
	t.Helper()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func mustRun(t testing.TB, pool *pgxpool.Pool, opts Options) Result {
	t.Helper()
	res, err := New(pool, testRegistry(t), testLogger(t)).Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("export %+v: %v", opts, err)
	}
	return res
}

func tableResult(t testing.TB, res Result, table string) TableResult {
	t.Helper()
	for _, tr := range res.Tables {
		if tr.Table == table {
			return tr
		}
	}
	t.Fatalf("no result for %s in %+v", table, res)
	return TableResult{}
}

func readManifest(t testing.TB, root, table string) *Manifest {
	t.Helper()
	return readLayerTable(t, root, "gold", table)
}

// readFileManifest reads the table manifest file in the table's folder.
func readFileManifest(t testing.TB, root, layer, table string) *Manifest {
	t.Helper()
	p := filepath.Join(root, layer, table, ManifestName)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(b, p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fileInfo is what the incremental tests compare between runs.
type fileInfo struct {
	sha   string
	mtime time.Time
	inode uint64
}

// snapshotFiles hashes every file under root (manifests included).
func snapshotFiles(t testing.TB, root string) map[string]fileInfo {
	t.Helper()
	out := map[string]fileInfo{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = fileInfo{sha: hex.EncodeToString(s[:]), mtime: fi.ModTime(), inode: inodeOf(fi)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readParquet opens a Parquet file and returns its schema and rows as
// canonical strings, one slice per row.
func readParquet(t testing.TB, r io.ReaderAt, size int64, name string) (*parquet.File, [][]string) {
	t.Helper()
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	cols := f.Schema().Fields()
	var out [][]string
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 256)
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				out = append(out, renderParquetRow(t, cols, row))
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		rows.Close()
	}
	return f, out
}

func renderParquetRow(t testing.TB, fields []parquet.Field, row parquet.Row) []string {
	t.Helper()
	out := make([]string, len(fields))
	byCol := make([][]parquet.Value, len(fields))
	for _, v := range row {
		byCol[v.Column()] = append(byCol[v.Column()], v)
	}
	for i, f := range fields {
		vals := byCol[i]
		if !f.Leaf() { // LIST<STRING>
			if len(vals) == 1 && vals[0].IsNull() && vals[0].DefinitionLevel() == 0 && f.Optional() {
				out[i] = "NULL"
				continue
			}
			var els []string
			for _, v := range vals {
				switch {
				case v.IsNull() && v.DefinitionLevel() == maxDefBase(f):
					// empty list marker
				case v.IsNull():
					els = append(els, "NULL")
				default:
					els = append(els, strconv.Quote(string(v.ByteArray())))
				}
			}
			out[i] = "[" + strings.Join(els, ",") + "]"
			continue
		}
		v := vals[0]
		if v.IsNull() {
			out[i] = "NULL"
			continue
		}
		switch logical(f.Type()).(type) {
		case *format.DateType:
			out[i] = dayString(v.Int32())
		case *format.TimestampType:
			out[i] = time.UnixMicro(v.Int64()).UTC().Format("2006-01-02T15:04:05.000000Z")
		}
		switch {
		case out[i] != "":
		case f.Type().Kind() == parquet.Double:
			out[i] = renderFloat(v.Double())
		case f.Type().Kind() == parquet.Int64:
			out[i] = strconv.FormatInt(v.Int64(), 10)
		case f.Type().Kind() == parquet.Int32:
			out[i] = strconv.FormatInt(int64(v.Int32()), 10)
		case f.Type().Kind() == parquet.Boolean:
			out[i] = strconv.FormatBool(v.Boolean())
		default:
			out[i] = strconv.Quote(string(v.ByteArray()))
		}
	}
	return out
}

// logical is the logical type of t, nil when it has none.
func logical(t parquet.Type) format.LogicalTypeValue {
	if lt := t.LogicalType(); lt != nil {
		return lt.Value
	}
	return nil
}

// maxDefBase is the definition level of an empty list.
func maxDefBase(f parquet.Field) int {
	if f.Optional() {
		return 1
	}
	return 0
}

func renderFloat(f float64) string {
	if math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// pgRows renders the rows of one partition as the Parquet side does, read
// through pgx's own decoding (independent of the exporter's decoder).
func pgRows(t testing.TB, pool *pgxpool.Pool, ts *tableSchema, fl *fileLayout, where string, args ...any) [][]string {
	t.Helper()
	var exprs []string
	var cols []column
	for i, c := range ts.cols {
		if fl.leaf[i] >= 0 {
			exprs = append(exprs, c.sqlExpr)
			cols = append(cols, c)
		}
	}
	q := fmt.Sprintf("SELECT %s FROM %s %s", strings.Join(exprs, ", "), ts.relation(), where)
	if ts.orderBy != "" {
		q += " ORDER BY " + ts.orderBy
	}
	rows, err := pool.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		r := make([]string, len(vals))
		for i, v := range vals {
			r[i] = renderGo(cols[i].regType, v)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func renderGo(regType string, v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		if regType == "date" {
			return x.Format(time.DateOnly)
		}
		return x.UTC().Format("2006-01-02T15:04:05.000000Z")
	case float64:
		return renderFloat(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return strconv.Quote(x)
	case []byte:
		return strconv.Quote(string(x))
	case []any:
		els := make([]string, len(x))
		for i, e := range x {
			if e == nil {
				els[i] = "NULL"
			} else {
				els[i] = strconv.Quote(e.(string))
			}
		}
		return "[" + strings.Join(els, ",") + "]"
	default:
		return fmt.Sprintf("%T(%v)", v, v)
	}
}
