#!/usr/bin/env bash
# The project's test command: go vet, every test with -race against a real
# PostgreSQL, then `make verify`. One private PostgreSQL serves every test
# package (each test still gets its own database) unless TEST_DATABASE_URL
# is already set.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
export PATH="$PATH:$(go env GOPATH)/bin"

go build -o bin/novawh ./cmd/novawh
go vet ./...

if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
  export NOVAWH_PGDIR="$(mktemp -d "${TMPDIR:-/tmp}/novawh-pg-test-XXXXXX")"
  chmod 0755 "$NOVAWH_PGDIR"
  stop_db() { bin/novawh db stop --purge --yes --log-file "" >/dev/null 2>&1 || true; }
  trap stop_db EXIT
  TEST_DATABASE_URL="$(bin/novawh db start --log-file "")"
  export TEST_DATABASE_URL
fi

go test -race -count=1 -timeout 20m ${GOTEST_FLAGS:-} ./...
# A run of the CSV reader's differential fuzz target (loader vs encoding/csv),
# bounded by time; a divergence found is saved under internal/load/testdata/fuzz.
go test -run '^$' -fuzz '^FuzzCSVDifferential$' -fuzztime "${NOVAWH_FUZZTIME:-20s}" ./internal/load
# The example backend is a module of its own (public packages only): its
# test runs against the same database server.
(cd examples/backend && go vet ./... && go test -race -count=1 -timeout 10m ./...)
make --no-print-directory verify
