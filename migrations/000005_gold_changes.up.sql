-- Change log of gold: every refresh appends the date window it rewrote per
-- gold table, in the same transaction as the rewrite. Incremental exports
-- read it to rewrite only the partitions that changed since their last run.
CREATE TABLE meta.gold_changes (
    change_id   bigserial   PRIMARY KEY,
    table_name  text        NOT NULL,           -- e.g. 'gold.fact_forecast'
    date_from   date,                           -- NULL with date_to NULL: the whole table changed
    date_to     date,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((date_from IS NULL) = (date_to IS NULL)),
    CHECK (date_from IS NULL OR date_from <= date_to)
);
CREATE INDEX gold_changes_table_idx ON meta.gold_changes (table_name, change_id);
COMMENT ON TABLE meta.gold_changes IS 'Date windows of gold tables rewritten by each refresh (read by incremental exports).';
