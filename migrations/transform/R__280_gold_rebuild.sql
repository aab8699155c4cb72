-- Silver -> gold: rebuilding a whole table without blocking its readers.
-- A refresh that rewrites every date of a fact builds gold.<table>__next
-- (gold.stage), fills it (gold.write_*(..., '__next', ...)), indexes it
-- after the data (gold.index_staged) and, in the same transaction, swaps it
-- in for the live table (gold.swap_staged): readers keep reading the
-- previous table until the refresh commits and wait only for the swap
-- itself (a lock taken with a short timeout and retried, so a long reader
-- delays the swap instead of queueing every other reader behind it).
--
-- These functions run as their owner (the role that applies migrations,
-- which owns the gold tables), so a refresh may run as novawh_loader; only
-- the loader role may call them.

CREATE OR REPLACE FUNCTION gold.stage(p_table text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF to_regclass(format('gold.%I', p_table)) IS NULL THEN
        RAISE EXCEPTION 'gold.stage: no table gold.%', p_table;
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS gold.%I', p_table || '__next');
    EXECUTE format('CREATE TABLE gold.%I (LIKE gold.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED
                    INCLUDING IDENTITY INCLUDING STATISTICS INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS)',
                   p_table || '__next', p_table);
END
$$;
COMMENT ON FUNCTION gold.stage(text) IS 'Creates the empty table gold.<p_table>__next with the columns, defaults, constraints and comments of gold.<p_table> (no indexes: gold.index_staged builds them after the data).';

-- Builds on gold.<p_table>__next every index (and primary key or unique
-- constraint) of gold.<p_table>, named <index>__next, then ANALYZEs it.
CREATE OR REPLACE FUNCTION gold.index_staged(p_table text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    live regclass := format('gold.%I', p_table)::regclass;
    staged text := format('gold.%I', p_table || '__next');
BEGIN
    FOR r IN
        SELECT i.indexrelid, c.relname AS idx, con.conname, con.contype,
               obj_description(i.indexrelid, 'pg_class') AS comment
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u')
        WHERE i.indrelid = live
        ORDER BY i.indisprimary DESC, c.relname
    LOOP
        IF length(r.idx || '__next') > 63 OR length(coalesce(r.conname, '') || '__next') > 63 THEN
            RAISE EXCEPTION 'gold.index_staged: index name % too long to stage', r.idx;
        END IF;
        EXECUTE regexp_replace(pg_get_indexdef(r.indexrelid), '^(CREATE (UNIQUE )?INDEX )\S+ ON \S+ ',
                               '\1' || quote_ident(r.idx || '__next') || ' ON ' || staged || ' ');
        IF r.conname IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s USING INDEX %I', staged, r.conname || '__next',
                           CASE r.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, r.idx || '__next');
            IF r.conname <> r.idx THEN
                EXECUTE format('ALTER INDEX gold.%I RENAME TO %I', r.conname || '__next', r.idx || '__next');
            END IF;
        END IF;
        IF r.comment IS NOT NULL THEN
            EXECUTE format('COMMENT ON INDEX gold.%I IS %L', r.idx || '__next', r.comment);
        END IF;
    END LOOP;
    EXECUTE format('ANALYZE %s', staged);
END
$$;
COMMENT ON FUNCTION gold.index_staged(text) IS 'Builds the indexes and key constraints of gold.<p_table> on gold.<p_table>__next and analyzes it.';

-- Swaps every gold.<t>__next in for gold.<t> (t in p_tables): locks the live
-- tables and the views reading them, renames, carries over the table
-- comment, privileges and storage options, points the views at the new
-- tables and drops the old ones. Returns the lock attempts it took.
CREATE OR REPLACE FUNCTION gold.swap_staged(p_tables text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tables text[] := ARRAY(SELECT DISTINCT unnest(p_tables) ORDER BY 1);
    oids oid[];
    view_names text[];
    view_defs text[];
    view_opts text[];
    t text;
    v text;
    i integer;
    r record;
    attempt integer := 0;
    old_timeout text := current_setting('lock_timeout');
    old_oid oid;
    autovac boolean := false;
    long_waits integer := 0;
BEGIN
    IF cardinality(tables) = 0 THEN
        RETURN 0;
    END IF;
    oids := ARRAY(SELECT format('gold.%I', x)::regclass::oid FROM unnest(tables) x);
    SELECT array_agg(name ORDER BY name), array_agg(def ORDER BY name), array_agg(opts ORDER BY name)
    INTO view_names, view_defs, view_opts
    FROM (SELECT DISTINCT v.oid::regclass::text AS name, pg_get_viewdef(v.oid) AS def,
                 array_to_string(v.reloptions, ', ') AS opts, v.relkind
          FROM pg_depend d
          JOIN pg_rewrite rw ON rw.oid = d.objid
          JOIN pg_class v ON v.oid = rw.ev_class
          WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
            AND d.refobjid = ANY (oids) AND NOT (v.oid = ANY (oids))) x;
    IF EXISTS (SELECT 1 FROM unnest(view_names) n JOIN pg_class c ON c.oid = n::regclass WHERE c.relkind <> 'v') THEN
        RAISE EXCEPTION 'gold.swap_staged: a materialized view reads one of %', tables;
    END IF;

    -- Lock with a short timeout and retry: while we wait, readers queue
    -- behind our request, so we give up quickly and let them through. An
    -- autovacuum worker (e.g. analyzing a table a load just filled) is
    -- different: PostgreSQL cancels it for a lock request that waits longer
    -- than deadlock_timeout (1 s by default), which a 200 ms timeout never
    -- does, so the swap would wait for it to finish; when one holds a lock
    -- on the tables, the next attempt waits past deadlock_timeout (three
    -- times at most: one that cannot be cancelled, against wraparound,
    -- gets the short retries like any other lock holder).
    LOOP
        attempt := attempt + 1;
        BEGIN
            IF autovac THEN
                long_waits := long_waits + 1;
            END IF;
            PERFORM set_config('lock_timeout', CASE WHEN autovac AND long_waits <= 3
                THEN (extract(epoch FROM current_setting('deadlock_timeout')::interval) * 1000 + 2000)::bigint || 'ms'
                ELSE '200ms' END, true);
            FOREACH t IN ARRAY tables LOOP
                EXECUTE format('LOCK TABLE gold.%I IN ACCESS EXCLUSIVE MODE', t);
            END LOOP;
            FOREACH v IN ARRAY coalesce(view_names, '{}') LOOP
                EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', v);
            END LOOP;
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            autovac := EXISTS (
                SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'relation' AND l.granted AND l.relation = ANY (oids)
                  AND a.backend_type = 'autovacuum worker');
            IF attempt % 25 = 0 THEN
                RAISE NOTICE USING MESSAGE = 'novawh-progress',
                    DETAIL = json_build_object('step', 'gold swap: waiting for readers', 'rows', attempt, 'ms', 0)::text;
            END IF;
            IF NOT autovac OR long_waits >= 3 THEN
                PERFORM pg_sleep(least(1.0, 0.05 * attempt));
            END IF;
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', old_timeout, true);

    FOREACH t IN ARRAY tables LOOP
        old_oid := format('gold.%I', t)::regclass::oid;
        FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = old_oid LOOP
            EXECUTE format('ALTER INDEX gold.%I RENAME TO %I', r.relname, left(r.relname, 57) || '__old');
        END LOOP;
        EXECUTE format('ALTER TABLE gold.%I RENAME TO %I', t, t || '__old');
        EXECUTE format('ALTER TABLE gold.%I RENAME TO %I', t || '__next', t);
        FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE i.indrelid = format('gold.%I', t)::regclass LOOP
            EXECUTE format('ALTER INDEX gold.%I RENAME TO %I', r.relname, left(r.relname, length(r.relname) - 6));
        END LOOP;
        EXECUTE format('COMMENT ON TABLE gold.%I IS %L', t, obj_description(old_oid, 'pg_class'));
        -- The new table gets exactly the old table's privileges.
        FOR r IN SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(c.relacl) a
                 WHERE c.oid = format('gold.%I', t)::regclass AND a.grantee <> c.relowner LOOP
            EXECUTE format('REVOKE ALL ON gold.%I FROM %s', t,
                           CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END);
        END LOOP;
        FOR r IN SELECT a.grantee, a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a
                 WHERE c.oid = old_oid LOOP
            EXECUTE format('GRANT %s ON gold.%I TO %s%s', r.privilege_type, t,
                           CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END,
                           CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        FOR r IN SELECT unnest(reloptions) AS opt FROM pg_class WHERE oid = old_oid LOOP
            EXECUTE format('ALTER TABLE gold.%I SET (%s)', t, r.opt);
        END LOOP;
    END LOOP;
    FOR i IN 1 .. coalesce(cardinality(view_names), 0) LOOP
        EXECUTE format('CREATE OR REPLACE VIEW %s%s AS %s', view_names[i],
                       CASE WHEN view_opts[i] IS NOT NULL THEN ' WITH (' || view_opts[i] || ')' ELSE '' END,
                       view_defs[i]);
    END LOOP;
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('DROP TABLE gold.%I', t || '__old');
    END LOOP;
    RETURN attempt;
END
$$;
COMMENT ON FUNCTION gold.swap_staged(text[]) IS 'Swaps each staged gold.<t>__next in for gold.<t> in the current transaction (see migrations/transform/R__280_gold_rebuild.sql); returns the lock attempts.';

REVOKE ALL ON FUNCTION gold.stage(text), gold.index_staged(text), gold.swap_staged(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gold.stage(text), gold.index_staged(text), gold.swap_staged(text[]) TO novawh_loader;
