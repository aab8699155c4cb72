#!/usr/bin/env bash
# make screenshots: the browser test of the web UI (internal/webui) writes
# its screenshots into docs/screenshots. Needs Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
go build -o bin/novawh ./cmd/novawh
if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
  export NOVAWH_PGDIR="$(mktemp -d "${TMPDIR:-/tmp}/novawh-pg-shots-XXXXXX")"
  chmod 0755 "$NOVAWH_PGDIR"
  stop_db() { bin/novawh db stop --purge --yes --log-file "" >/dev/null 2>&1 || true; }
  trap stop_db EXIT
  TEST_DATABASE_URL="$(bin/novawh db start --log-file "")"
  export TEST_DATABASE_URL
fi
mkdir -p docs/screenshots
CI=true NOVAWH_SCREENSHOTS_DIR="$PWD/docs/screenshots" go test -count=1 -run TestPagesInABrowser ./internal/webui/
ls -l docs/screenshots
