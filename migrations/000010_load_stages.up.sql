-- Child tables of bronze tables for large inputs that novawh load writes
-- with several parallel COPY streams. Each stream COPYs into its own table
-- here (bronze_loads.<table>_l<load_id>_<stream>, CHECK (_load_id = N),
-- committed but not yet part of bronze); then the input's single
-- transaction runs ALTER TABLE ... INHERIT bronze.<table> and marks the
-- load loaded in meta.loads. Until then the rows are invisible through
-- bronze.<table>; a crashed load leaves only unattached tables here, which
-- the next novawh load drops. Queries on bronze.<table> read the children
-- too (inheritance); the CHECK lets the planner skip other loads' children.
CREATE SCHEMA IF NOT EXISTS bronze_loads;
COMMENT ON SCHEMA bronze_loads IS 'Per-load child tables (INHERIT bronze.*) written by parallel COPY streams of novawh load; unattached tables are leftovers of crashed loads.';
GRANT USAGE, CREATE ON SCHEMA bronze_loads TO novawh_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA bronze_loads GRANT ALL ON TABLES TO novawh_loader;
