ALTER TABLE bronze.weather_daily DROP COLUMN IF EXISTS wind_mean;
COMMENT ON COLUMN bronze.weather_daily.wind_max IS NULL;
