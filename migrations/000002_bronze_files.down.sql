DROP TABLE IF EXISTS bronze.ml_forecasts;
DROP TABLE IF EXISTS bronze.inventory;
DROP TABLE IF EXISTS bronze.erp_items;
DROP TABLE IF EXISTS bronze.erp_requisitions;
