-- Move the rows of attached child tables back into their bronze parents
-- (nothing loaded is lost), then drop the schema with any leftovers.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS child, p.oid::regclass AS parent
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_inherits i ON i.inhrelid = c.oid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE n.nspname = 'bronze_loads'
    LOOP
        EXECUTE format('ALTER TABLE %s NO INHERIT %s', r.child, r.parent);
        EXECUTE format('INSERT INTO %s SELECT * FROM %s', r.parent, r.child);
    END LOOP;
END
$$;
DROP SCHEMA IF EXISTS bronze_loads CASCADE;
