-- Drops the tables of bench/anchors/refresh_forecast.sql and refresh_demand.sql.
DROP TABLE IF EXISTS public.bench_anchor, public.bench_anchor_demand, public.bench_anchor_demand_supplier, public.bench_anchor_demand_rolling;
