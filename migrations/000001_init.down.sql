DROP TABLE IF EXISTS meta.rejected_rows;
DROP TABLE IF EXISTS meta.loads;
DROP SCHEMA IF EXISTS meta CASCADE;
DROP SCHEMA IF EXISTS gold CASCADE;
DROP SCHEMA IF EXISTS silver CASCADE;
DROP SCHEMA IF EXISTS bronze CASCADE;

-- Roles are shared by every database of the cluster: revoke what this
-- database granted, then drop them only when no other database uses them.
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['novawh_reader', 'novawh_loader'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            BEGIN
                EXECUTE format('DROP ROLE %I', r);
            EXCEPTION WHEN dependent_objects_still_exist THEN
                RAISE NOTICE 'role % is still used by another database; kept', r;
            END;
        END IF;
    END LOOP;
END
$$;
