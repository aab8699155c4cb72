-- The API's read-only role (novawh_reader) reads gold only. The warehouse
-- state the API publishes (GET /metrics; the web UI's overview) comes from
-- these views of meta, which run with their owner's rights: the reader
-- sees exactly these columns and nothing else of meta.
CREATE SCHEMA monitor;
COMMENT ON SCHEMA monitor IS 'Read-only views of the warehouse''s own state (meta) for the API''s role novawh_reader: source freshness, the last run, export freshness, gold table sizes.';

CREATE VIEW monitor.source_freshness AS
SELECT l.source,
       (max(l.finished_at) FILTER (WHERE l.status = 'loaded'))::timestamptz AS last_success_at,
       (max(l.finished_at) FILTER (WHERE l.status = 'failed'))::timestamptz AS last_failure_at,
       count(*) FILTER (WHERE l.status = 'loaded')           AS loads,
       (array_agg(l.status ORDER BY l.load_id DESC))[1]::text          AS last_status,
       (array_agg(l.rows_loaded ORDER BY l.load_id DESC))[1]::bigint   AS last_rows_loaded,
       (array_agg(l.rows_rejected ORDER BY l.load_id DESC))[1]::bigint AS last_rows_rejected
FROM meta.loads l
GROUP BY l.source;
COMMENT ON VIEW monitor.source_freshness IS 'Per source of meta.loads: when its last successful (loaded) and last failed input finished, how many inputs loaded, and the newest input''s status and row counts.';

CREATE VIEW monitor.runs AS
SELECT r.run_id, r.trigger, r.status, r.exit_code, r.failed_step, r.error, r.started_at, r.finished_at,
       extract(epoch FROM coalesce(r.finished_at, clock_timestamp()) - r.started_at)::double precision AS duration_seconds
FROM meta.runs r;
COMMENT ON VIEW monitor.runs IS 'Every nightly run of meta.runs with its duration in seconds.';

CREATE VIEW monitor.run_steps AS
SELECT r.run_id, s.ordinal::int AS step_no,
       coalesce(s.step ->> 'name', '')::text AS name,
       coalesce(s.step ->> 'status', '')::text AS status,
       coalesce((s.step ->> 'duration_ms')::bigint, 0)::bigint AS duration_ms,
       coalesce(s.step -> 'counts', '{}'::jsonb)::text AS counts,
       coalesce(s.step ->> 'note', '')::text AS note,
       coalesce(s.step ->> 'error', '')::text AS error
FROM meta.runs r
CROSS JOIN LATERAL jsonb_array_elements(r.steps) WITH ORDINALITY AS s(step, ordinal);
COMMENT ON VIEW monitor.run_steps IS 'The steps of each run (meta.runs.steps), one row each, in order.';

CREATE VIEW monitor.rejected_rows AS
SELECT j.load_id, l.source, l.file_name, l.started_at, j.line, j.column_name, j.reason, j.raw
FROM meta.rejected_rows j
JOIN meta.loads l ON l.load_id = j.load_id;
COMMENT ON VIEW monitor.rejected_rows IS 'Rejected rows (meta.rejected_rows) with their input''s source, file and start time.';

CREATE VIEW monitor.latest_checks AS
SELECT c.run_id, c.check_name, c.table_name, c.level, c.observed, c.threshold, c.passed, c.detail, c.checked_at
FROM meta.check_results c
WHERE c.run_id = (SELECT max(k.run_id) FROM meta.check_runs k);
COMMENT ON VIEW monitor.latest_checks IS 'The results of the newest data-quality check run.';

CREATE VIEW monitor.table_rows AS
SELECT n.nspname::text AS layer, c.relname::text AS table_name, greatest(c.reltuples, 0)::bigint AS rows_estimate
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('bronze', 'silver', 'gold') AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition;
COMMENT ON VIEW monitor.table_rows IS 'Rows of each bronze, silver and gold table as the planner estimates them.';

CREATE VIEW monitor.last_run AS
SELECT r.run_id, r.trigger, r.status, r.exit_code, r.failed_step, r.started_at, r.finished_at,
       extract(epoch FROM coalesce(r.finished_at, clock_timestamp()) - r.started_at)::double precision AS duration_seconds
FROM meta.runs r
ORDER BY r.run_id DESC
LIMIT 1;
COMMENT ON VIEW monitor.last_run IS 'The newest row of meta.runs (the nightly job), with its duration in seconds (so far, while running).';

CREATE VIEW monitor.export_freshness AS
SELECT e.target,
       (max(e.finished_at) FILTER (WHERE e.status = 'succeeded'))::timestamptz AS last_success_at,
       (max(e.finished_at) FILTER (WHERE e.status = 'failed'))::timestamptz    AS last_failure_at
FROM meta.export_runs e
GROUP BY e.target;
COMMENT ON VIEW monitor.export_freshness IS 'Per export target of meta.export_runs: when its last successful and last failed export finished.';

CREATE VIEW monitor.gold_table_rows AS
SELECT c.relname::text AS table_name, greatest(c.reltuples, 0)::bigint AS rows_estimate
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'gold' AND c.relkind IN ('r', 'p') AND NOT c.relispartition;
COMMENT ON VIEW monitor.gold_table_rows IS 'Rows of each gold table as the planner estimates them (pg_class.reltuples after ANALYZE/autovacuum): cheap, approximate.';

GRANT USAGE ON SCHEMA monitor TO novawh_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA monitor TO novawh_reader;
