// Independent reader check of a novawh Parquet export: DuckDB (from npm,
// offline) reads every table listed by the export's manifests and prints,
// as JSON, per table: the row count read through the manifest's file list,
// the row count read through a plain glob of the table folder (what an
// analyst types), and count/sum of every numeric column.
//
// usage: node interop/duckdb_check.mjs EXPORT_DIR [table ...]
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2];
if (!root) {
  console.error('usage: node interop/duckdb_check.mjs EXPORT_DIR [table ...]');
  process.exit(2);
}
const layerDir = join(root, 'gold');
const only = new Set(process.argv.slice(3));

const instance = await DuckDBInstance.create(':memory:', {
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
});
const conn = await instance.connect();

const sqlString = (s) => "'" + s.replaceAll("'", "''") + "'";
const ident = (s) => '"' + s.replaceAll('"', '""') + '"';
const numeric = new Set(['DOUBLE', 'BIGINT', 'INTEGER']);

async function rows(sql) {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS();
}

const out = {};
for (const table of readdirSync(layerDir).sort()) {
  if (only.size && !only.has(table)) continue;
  const manifestPath = join(layerDir, table, '_manifest.json');
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const result = { manifest_rows: manifest.rows, rows: 0, glob_rows: 0, columns: {} };
  out[manifest.table] = result;
  if (manifest.files.length === 0) continue;
  const files = '[' + manifest.files.map((f) => sqlString(join(layerDir, table, f.path))).join(', ') + ']';
  // The files carry every column themselves: folder names are not columns.
  const src = `read_parquet(${files}, hive_partitioning = false)`;
  const schema = await rows(`DESCRIBE SELECT * FROM ${src}`);
  const aggs = ['count(*)::BIGINT AS n'];
  const cols = [];
  for (const c of schema) {
    if (numeric.has(c.column_type)) {
      cols.push(c.column_name);
      aggs.push(`count(${ident(c.column_name)})::BIGINT`, `coalesce(sum(${ident(c.column_name)}), 0)::DOUBLE`);
    }
  }
  const [agg] = await (await conn.runAndReadAll(`SELECT ${aggs.join(', ')} FROM ${src}`)).getRowsJS();
  result.rows = Number(agg[0]);
  cols.forEach((c, i) => {
    result.columns[c] = { count: Number(agg[1 + 2 * i]), sum: Number(agg[2 + 2 * i]) };
  });
  const glob = sqlString(join(layerDir, table, '**', '*.parquet'));
  const [g] = await (await conn.runAndReadAll(`SELECT count(*)::BIGINT FROM read_parquet(${glob})`)).getRowsJS();
  result.glob_rows = Number(g[0]);
}
console.log(JSON.stringify(out, null, 2));
