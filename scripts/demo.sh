#!/usr/bin/env bash
# make demo: the whole nightly job on the bundled samples (and on the
# company's real files in ../shared/data/nova when present), then the status
# and one dashboard query answered by the HTTP API.
# Uses DATABASE_URL when set, else starts (or reuses) the project's local
# PostgreSQL. External HTTP series are skipped (offline): the demo needs no
# network; `novawh pull --all` fetches them where the internet is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bin/novawh
export NOVAWH_OFFLINE=1
SECONDS=0
if [[ -z "${DATABASE_URL:-}" ]]; then
  DATABASE_URL="$($BIN db start --log-file "")"
  export DATABASE_URL
  echo "==> local PostgreSQL: $DATABASE_URL (stop it with: make db-stop)"
fi

echo "==> migrate"
$BIN migrate up
$BIN registry check

echo "==> nightly job on data/raw/samples"
$BIN run --inputs-dir data/raw/samples

REAL=../shared/data/nova
if [[ -d $REAL ]]; then
  echo "==> nightly job on the company's real files ($REAL)"
  # The real ML outputs carry no model_version/generated_at/source/dataset_id:
  # the loader refuses them unless the metadata is supplied, as here.
  $BIN run \
    --input erp_requisitions=$REAL/docs/proj/dadosSuprimentos/custo_de_material_e_servicos.csv \
    --input ml_forecasts=$REAL/data/outputs/nova_corrente/forecasts,$REAL/data/outputs/nova_corrente/storytelling/storytelling_timeseries.parquet \
    --input inventory=$REAL/data/outputs/nova_corrente/storytelling/storytelling_prescriptions.csv \
    --model-version nova-ml-2025-11 --generated-at 2025-11-11T00:00:00Z \
    --ml-source nova_corrente_ml --dataset-id nova-2025-11-11
fi

echo "==> status"
$BIN status

echo "==> one dashboard query: GET /api/v1/forecasts/summary (novawh serve)"
# A free port: one nothing answers on.
while :; do PORT=$((20000 + RANDOM % 20000)); (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null || break; done
$BIN serve --addr 127.0.0.1:$PORT --log-file "" 2>/dev/null &
SERVE_PID=$!
trap 'kill $SERVE_PID 2>/dev/null || true; wait $SERVE_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
RANGE=$(psql "$DATABASE_URL" -AtXc "SELECT min(date) || ' ' || max(date) FROM gold.fact_forecast")
read -r FROM TO <<<"$RANGE"
curl -fsS "http://127.0.0.1:$PORT/api/v1/forecasts/summary?start=$FROM&end=$TO"
echo
echo "==> top 5 materials by demand: GET /api/v1/demand/top"
DEMAND_END=$(psql "$DATABASE_URL" -AtXc "SELECT max(date) FROM gold.fact_demand WHERE site_id = 'ALL'")
if [[ -n "$DEMAND_END" ]]; then
  DEMAND_START=$(psql "$DATABASE_URL" -AtXc "SELECT (date '$DEMAND_END' - 365)::text")
  curl -fsS "http://127.0.0.1:$PORT/api/v1/demand/top?start=$DEMAND_START&end=$DEMAND_END&limit=5" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("period %s..%s" % (d["period"]["start"], d["period"]["end"]))
for i, it in enumerate(d["items"], 1):
    print("%d. %-60s %10.2f  share %5.1f%%  last demand %s" % (i, it["item_id"][:60], it["quantity"], 100 * it["share"], it["last_demand_date"]))'
else
  echo "(gold.fact_demand is empty)"
fi
# Does this build serve a web page at / ?
PAGE=$(curl -fsS -o /dev/null -w '%{content_type}' "http://127.0.0.1:$PORT/" 2>/dev/null || true)
kill $SERVE_PID 2>/dev/null || true
wait $SERVE_PID 2>/dev/null || true
trap - EXIT

# The psql line printed at the end, run here first so that it works as printed.
READER_SQL="SELECT date, item_id, site_id, source, forecast FROM gold.fact_forecast ORDER BY date DESC, item_id, site_id, source LIMIT 3"
if [[ $DATABASE_URL =~ ^postgres://postgres@127\.0\.0\.1:([0-9]+)/([^?]*) ]]; then
  # The local server (trust authentication): log in as the read-only role
  # (to the same database).
  READER_PSQL="psql 'postgres://novawh_reader@127.0.0.1:${BASH_REMATCH[1]}/${BASH_REMATCH[2]:-postgres}?sslmode=disable' -c '$READER_SQL'"
else
  READER_PSQL="psql \"\$DATABASE_URL\" -c 'SET ROLE novawh_reader; $READER_SQL'"
fi
echo "==> psql as the read-only role novawh_reader"
eval "$READER_PSQL"
PARQUET=$(find exports -name '*.parquet' 2>/dev/null | wc -l)

echo "==> demo finished in ${SECONDS} s. Next, with no variable to set:"
if [[ $PAGE == text/html* ]]; then
  echo "  1. bin/novawh serve     then open http://127.0.0.1:8080/ (the dashboards' web page)"
else
  echo "  1. bin/novawh serve     then open http://127.0.0.1:8080/api/v1/items (the dashboards' JSON API, docs/api.md)"
fi
echo "  2. $READER_PSQL"
echo "  3. ls exports/gold/     ($PARQUET Parquet files of the gold tables, docs/export.md)"
