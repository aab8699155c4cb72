-- The view silver.site_map of the repeatable files before this migration is
-- re-created by the next `novawh migrate up` at that version.
DROP TABLE IF EXISTS silver.site_map;
