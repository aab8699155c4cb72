-- Constants of the transformation, defined once; every function and view of
-- migrations/transform reads them from here (Go reads none of them).

CREATE OR REPLACE FUNCTION silver.business_time_zone() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 'America/Sao_Paulo'::text $$;
COMMENT ON FUNCTION silver.business_time_zone() IS 'Time zone of the company''s business days: a timestamp without a business date (an inventory snapshot''s generated_at) falls on its local day there.';

CREATE OR REPLACE FUNCTION silver.blank_depot_site() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '-1'::text $$;
COMMENT ON FUNCTION silver.blank_depot_site() IS 'site_id of the ERP lines with a blank DEPÓSITO: ''-1'', the id the company''s ML outputs give the blank depot.';

CREATE OR REPLACE FUNCTION gold.lookback_days() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 29 $$;
COMMENT ON FUNCTION gold.lookback_days() IS 'Days before a date that its longest rolling window (30 days) reads: a change on day d changes the rolling figures of d .. d + 29.';

-- Progress of a refresh step, sent to the client as a NOTICE (novawh
-- refresh shows it on a terminal and logs it at debug level).
CREATE OR REPLACE FUNCTION meta.progress(p_step text, p_rows bigint, p_started timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE USING MESSAGE = 'novawh-progress', DETAIL = json_build_object(
        'step', p_step, 'rows', p_rows,
        'ms', round(extract(epoch FROM clock_timestamp() - p_started) * 1000))::text;
END
$$;
CREATE OR REPLACE FUNCTION meta.progress_start(p_step text) RETURNS timestamptz
LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE USING MESSAGE = 'novawh-progress', DETAIL = json_build_object('step', p_step, 'start', true)::text;
    RETURN clock_timestamp();
END
$$;
COMMENT ON FUNCTION meta.progress_start(text) IS 'Reports that a refresh step starts (NOTICE novawh-progress, {"step", "start": true}); returns the time, for meta.progress.';

COMMENT ON FUNCTION meta.progress(text, bigint, timestamptz) IS 'Reports a finished refresh step (name, rows, milliseconds since p_started) as NOTICE novawh-progress with a JSON detail.';

-- Date spans: a refresh passes the dates it touched as daterange values
-- (NULL: none, '(,)': every date), in JSON as {"from", "to"} or {"all": true}.
CREATE OR REPLACE FUNCTION meta.span(lo date, hi date) RETURNS daterange
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN lo IS NOT NULL AND hi IS NOT NULL THEN daterange(lo, hi, '[]') END
$$;
COMMENT ON FUNCTION meta.span(date, date) IS 'The closed date range lo..hi, NULL when either end is NULL.';

CREATE OR REPLACE FUNCTION meta.hull(a daterange, b daterange) RETURNS daterange
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN a IS NULL OR isempty(a) THEN nullif(b, 'empty')
                WHEN b IS NULL OR isempty(b) THEN a
                ELSE range_merge(a, b) END
$$;
COMMENT ON FUNCTION meta.hull(daterange, daterange) IS 'Smallest range holding both (NULL or empty ranges are ignored).';

CREATE OR REPLACE FUNCTION meta.span_json(r daterange) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN r IS NULL OR isempty(r) THEN 'null'::jsonb
                WHEN lower_inf(r) OR upper_inf(r) THEN '{"all": true}'::jsonb
                ELSE jsonb_build_object('from', lower(r), 'to', upper(r) - 1) END
$$;
COMMENT ON FUNCTION meta.span_json(daterange) IS 'A date span as JSON: null, {"all": true} or {"from": date, "to": date} (closed).';

CREATE OR REPLACE FUNCTION meta.json_span(j jsonb) RETURNS daterange
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN j IS NULL OR jsonb_typeof(j) <> 'object' THEN NULL
                WHEN coalesce((j->>'all')::boolean, false) THEN '(,)'::daterange
                ELSE daterange((j->>'from')::date, (j->>'to')::date, '[]') END
$$;
COMMENT ON FUNCTION meta.json_span(jsonb) IS 'Inverse of meta.span_json.';

-- Fresh planner statistics for a table that changed a lot since it was
-- last analyzed (a large load just committed, not yet seen by
-- autovacuum): a refresh reads the tables right after the loads, and plans
-- made on empty statistics can be off by orders of magnitude. A bronze
-- table can be an inheritance parent (the parallel load stages are its
-- children, see migrations/000010_load_stages.up.sql): the rows changed
-- and the rows held are those of the whole tree. The parent's own
-- reltuples counts only the rows inserted into it directly, so a daily
-- load of a few thousand rows into the parent of a 12M-row tree looked
-- like a large change (until the parent itself held ten days of them)
-- and re-analyzed the whole tree. A stale tree's children are checked by
-- the same rule after the parent's ANALYZE (a load's new stages, never
-- analyzed, are analyzed once): the parent's ANALYZE leaves their counts
-- of rows changed as they are, and the tree would look stale at every
-- refresh until autovacuum reached them.
CREATE OR REPLACE FUNCTION meta.analyze_if_stale(p_table regclass) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE stale boolean;
BEGIN
    SELECT bool_or(c.oid = p_table AND c.reltuples < 0)
           OR sum(coalesce(s.n_mod_since_analyze, 0)) > greatest(1000, 0.1 * sum(greatest(c.reltuples, 0)))
    INTO stale
    FROM pg_class c LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
    WHERE c.oid = p_table OR c.oid IN (SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = p_table);
    IF stale THEN
        EXECUTE format('ANALYZE %s', p_table);
        PERFORM meta.analyze_if_stale(i.inhrelid::regclass) FROM pg_inherits i WHERE i.inhparent = p_table;
    END IF;
    RETURN coalesce(stale, false);
END
$$;
COMMENT ON FUNCTION meta.analyze_if_stale(regclass) IS 'ANALYZEs a table never analyzed or with more than 10 % of its rows changed since its last ANALYZE (an inheritance parent: of the rows of the whole tree); returns whether it did.';
