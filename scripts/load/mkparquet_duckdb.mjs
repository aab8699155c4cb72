// Writes the Parquet fixtures of the loader's logical-type tests
// (testdata/load/parquet/duckdb_*.parquet) with DuckDB, a writer that is not
// parquet-go, so that the loader is checked against another implementation
// of the format. The tests read the committed files: node is needed only to
// regenerate them.
//
//   cd interop && npm ci && cd .. && node scripts/load/mkparquet_duckdb.mjs
//
// (NODE_PATH=interop/node_modules works from anywhere.)
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..", "..");
const require = createRequire(path.join(root, "interop", "package.json"));
const { DuckDBInstance } = require("@duckdb/node-api");

const out = (name) => path.join(root, "testdata", "load", "parquet", name);

const files = {
  // Decimals on every physical type DuckDB uses (INT32, INT64, FIXED_LEN_BYTE_ARRAY;
  // negative ones, and one into a text column), FLOAT, an INTEGER code into a text
  // column, ENUM, JSON, UUID and TIMESTAMPTZ.
  "duckdb_forecasts.parquet": `
    SELECT * FROM (VALUES
      ('ITEM_A', 176::INTEGER, 'a'::ENUM('a', 'b'), DATE '2025-01-01', 12.34::DECIMAL(10,2), 123456789.0123456789::DECIMAL(38,10),
       2.5::FLOAT, 0.1::DOUBLE, 1.5::DECIMAL(4,1), -1234.567::DECIMAL(18,3),
       '{"k": [1, 2]}'::JSON, '550e8400-e29b-41d4-a716-446655440000'::UUID, NULL::VARCHAR, -98765.4321::DECIMAL(38,10),
       'arima-1', TIMESTAMPTZ '2025-11-11 06:00:00.123456+00', 'ensemble', 'ds-1'),
      ('ITEM_B', (-1)::INTEGER, 'b'::ENUM('a', 'b'), DATE '1999-12-31', 0.05::DECIMAL(10,2), 0.0000000001::DECIMAL(38,10),
       0.1::FLOAT, 1e300::DOUBLE, (-0.5)::DECIMAL(4,1), 0::DECIMAL(18,3),
       '"x"'::JSON, '00000000-0000-0000-0000-000000000001'::UUID, 'NE', NULL::DECIMAL(38,10),
       'arima-1', TIMESTAMPTZ '1700-01-01 00:00:00+00', 'ensemble', 'ds-1')
    ) t(item_id, site_id, series_key, date, forecast, lower, upper, actual, arima_forecast, xgboost_forecast,
        familia, category, region, deposito, model_version, generated_at, source, dataset_id)`,
  // One instant in every timestamp unit DuckDB writes; the last rows are
  // outside PostgreSQL's range or have nanoseconds.
  "duckdb_timestamps.parquet": `
    SELECT 'ITEM_A' AS item_id, '1' AS site_id, DATE '2025-01-01' + i::INTEGER AS date, i::DOUBLE AS forecast,
           'arima-1' AS model_version, 'ensemble' AS source, 'ds-1' AS dataset_id,
           ts::TIMESTAMP_S AS ts_s, ts::TIMESTAMP_MS AS ts_ms, ts AS ts_us, ts_ns, (ts || '+00')::TIMESTAMPTZ AS tstz
    FROM (VALUES
      (1, TIMESTAMP '2025-11-11 06:00:00', TIMESTAMP_NS '2025-11-11 06:00:00'),
      (2, TIMESTAMP '1700-01-01 00:00:00', TIMESTAMP_NS '1700-01-01 00:00:00'),
      (3, TIMESTAMP '2300-06-01 12:00:00', TIMESTAMP_NS '2200-06-01 12:00:00.000001'),
      (4, TIMESTAMP '-5000-01-01 00:00:00', TIMESTAMP_NS '2025-11-11 06:00:00.123456789')
    ) t(i, ts, ts_ns)`,
  // Integers of every width and signedness, HUGEINT and a DECIMAL(18,0).
  "duckdb_ints.parquet": `
    SELECT * FROM (VALUES
      ('2927408', DATE '2025-01-01', 1::UTINYINT, 65535::USMALLINT, 4294967295::UINTEGER, 18446744073709551615::UBIGINT,
       (-128)::TINYINT, (-32768)::SMALLINT, 170141183460469231731687303715884105727::HUGEINT, 123456789012345678::DECIMAL(18,0)),
      ('2927408', DATE '2025-02-01', 0::UTINYINT, 0::USMALLINT, 0::UINTEGER, 9223372036854775807::UBIGINT,
       127::TINYINT, 32767::SMALLINT, (-5)::HUGEINT, (-1)::DECIMAL(18,0))
    ) t(ibge_code, date, c_u8, c_u16, c_u32, c_u64, c_i8, c_i16, c_huge, c_dec)`,
  // TIME and INTERVAL: only text can hold a time of day; an interval nothing.
  "duckdb_time_interval.parquet": `
    SELECT 'ITEM_A' AS item_id, '1' AS site_id, DATE '2025-01-01' AS date, 1.0::DOUBLE AS forecast,
           TIME '13:45:30.123456' AS t, INTERVAL 3 DAY AS iv`,
  // Nested columns: the file is refused whole.
  "duckdb_list.parquet": `
    SELECT 'ITEM_A' AS item_id, '1' AS site_id, DATE '2025-01-01' AS date, 1.0::DOUBLE AS forecast, [1, 2, 3] AS tags`,
  "duckdb_struct.parquet": `
    SELECT 'ITEM_A' AS item_id, '1' AS site_id, DATE '2025-01-01' AS date, 1.0::DOUBLE AS forecast, {'a': 1, 'b': 'x'} AS s`,
};

const db = await DuckDBInstance.create(":memory:");
const conn = await db.connect();
await conn.run("SET autoinstall_known_extensions = false");
for (const [name, query] of Object.entries(files)) {
  await conn.run(`COPY (${query}) TO '${out(name)}' (FORMAT parquet)`);
  console.log("wrote", path.relative(root, out(name)));
}
