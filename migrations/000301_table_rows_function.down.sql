DROP FUNCTION IF EXISTS monitor.table_rows(bigint, text[]);

CREATE VIEW monitor.table_rows AS
SELECT n.nspname::text AS layer, c.relname::text AS table_name, greatest(c.reltuples, 0)::bigint AS rows_estimate
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('bronze', 'silver', 'gold') AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition;
COMMENT ON VIEW monitor.table_rows IS 'Rows of each bronze, silver and gold table as the planner estimates them.';

CREATE VIEW monitor.gold_table_rows AS
SELECT c.relname::text AS table_name, greatest(c.reltuples, 0)::bigint AS rows_estimate
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'gold' AND c.relkind IN ('r', 'p') AND NOT c.relispartition;
COMMENT ON VIEW monitor.gold_table_rows IS 'Rows of each gold table as the planner estimates them (pg_class.reltuples after ANALYZE/autovacuum): cheap, approximate.';

GRANT SELECT ON monitor.table_rows, monitor.gold_table_rows TO novawh_reader;
