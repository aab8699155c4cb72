DROP TABLE IF EXISTS gold.fact_external_daily;
