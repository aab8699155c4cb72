#!/usr/bin/env python3
"""Print registry JSON table entries for every relation of a live database.

Used by developers when adding a migration: run it against a migrated
database, then merge the tables you added into data/schema_registry.json
and annotate keys, ranges and descriptions by hand.
usage: scripts/registry_from_catalog.py DATABASE_URL [schema.table ...]
"""
import json, subprocess, sys

TYPES = {
    "text": "string", "bigint": "int", "integer": "int32", "double precision": "float",
    "numeric": "numeric", "date": "date", "timestamp with time zone": "timestamp",
    "timestamp without time zone": "timestamp_local", "boolean": "bool", "bytea": "bytes",
    "text[]": "string[]", "jsonb": "json",
}
ML = {"model_version", "generated_at", "source", "dataset_id"}

url = sys.argv[1]
only = set(sys.argv[2:])
q = """
SELECT n.nspname, c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       coalesce(col_description(c.oid, a.attnum), ''), coalesce(obj_description(c.oid, 'pg_class'), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname IN ('bronze','silver','gold','meta') AND c.relkind IN ('r','p','v','m') AND NOT c.relispartition
ORDER BY 1, 2, a.attnum"""
out = subprocess.run(["psql", url, "-AtF", "\x1f", "-c", q], check=True, capture_output=True, text=True).stdout
layers = {}
for line in out.splitlines():
    s, t, k, col, typ, nn, cdesc, tdesc = line.split("\x1f")
    if only and f"{s}.{t}" not in only:
        continue
    tab = layers.setdefault(s, {}).setdefault(t, {"kind": {"r": "table", "p": "table", "v": "view", "m": "materialized_view"}[k],
                                                 "description": tdesc, "columns": []})
    c = {"name": col, "type": TYPES.get(typ, typ), "nullable": nn != "t"}
    if col in ML:
        c["ml_metadata"] = True
    if cdesc:
        c["description"] = cdesc
    tab["columns"].append(c)
print(json.dumps(layers, indent=2, ensure_ascii=False))
