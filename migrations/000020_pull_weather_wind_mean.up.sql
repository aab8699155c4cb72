-- novawh pull (issue 4): the company's processed weather series use the daily
-- MEAN wind speed as a feature; keep it next to the daily maximum.
ALTER TABLE bronze.weather_daily ADD COLUMN wind_mean double precision;
COMMENT ON COLUMN bronze.weather_daily.wind_mean IS 'Mean of the hourly wind_speed_10m values of the local day (km/h).';
COMMENT ON COLUMN bronze.weather_daily.wind_max IS 'Maximum of the hourly wind_speed_10m values of the local day (km/h).';
