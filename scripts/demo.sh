#!/usr/bin/env bash
# make demo: the whole pipeline on the bundled samples. Uses DATABASE_URL
# when set, else starts (or reuses) the project's local PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bin/novawh
if [[ -z "${DATABASE_URL:-}" ]]; then
  DATABASE_URL="$($BIN db start --log-file "")"
  export DATABASE_URL
  echo "local PostgreSQL: $DATABASE_URL (stop it with: make db-stop)"
fi
$BIN migrate up
$BIN registry check
