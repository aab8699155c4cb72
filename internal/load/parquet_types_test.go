package load

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/registry"
)

// parquetSources map the columns of the Parquet fixtures (written by DuckDB,
// scripts/load/mkparquet_duckdb.mjs) to bronze tables.
const parquetSources = `
sources:
  pq_forecasts:
    table: bronze.ml_forecasts
    format: parquet
    columns:
      item_id: [item_id]
      site_id: [site_id]
      series_key: [series_key]
      date: [date]
      forecast: [forecast]
      lower: [lower]
      upper: [upper]
      actual: [actual]
      arima_forecast: [arima_forecast]
      xgboost_forecast: [xgboost_forecast]
      familia: [familia]
      category: [category]
      region: [region]
      deposito: [deposito]
  pq_ts_s: {table: bronze.ml_forecasts, columns: {item_id: [item_id], site_id: [site_id], date: [date], forecast: [forecast], generated_at: [ts_s]}}
  pq_ts_ms: {table: bronze.ml_forecasts, columns: {item_id: [item_id], site_id: [site_id], date: [date], forecast: [forecast], generated_at: [ts_ms]}}
  pq_ts_us: {table: bronze.ml_forecasts, columns: {item_id: [item_id], site_id: [site_id], date: [date], forecast: [forecast], generated_at: [ts_us]}}
  pq_ts_ns: {table: bronze.ml_forecasts, columns: {item_id: [item_id], site_id: [site_id], date: [date], forecast: [forecast], generated_at: [ts_ns]}}
  pq_tstz: {table: bronze.ml_forecasts, columns: {item_id: [item_id], site_id: [site_id], date: [date], forecast: [forecast], generated_at: [tstz]}}
  pq_ptax_wall:
    table: bronze.fx_ptax
    filename_pattern: '^(?P<currency>[a-z]+)_timestamps$'
    columns: {currency: [currency], quoted_at: [ts_us], date: [date], buy_rate: [forecast]}
  pq_u8: {table: bronze.telecom_5g, columns: {ibge_code: [ibge_code], date: [date], count: [c_u8]}}
  pq_u16: {table: bronze.telecom_5g, columns: {ibge_code: [ibge_code], date: [date], count: [c_u16]}}
  pq_u32: {table: bronze.telecom_5g, columns: {ibge_code: [ibge_code], date: [date], count: [c_u32]}}
  pq_u64: {table: bronze.telecom_5g, columns: {ibge_code: [ibge_code], date: [date], count: [c_u64]}}
  pq_i8: {table: bronze.telecom_5g, columns: {ibge_code: [ibge_code], date: [date], count: [c_i8]}}
  pq_i16: {table: bronze.telecom_5g, columns: {ibge_code: [ibge_code], date: [date], count: [c_i16]}}
  pq_huge: {table: bronze.telecom_5g, columns: {ibge_code: [ibge_code], date: [date], count: [c_huge]}}
  pq_dec0: {table: bronze.telecom_5g, columns: {ibge_code: [ibge_code], date: [date], count: [c_dec]}}
  pq_time_text: {table: bronze.ml_forecasts, columns: {item_id: [item_id], site_id: [site_id], date: [date], forecast: [forecast], region: [t]}}
  pq_time_ts: {table: bronze.ml_forecasts, columns: {item_id: [item_id], site_id: [site_id], date: [date], forecast: [forecast], generated_at: [t]}}
  pq_interval: {table: bronze.ml_forecasts, columns: {item_id: [item_id], site_id: [site_id], date: [date], forecast: [forecast], region: [iv]}}
  pq_plain: {table: bronze.ml_forecasts, columns: {item_id: [item_id], site_id: [site_id], date: [date], forecast: [forecast]}}
  pq_go: {table: bronze.ml_forecasts, columns: {item_id: [item_id], site_id: [site_id], date: [date], arima_forecast: [dec_bytes], xgboost_forecast: [dec_fixed], generated_at: [ts96]}}
`

func parquetTestLoader(t *testing.T, db *pgtest.DB) *Loader {
	t.Helper()
	cfg := projectConfig(t)
	addSources(t, cfg, parquetSources)
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Check(reg); err != nil {
		t.Fatal(err)
	}
	return New(db.Pool, reg, cfg, testLogger(t))
}

func pqFixture(t *testing.T, name string) string {
	return filepath.Join(repoRoot(t), "testdata", "load", "parquet", name)
}

// Every Parquet logical type written by another writer (DuckDB) either loads
// exactly or refuses the file whole, naming the column and its type.
func TestParquetLogicalTypes(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	l := parquetTestLoader(t, db)
	ctx := context.Background()
	type outcome struct {
		source, file string
		status       string
		rejected     []string // reasons of rejected rows, in line order
		err          string
		query        string // over the load's rows ($1 = load_id), rows joined by " | "
		want         string
	}
	ts := `SELECT string_agg((generated_at AT TIME ZONE 'UTC')::text, ' | ' ORDER BY _line) FROM bronze.ml_forecasts WHERE _load_id = $1`
	count := `SELECT string_agg(count::text, ' | ' ORDER BY _line) FROM bronze.telecom_5g WHERE _load_id = $1`
	cases := []outcome{
		{source: "pq_forecasts", file: "duckdb_forecasts.parquet", status: "loaded",
			query: `SELECT string_agg(concat_ws(';', item_id, site_id, series_key, date, forecast, lower, upper, actual, arima_forecast, xgboost_forecast,
				familia, category, coalesce(region, 'NULL'), coalesce(deposito, 'NULL'), (generated_at AT TIME ZONE 'UTC')::text), ' | ' ORDER BY _line)
				FROM bronze.ml_forecasts WHERE _load_id = $1`,
			want: `ITEM_A;176;a;2025-01-01;12.34;123456789.01234567;2.5;0.1;1.5;-1234.567;{"k": [1, 2]};550e8400-e29b-41d4-a716-446655440000;NULL;-98765.4321000000;2025-11-11 06:00:00.123456` +
				` | ITEM_B;-1;b;1999-12-31;0.05;1e-10;0.1;1e+300;-0.5;0;"x";00000000-0000-0000-0000-000000000001;NE;NULL;1700-01-01 00:00:00`},
		{source: "pq_ts_s", file: "duckdb_timestamps.parquet", status: "loaded", query: ts,
			rejected: []string{"column generated_at (Parquet ts_s): timestamp -5000-01-01T00:00:00Z is outside PostgreSQL's timestamp range"},
			want:     "2025-11-11 06:00:00 | 1700-01-01 00:00:00 | 2300-06-01 12:00:00"},
		{source: "pq_ts_ms", file: "duckdb_timestamps.parquet", status: "loaded", query: ts,
			rejected: []string{"column generated_at (Parquet ts_ms): timestamp -5000-01-01T00:00:00Z is outside PostgreSQL's timestamp range"},
			want:     "2025-11-11 06:00:00 | 1700-01-01 00:00:00 | 2300-06-01 12:00:00"},
		{source: "pq_ts_us", file: "duckdb_timestamps.parquet", status: "loaded", query: ts,
			rejected: []string{"timestamp -5000-01-01T00:00:00Z is outside PostgreSQL's timestamp range"},
			want:     "2025-11-11 06:00:00 | 1700-01-01 00:00:00 | 2300-06-01 12:00:00"},
		{source: "pq_tstz", file: "duckdb_timestamps.parquet", status: "loaded", query: ts,
			rejected: []string{"timestamp -5000-01-01T00:00:00Z is outside PostgreSQL's timestamp range"},
			want:     "2025-11-11 06:00:00 | 1700-01-01 00:00:00 | 2300-06-01 12:00:00"},
		{source: "pq_ts_ns", file: "duckdb_timestamps.parquet", status: "loaded", query: ts,
			rejected: []string{`column generated_at: timestamp "2025-11-11T06:00:00.123456789" has a fraction of a microsecond: PostgreSQL keeps microseconds`},
			want:     "2025-11-11 06:00:00 | 1700-01-01 00:00:00 | 2200-06-01 12:00:00.000001"},
		{source: "pq_ptax_wall", file: "duckdb_timestamps.parquet", status: "loaded",
			query:    `SELECT string_agg(currency || ' ' || quoted_at::text, ' | ' ORDER BY _line) FROM bronze.fx_ptax WHERE _load_id = $1`,
			rejected: []string{"outside PostgreSQL's timestamp range"},
			want:     "duckdb 2025-11-11 06:00:00 | duckdb 1700-01-01 00:00:00 | duckdb 2300-06-01 12:00:00"},
		{source: "pq_u8", file: "duckdb_ints.parquet", status: "loaded", query: count, want: "1 | 0"},
		{source: "pq_u16", file: "duckdb_ints.parquet", status: "loaded", query: count, want: "65535 | 0"},
		{source: "pq_u32", file: "duckdb_ints.parquet", status: "loaded", query: count, want: "4294967295 | 0"},
		{source: "pq_u64", file: "duckdb_ints.parquet", status: "loaded", query: count, want: "9223372036854775807",
			rejected: []string{`column count: not an integer: "18446744073709551615"`}},
		// Negative values render exactly (and meet the registry's count >= 0).
		{source: "pq_i8", file: "duckdb_ints.parquet", status: "loaded", query: count, want: "127", rejected: []string{"column count: -128 violates count >= 0"}},
		{source: "pq_i16", file: "duckdb_ints.parquet", status: "loaded", query: count, want: "32767", rejected: []string{"column count: -32768 violates count >= 0"}},
		{source: "pq_dec0", file: "duckdb_ints.parquet", status: "loaded", query: count, want: "123456789012345678", rejected: []string{"column count: -1 violates count >= 0"}},
		// DuckDB writes HUGEINT as DOUBLE, which an integer column cannot hold exactly.
		{source: "pq_huge", file: "duckdb_ints.parquet", status: "failed",
			err: `Parquet column "c_huge" is DOUBLE, which cannot load exactly into bronze.telecom_5g.count (int): the file is refused whole`},
		{source: "pq_time_text", file: "duckdb_time_interval.parquet", status: "loaded",
			query: `SELECT region FROM bronze.ml_forecasts WHERE _load_id = $1`, want: "13:45:30.123456"},
		{source: "pq_time_ts", file: "duckdb_time_interval.parquet", status: "failed",
			err: `Parquet column "t" is INT64 TIME(isAdjustedToUTC=false,unit=MICROS), which cannot load exactly into bronze.ml_forecasts.generated_at (timestamp): the file is refused whole`},
		{source: "pq_interval", file: "duckdb_time_interval.parquet", status: "failed",
			err: `Parquet column "iv" is FIXED_LEN_BYTE_ARRAY INTERVAL, which cannot load exactly into bronze.ml_forecasts.region (string)`},
		{source: "pq_plain", file: "duckdb_list.parquet", status: "failed",
			err: `Parquet column "tags" is a LIST, a nested column: the loader reads flat files only, so the file is refused whole`},
		{source: "pq_plain", file: "duckdb_struct.parquet", status: "failed",
			err: `Parquet column "s" is a group (STRUCT), a nested column`},
	}
	for _, c := range cases {
		t.Run(c.source+"/"+c.file, func(t *testing.T) {
			t.Parallel()
			res, err := l.LoadPaths(ctx, c.source, []string{pqFixture(t, c.file)}, Options{Force: true, MaxRejectRatio: 1, Meta: flagMeta})
			if err != nil || len(res) != 1 {
				t.Fatalf("%+v %v", res, err)
			}
			r := res[0]
			checkLedger(t, db.Pool, l.cfg.Sources[c.source].Table, r)
			if r.Status != c.status || !strings.Contains(r.Error, c.err) {
				t.Fatalf("%s (%s), want %s (%s)", r.Status, r.Error, c.status, c.err)
			}
			if r.Status != "loaded" {
				return
			}
			reasons := column[string](t, db.Pool, `SELECT reason FROM meta.rejected_rows WHERE load_id = $1 ORDER BY line`, r.LoadID)
			if len(reasons) != len(c.rejected) {
				t.Fatalf("rejected %q, want %q", reasons, c.rejected)
			}
			for i := range reasons {
				if !strings.Contains(reasons[i], c.rejected[i]) {
					t.Errorf("rejected %q, want %q", reasons[i], c.rejected[i])
				}
			}
			if got := scalar[string](t, db.Pool, c.query, r.LoadID); got != c.want {
				t.Errorf("stored:\n  %s\nwant:\n  %s", got, c.want)
			}
		})
	}
}

// INT96 timestamps (Spark, Impala) and decimals on BYTE_ARRAY and
// FIXED_LEN_BYTE_ARRAY, which DuckDB does not write, written with
// parquet-go from values built by hand after the format's definition.
func TestParquetInt96AndByteDecimals(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 11, 11, 6, 0, 0, 123456000, time.UTC)
	nanos := uint64(at.Hour()*3600+at.Minute()*60+at.Second())*1e9 + uint64(at.Nanosecond())
	julian := uint32(at.Unix()/86400 + 2440588)
	// Columns of a group are in name order.
	schema := parquet.NewSchema("go", parquet.Group{
		"date":      parquet.String(),
		"dec_bytes": parquet.Decimal(3, 20, parquet.ByteArrayType),
		"dec_fixed": parquet.Decimal(2, 20, parquet.FixedLenByteArrayType(9)),
		"item_id":   parquet.String(),
		"site_id":   parquet.String(),
		"ts96":      parquet.Leaf(parquet.Int96Type),
	})
	mk := func(date string, decBytes []byte, decFixed [9]byte, ts deprecated.Int96) parquet.Row {
		return parquet.Row{
			parquet.ByteArrayValue([]byte(date)).Level(0, 0, 0),
			parquet.ByteArrayValue(decBytes).Level(0, 0, 1),
			parquet.FixedLenByteArrayValue(decFixed[:]).Level(0, 0, 2),
			parquet.ByteArrayValue([]byte("A")).Level(0, 0, 3),
			parquet.ByteArrayValue([]byte("1")).Level(0, 0, 4),
			parquet.Int96Value(ts).Level(0, 0, 5),
		}
	}
	neg := [9]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x85} // -123
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, schema)
	if _, err := w.WriteRows([]parquet.Row{
		mk("2025-01-01", []byte{0x30, 0x39}, [9]byte{8: 0x01}, deprecated.Int96{uint32(nanos), uint32(nanos >> 32), julian}), // 12.345, 0.01
		mk("2025-01-02", []byte{0xcf, 0xc7}, neg, deprecated.Int96{0, 0, 2440588}),                                           // -12.345, -1.23, 1970-01-01
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "go.parquet")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	db := pgtest.New(t)
	l := parquetTestLoader(t, db)
	res, err := l.LoadPaths(context.Background(), "pq_go", []string{file}, Options{Meta: flagMeta})
	if err != nil || len(res) != 1 || res[0].Status != "loaded" || res[0].RowsLoaded != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	got := scalar[string](t, db.Pool, `SELECT string_agg(arima_forecast || ' ' || xgboost_forecast || ' ' || (generated_at AT TIME ZONE 'UTC')::text, ' | ' ORDER BY _line)
		FROM bronze.ml_forecasts WHERE _load_id = $1`, res[0].LoadID)
	if want := "12.345 0.01 2025-11-11 06:00:00.123456 | -12.345 -1.23 1970-01-01 00:00:00"; got != want {
		t.Fatalf("stored %s, want %s", got, want)
	}
}
