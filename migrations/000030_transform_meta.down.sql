DROP TABLE IF EXISTS meta.check_results;
DROP TABLE IF EXISTS meta.check_runs;
DROP TABLE IF EXISTS meta.refresh_loads;
DROP TABLE IF EXISTS meta.refreshes;
