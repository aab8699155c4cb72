DROP TABLE IF EXISTS gold.agg_demand_rolling;
DROP TABLE IF EXISTS gold.dim_supplier;
DROP TABLE IF EXISTS gold.fact_demand_supplier;
DROP TABLE IF EXISTS gold.fact_demand;
