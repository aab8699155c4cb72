DROP TABLE IF EXISTS meta.watermarks;
DROP TABLE IF EXISTS bronze.raw_responses;
DROP TABLE IF EXISTS bronze.telecom_5g;
DROP TABLE IF EXISTS bronze.weather_daily;
DROP TABLE IF EXISTS bronze.fx_ptax;
DROP TABLE IF EXISTS bronze.economic_series;
