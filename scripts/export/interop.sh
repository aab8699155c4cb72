#!/usr/bin/env bash
# make interop: DuckDB (npm @duckdb/node-api, offline) reads a novawh Parquet
# export and must agree with PostgreSQL on row counts and per-column sums.
# Installs interop/node_modules from package-lock.json (npm ci), then runs
# TestDuckDBAgrees with NOVAWH_INTEROP=1 so that a missing node or package
# fails instead of skipping. Uses TEST_DATABASE_URL when set, else the test
# starts its own PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local
command -v node >/dev/null || { echo "interop: node is required (Node.js >= 18)" >&2; exit 1; }
(cd interop && npm ci --no-audit --no-fund --loglevel=error)
NOVAWH_INTEROP=1 go test -count=1 -run '^TestDuckDBAgrees$' ./internal/export/
