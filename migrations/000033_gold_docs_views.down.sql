-- Comments on the 000004 tables are documentation only and stay.
SELECT 1;
