DROP TABLE IF EXISTS meta.export_tables;
DROP TABLE IF EXISTS meta.export_runs;
