// Independent reader check of a novawh Parquet export: DuckDB (from npm,
// offline) reads each layer as a reader would and prints, as JSON, per
// layer and table:
//   manifest_rows  the rows the table manifest counts (read through the
//                  layer manifest, _manifest.json, the file readers trust);
//   rows           the rows of the files the manifest lists;
//   glob_rows      the rows read with the table's documented glob and
//                  DuckDB's default Hive partition inference;
//   types          column -> DuckDB type, as the glob read infers them;
//   columns        count and sum of every numeric column (glob read);
//   rows_json      with --rows: every row (BLOBs as hex, timestamps in UTC);
// and for bronze, per table with a _load_id: rows per load in the files and
// the rows_loaded the exported meta.loads table (bronze/loads) records for
// it, so the lake can be audited without PostgreSQL.
//
// usage: node interop/duckdb_check.mjs EXPORT_DIR [--rows] [layer ...]
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const root = args.shift();
if (!root) {
  console.error('usage: node interop/duckdb_check.mjs EXPORT_DIR [--rows] [layer ...]');
  process.exit(2);
}
const withRows = args.includes('--rows');
let layers = args.filter((a) => a !== '--rows');
if (layers.length === 0) layers = ['bronze', 'silver', 'gold'];

const instance = await DuckDBInstance.create(':memory:', {
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
});
const conn = await instance.connect();
await conn.run("SET TimeZone = 'UTC'");

const sqlString = (s) => "'" + s.replaceAll("'", "''") + "'";
const ident = (s) => '"' + s.replaceAll('"', '""') + '"';
const numeric = new Set(['DOUBLE', 'BIGINT', 'INTEGER']);

async function objects(sql) {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson();
}
async function scalar(sql) {
  const [row] = (await conn.runAndReadAll(sql)).getRowsJS();
  return Number(row[0]);
}

const out = {};
for (const layer of layers) {
  const layerDir = join(root, layer);
  const lmPath = join(layerDir, '_manifest.json');
  if (!existsSync(lmPath)) continue;
  const lm = JSON.parse(readFileSync(lmPath, 'utf8'));
  const result = { run_id: lm.run_id, tables: {} };
  out[layer] = result;
  const globOf = {};
  for (const entry of lm.tables) {
    const manifest = JSON.parse(readFileSync(join(layerDir, entry.manifest), 'utf8'));
    const t = { manifest_rows: manifest.rows, rows: 0, glob_rows: 0, glob: entry.glob, types: {}, columns: {} };
    result.tables[manifest.table] = t;
    if (manifest.files.length === 0) continue;
    const files = '[' + manifest.files.map((f) => sqlString(join(layerDir, entry.name, f.path))).join(', ') + ']';
    t.rows = await scalar(`SELECT count(*)::BIGINT FROM read_parquet(${files}, hive_partitioning = true)`);
    // What an analyst types: the table's glob, default options.
    const glob = `read_parquet(${sqlString(join(layerDir, entry.glob))})`;
    globOf[manifest.table] = glob;
    t.glob_rows = await scalar(`SELECT count(*)::BIGINT FROM ${glob}`);
    const schema = await objects(`DESCRIBE SELECT * FROM ${glob}`);
    const aggs = [];
    const cols = [];
    const render = [];
    for (const c of schema) {
      t.types[c.column_name] = c.column_type;
      if (numeric.has(c.column_type)) {
        cols.push(c.column_name);
        aggs.push(`count(${ident(c.column_name)})::BIGINT`, `coalesce(sum(${ident(c.column_name)}), 0)::DOUBLE`);
      }
      render.push(c.column_type === 'BLOB' ? `hex(${ident(c.column_name)}) AS ${ident(c.column_name)}` : ident(c.column_name));
    }
    if (aggs.length > 0) {
      const [agg] = (await conn.runAndReadAll(`SELECT ${aggs.join(', ')} FROM ${glob}`)).getRowsJS();
      cols.forEach((c, i) => {
        t.columns[c] = { count: Number(agg[2 * i]), sum: Number(agg[2 * i + 1]) };
      });
    }
    if (withRows) t.rows_json = await objects(`SELECT ${render.join(', ')} FROM ${glob}`);
  }
  if (layer === 'bronze' && globOf['meta.loads']) {
    // Every bronze row traces back to its load: rows per load in the files
    // against the loads table of the same export.
    for (const [table, glob] of Object.entries(globOf)) {
      const t = result.tables[table];
      if (!('_load_id' in t.types)) continue;
      t.loads = {};
      for (const r of await objects(`SELECT _load_id::VARCHAR AS id, count(*)::BIGINT AS n FROM ${glob} GROUP BY 1`)) t.loads[r.id] = Number(r.n);
      t.loads_expected = {};
      const sql = `SELECT load_id::VARCHAR AS id, rows_loaded AS n FROM ${globOf['meta.loads']}
        WHERE target_table = ${sqlString(table)} AND status = 'loaded' AND rows_loaded > 0`;
      for (const r of await objects(sql)) t.loads_expected[r.id] = Number(r.n);
    }
  }
}
console.log(JSON.stringify(out, null, 2));
