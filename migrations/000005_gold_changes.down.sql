DROP TABLE IF EXISTS meta.gold_changes;
