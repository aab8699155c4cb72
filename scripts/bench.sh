#!/usr/bin/env bash
# make bench: every benchmark of the project, each measuring novawh against
# the baseline its issue names in the same run (psql \copy, full refresh,
# psql read, ...). Benchmarks print their ratios as custom metrics.
# BENCH selects benchmarks (go test -bench regexp), default all.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
export NOVAWH_BENCH=1
go build -o bin/novawh ./cmd/novawh
if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
  export NOVAWH_PGDIR="$(mktemp -d "${TMPDIR:-/tmp}/novawh-pg-bench-XXXXXX")"
  chmod 0755 "$NOVAWH_PGDIR"
  stop_db() { bin/novawh db stop --purge --yes --log-file "" >/dev/null 2>&1 || true; }
  trap stop_db EXIT
  TEST_DATABASE_URL="$(bin/novawh db start --log-file "")"
  export TEST_DATABASE_URL
fi
mkdir -p bench/out
go test -p 1 -run '^$' -bench "${BENCH:-.}" -benchtime 1x -timeout 90m ./... 2>&1 | tee bench/out/bench-$(date +%Y%m%d-%H%M%S).txt
