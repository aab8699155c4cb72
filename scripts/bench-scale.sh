#!/usr/bin/env bash
# make bench-scale: the scale run of issue 17. By default generates ~50M forecast rows
# and the matching ERP demand (3,000 materials x 5 ML sites (+ office and
# blank depots) x 3 years, ~3M lines), then measures on a durable private
# PostgreSQL (fsync on): load (and psql \copy of the largest file as its
# anchor), full refresh, status, the API p95 (30-day timeseries, 16 clients),
# full export, then one more day: load, incremental refresh, incremental
# export; the anchors of issue 17 in the same run (bare CREATE TABLE AS of
# the refresh's rows and windows, bench/anchors; psql reading the exported
# tables); the peak RSS of every command (goal < 256 MiB) and the database
# size. Not part of make test. The database takes ~0.83 GB per million
# forecast rows: SCALE_ITEMS=750 (12.3M rows) is a 10 GB database and took
# 25 minutes (with the anchors) on a 2-core machine; the default 3,000 items (~49M rows) is
# ~42 GB, about an hour of full refresh, and needs ~80 GB of free disk.
#
# Knobs: SCALE_ITEMS (3000), SCALE_SITES (5), SCALE_DAYS (1095),
# SCALE_SOURCES (ensemble,arima,xgboost), SCALE_DIR (a new folder under
# TMPDIR), SCALE_KEEP=1 keeps the server and the files afterwards,
# SCALE_REQUESTS (API requests, 20000).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
ITEMS=${SCALE_ITEMS:-3000}
SITES=${SCALE_SITES:-5}
DAYS=${SCALE_DAYS:-1095}
SOURCES=${SCALE_SOURCES:-ensemble,arima,xgboost}
DIR=${SCALE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/novawh-scale-XXXXXX")}
mkdir -p "$DIR/out" bench/out
chmod 0755 "$DIR"
REPORT="bench/out/bench-scale-$(date +%Y%m%d-%H%M%S).txt"
T0=$(date +%s)
say() { echo "$*" | tee -a "$REPORT"; }

go build -o bin/novawh ./cmd/novawh
go build -o "$DIR/benchscale" ./scripts/benchscale
say "# novawh bench-scale $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -r)"
say "# scale: $ITEMS items x $SITES sites x $DAYS days, sources $SOURCES"

export NOVAWH_PGDIR="$DIR/pg"
mkdir -p "$NOVAWH_PGDIR" && chmod 0755 "$NOVAWH_PGDIR"
stop_db() {
  if [[ "${SCALE_KEEP:-0}" == 1 ]]; then
    echo "kept: server in $NOVAWH_PGDIR (bin/novawh db stop --dir $NOVAWH_PGDIR), files in $DIR"
  else
    bin/novawh db stop --purge --yes --log-file "" >/dev/null 2>&1 || true
    rm -rf "$DIR"
  fi
}
trap stop_db EXIT
DATABASE_URL="$(bin/novawh db start --durable --log-file "")"
export DATABASE_URL NOVAWH_OFFLINE=1
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL")

# measure NAME CMD...: runs CMD, records wall seconds and peak RSS.
printf '%-34s %10s %10s %s\n' step seconds "RSS MiB" "" | tee -a "$REPORT"
measure() {
  local name=$1; shift
  local tf="$DIR/time.txt"
  if ! /usr/bin/time -f '%e %M' -o "$tf" "$@" >>"$DIR/commands.log" 2>&1; then
    say "FAILED: $name ($*): see $DIR/commands.log"; tail -20 "$DIR/commands.log"; exit 1
  fi
  read -r secs kib <"$tf"
  local mib=$((kib / 1024)) verdict="ok (< 256)"
  ((mib < 256)) || verdict="OVER 256 MiB"
  printf '%-34s %10s %10s %s\n' "$name" "$secs" "$mib" "$verdict" | tee -a "$REPORT"
  eval "SECS_${name//[^a-zA-Z0-9]/_}=$secs"
}

measure generate "$DIR/benchscale" -dir "$DIR/data" -items "$ITEMS" -sites "$SITES" -days "$DAYS" -sources "$SOURCES"
say "# $(tail -1 "$DIR/commands.log")"
measure migrate bin/novawh migrate up --log-file ""

# The loader against psql \copy of the same (largest) file into a bare copy
# of its table, on the same server.
BIG=$(ls -S "$DIR"/data/history/forecasts_*.csv | head -1)
COLS=$(head -1 "$BIG")
"${PSQL[@]}" -c "CREATE TABLE public.copy_anchor AS SELECT $COLS FROM bronze.ml_forecasts WITH NO DATA"
measure "psql copy (largest file)" "${PSQL[@]}" -c "\\copy public.copy_anchor ($COLS) FROM '$BIG' WITH (FORMAT csv, HEADER true)"
"${PSQL[@]}" -c "DROP TABLE public.copy_anchor"
measure "load largest forecast file" bin/novawh load --source ml_forecasts --log-file "" "$BIG"
for f in "$DIR"/data/history/forecasts_*.csv; do
  [[ "$f" == "$BIG" ]] && continue
  measure "load $(basename "$f")" bin/novawh load --source ml_forecasts --log-file "" "$f"
done
measure "load erp_history.csv" bin/novawh load --source erp_requisitions --log-file "" "$DIR/data/history/erp_history.csv"
measure "load inventory.csv" bin/novawh load --source inventory --log-file "" "$DIR/data/history/inventory.csv"
# step_ms FROM: "milliseconds step" for every refresh step logged (-v
# --log-format json) in commands.log from line FROM on.
step_ms() { tail -n +"$1" "$DIR/commands.log" | grep -h '"msg":"refresh step"' |
  sed -E 's/.*"step":"([^"]+)".*"duration_ms":([0-9]+).*/\2 \1/'; }
# steps FROM "STEP ...": the seconds of the named steps.
steps() { step_ms "$1" | awk -v want=" $2 " 'index(want, " " $2 " ") {s += $1} END {printf "%.1f", s / 1000}'; }
MARK=$(wc -l <"$DIR/commands.log")
measure "refresh --full" bin/novawh refresh --full -v --log-format json --log-file ""
# Seconds of the refresh steps that build the tables of each anchor.
STEPS_F=$(steps $((MARK + 1)) "gold.fact_forecast gold.agg_forecast_rolling")
STEPS_D=$(steps $((MARK + 1)) "gold.fact_demand gold.fact_demand_supplier gold.agg_demand_rolling")
say "#   forecast steps (fact_forecast + agg_forecast_rolling) ${STEPS_F} s, demand steps (fact_demand + fact_demand_supplier + agg_demand_rolling) ${STEPS_D} s"
# The anchor of issue 17 at this scale: bare CREATE TABLE AS of the same
# rows and windows with their indexes (the files make bench's
# BenchmarkRefresh runs), after a checkpoint, like the refresh.
"${PSQL[@]}" -c CHECKPOINT
measure "anchor: forecast CTAS + index" "${PSQL[@]}" -f bench/anchors/refresh_forecast.sql
measure "anchor: demand CTAS + indexes" "${PSQL[@]}" -f bench/anchors/refresh_demand.sql
"${PSQL[@]}" -f bench/anchors/refresh_drop.sql
measure status bin/novawh status --log-file ""
# The export and the psql read of the same rows read settled tables: the
# first full read of a freshly written table sets the hint bits of its rows
# and dirties every page, and the one of the two that ran first (the
# export) paid that for both. VACUUM gold (what autovacuum does after a
# refresh) and checkpoint, untimed, then time the two.
"${PSQL[@]}" -At -c "SELECT format('VACUUM (ANALYZE) %I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = 'gold'" |
  while read -r stmt; do "${PSQL[@]}" -c "$stmt"; done
"${PSQL[@]}" -c CHECKPOINT
measure "export --full (gold)" bin/novawh export --full --to "$DIR/out/exports" --log-file ""
# The psql read of the same rows: every table the export wrote, as text COPY.
READS=()
# The columns each file holds, from its manifest (the partition column,
# e.g. date, is in the folder names): the rolling columns of fact_forecast
# are exported by agg_forecast_rolling only.
for t in "$DIR"/out/exports/gold/*/; do
  COLS=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); n=[c["name"] for c in m["schema"]]; p=m.get("partition_column"); print(", ".join(([p] if p and p not in n else []) + n))' "$t/_manifest.json")
  READS+=(-c "\\copy (SELECT $COLS FROM gold.$(basename "$t")) TO '/dev/null'")
done
measure "psql read of the exported tables" "${PSQL[@]}" "${READS[@]}"

measure "load one more day (forecasts)" bin/novawh load --source ml_forecasts --log-file "" "$DIR/data/day/forecasts_day.csv"
measure "load one more day (ERP)" bin/novawh load --source erp_requisitions --log-file "" "$DIR/data/day/erp_day.csv"
measure "load one more day (inventory)" bin/novawh load --source inventory --log-file "" "$DIR/data/day/inventory_day.csv"
MARK=$(wc -l <"$DIR/commands.log")
measure "refresh (incremental, one day)" bin/novawh refresh -v --log-format json --log-file ""
# Its steps, slowest first (where the fixed cost of a daily refresh goes).
say "#   slowest steps: $(step_ms $((MARK + 1)) | sort -rn | head -6 | awk '{printf "%s%s %.2f s", sep, $2, $1 / 1000; sep = ", "}')"
measure "export (incremental, one day)" bin/novawh export --to "$DIR/out/exports" --log-file ""
measure "status (after the day)" bin/novawh status --log-file ""

# The API: GET /api/v1/items/{id}/timeseries, 30 days, 16 clients, cache
# off and on, against the bare SQL p95 on the same pool.
# The benchmark binary is built first so that its RSS (server and clients
# in one process) is what is measured, not the compiler's.
go test -c -o "$DIR/api.test" ./api
measure "API benchmark (server+clients)" env NOVAWH_BENCH=1 NOVAWH_BENCH_DATABASE_URL="$DATABASE_URL" \
  NOVAWH_BENCH_REQUESTS="${SCALE_REQUESTS:-20000}" \
  "$DIR/api.test" -test.run '^$' -test.bench '^BenchmarkTimeseriesAPI$' -test.benchtime 1x -test.timeout 60m
grep -E 'p95|ratio|goal' "$DIR/commands.log" | tail -12 | tee -a "$REPORT"

say ""
say "# ratios"
say "$(awk -v a="$SECS_load_largest_forecast_file" -v b="$SECS_psql_copy__largest_file_" 'BEGIN{printf "loader / psql \\copy (largest file): %.2f (goal <= 0.55 in make bench)", a/b}')"
say "$(awk -v a="$SECS_refresh___full" -v f="$SECS_anchor__forecast_CTAS___index" -v d="$SECS_anchor__demand_CTAS___indexes" 'BEGIN{printf "full refresh / anchor CTAS: %.2f (goal <= 1.5)", a/(f+d)}')"
say "$(awk -v a="$STEPS_F" -v f="$SECS_anchor__forecast_CTAS___index" 'BEGIN{printf "  forecast part (steps / forecast CTAS): %.2f", a/f}')"
say "$(awk -v a="$STEPS_D" -v d="$SECS_anchor__demand_CTAS___indexes" 'BEGIN{printf "  demand part (steps / demand CTAS): %.2f", a/d}')"
say "$(awk -v a="$SECS_refresh__incremental__one_day_" -v b="$SECS_refresh___full" 'BEGIN{printf "incremental / full refresh: %.2f%% (goal <= 1%%)", 100*a/b}')"
say "$(awk -v a="$SECS_export___full__gold_" -v b="$SECS_psql_read_of_the_exported_tables" 'BEGIN{printf "full export / psql read of the same tables: %.2f (goal <= 1.0)", a/b}')"
say "$(awk -v a="$SECS_export__incremental__one_day_" -v b="$SECS_export___full__gold_" 'BEGIN{printf "incremental / full export: %.2f%%", 100*a/b}')"
say ""
say "# database"
"${PSQL[@]}" -At -c "SELECT 'database size: ' || pg_size_pretty(pg_database_size(current_database()))" | tee -a "$REPORT"
"${PSQL[@]}" -At -F ' ' -c "SELECT rpad(n.nspname || '.' || c.relname, 36), pg_size_pretty(pg_total_relation_size(c.oid)), c.reltuples::bigint || ' rows (estimate)'
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname IN ('bronze', 'silver', 'gold') AND c.relkind IN ('r', 'p') AND pg_total_relation_size(c.oid) > 10 * 1024 * 1024
  ORDER BY pg_total_relation_size(c.oid) DESC" | tee -a "$REPORT"
say "input CSV: $(du -sh "$DIR/data" | cut -f1); Parquet export: $(du -sh "$DIR/out/exports" | cut -f1), $(find "$DIR/out/exports" -name '*.parquet' | wc -l) files"
say "# total $(( ($(date +%s) - T0) / 60 )) min; report: $REPORT"
