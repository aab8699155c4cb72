#!/usr/bin/env bash
# make interop: DuckDB (npm @duckdb/node-api, offline) reads novawh's Parquet
# exports of every layer with each table's documented glob and must agree
# with PostgreSQL on types and every row (bronze row counts per load also
# against the exported meta.loads). Installs interop/node_modules from
# package-lock.json (npm ci), then runs the DuckDB tests (gold, demand
# tables, the lake locally and on MinIO) with NOVAWH_INTEROP=1 so that a
# missing node or package fails instead of skipping. Uses TEST_DATABASE_URL when set, else the test
# starts its own PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local
command -v node >/dev/null || { echo "interop: node is required (Node.js >= 18)" >&2; exit 1; }
(cd interop && npm ci --no-audit --no-fund --loglevel=error)
NOVAWH_INTEROP=1 go test -count=1 -run '^(TestDuckDBAgrees|TestDemandTables|TestLake|TestLakeMinIO)$' ./internal/export/
