package quality

import "fmt"

// checks lists the SQL checks. Every query returns (observed, detail).
func (c *Checker) checks() []check {
	var out []check
	keys := map[string]string{
		"gold.fact_forecast":        "item_id IS NULL OR site_id IS NULL OR date IS NULL OR source IS NULL",
		"gold.agg_forecast_rolling": "item_id IS NULL OR site_id IS NULL OR date IS NULL OR source IS NULL",
		"gold.fact_inventory":       "item_id IS NULL OR site_id IS NULL OR date IS NULL",
	}
	for _, t := range []string{"gold.fact_forecast", "gold.agg_forecast_rolling", "gold.fact_inventory"} {
		out = append(out, check{name: "not_null_keys", table: t, level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(*)::float8, NULL::text FROM ` + t + ` WHERE ` + keys[t]})
	}
	// Numeric columns must have numeric types in the catalog.
	out = append(out, check{name: "numeric_types", table: "gold.*", level: LevelError, threshold: "= 0", pass: zero,
		query: `SELECT count(*)::float8, string_agg(table_name || '.' || column_name || ' is ' || data_type, ', ')
			FROM information_schema.columns
			WHERE table_schema = 'gold' AND (
			      (table_name = 'fact_forecast' AND column_name IN ('forecast', 'actual', 'lower', 'upper', 'mape'))
			   OR (table_name = 'fact_inventory' AND column_name IN ('current_stock', 'safety_stock', 'reorder_point', 'days_to_rupture'))
			   OR (table_name = 'agg_forecast_rolling' AND column_name NOT IN ('date', 'item_id', 'site_id', 'source')))
			  AND data_type NOT IN ('double precision', 'numeric', 'bigint', 'integer')`})
	out = append(out, check{name: "finite_values", table: "gold.fact_forecast", level: LevelError, threshold: "= 0", pass: zero,
		query: `SELECT count(*)::float8, NULL::text FROM gold.fact_forecast
			WHERE forecast IN ('NaN', 'Infinity', '-Infinity') OR actual IN ('NaN', 'Infinity', '-Infinity')`})
	out = append(out,
		check{name: "forecast_non_negative", table: "gold.fact_forecast", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(*)::float8, 'min ' || min(forecast) FROM gold.fact_forecast WHERE forecast < 0`},
		check{name: "actual_non_negative", table: "gold.fact_forecast", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(*)::float8, 'min ' || min(actual) FROM gold.fact_forecast WHERE actual < 0`},
		check{name: "unique_grain", table: "gold.fact_forecast", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(*)::float8, NULL::text FROM (SELECT 1 FROM gold.fact_forecast
				GROUP BY item_id, site_id, date, source HAVING count(*) > 1) d`},
		check{name: "ml_metadata_present", table: "gold.fact_forecast", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(*)::float8, NULL::text FROM gold.fact_forecast
				WHERE nullif(btrim(model_version), '') IS NULL OR generated_at IS NULL
				   OR nullif(btrim(source), '') IS NULL OR nullif(btrim(dataset_id), '') IS NULL`},
	)
	// Row counts reconcile with meta.loads.
	out = append(out,
		check{name: "rows_loaded_match_bronze", table: "meta.loads", level: LevelError, threshold: "= 0", pass: zero,
			query: `WITH b AS (
				SELECT _load_id, count(*) AS n FROM bronze.erp_requisitions GROUP BY 1
				UNION ALL SELECT _load_id, count(*) FROM bronze.erp_items GROUP BY 1
				UNION ALL SELECT _load_id, count(*) FROM bronze.inventory GROUP BY 1
				UNION ALL SELECT _load_id, count(*) FROM bronze.ml_forecasts GROUP BY 1
				UNION ALL SELECT _load_id, count(*) FROM bronze.economic_series GROUP BY 1
				UNION ALL SELECT _load_id, count(*) FROM bronze.fx_ptax GROUP BY 1
				UNION ALL SELECT _load_id, count(*) FROM bronze.weather_daily GROUP BY 1
				UNION ALL SELECT _load_id, count(*) FROM bronze.telecom_5g GROUP BY 1
			), t AS (SELECT _load_id, sum(n) AS n FROM b GROUP BY 1)
			SELECT count(*)::float8, string_agg('load ' || l.load_id || ': rows_loaded ' || l.rows_loaded || ', bronze ' || coalesce(t.n, 0), '; ' ORDER BY l.load_id)
			FROM meta.loads l LEFT JOIN t ON t._load_id = l.load_id
			WHERE l.status = 'loaded' AND coalesce(t.n, 0) <> l.rows_loaded`},
		check{name: "rows_rejected_match_ledger", table: "meta.rejected_rows", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(*)::float8, string_agg('load ' || l.load_id, ', ' ORDER BY l.load_id)
			FROM meta.loads l
			LEFT JOIN (SELECT load_id, count(*) AS n FROM meta.rejected_rows GROUP BY 1) r ON r.load_id = l.load_id
			WHERE l.status = 'loaded' AND (coalesce(r.n, 0) <> l.rows_rejected OR l.rows_read <> l.rows_loaded + l.rows_rejected)`},
		check{name: "bronze_rows_of_unloaded_loads", table: "bronze.*", level: LevelWarn, threshold: "= 0", pass: zero,
			query: `WITH b AS (
				SELECT DISTINCT _load_id FROM bronze.erp_requisitions UNION SELECT DISTINCT _load_id FROM bronze.inventory
				UNION SELECT DISTINCT _load_id FROM bronze.erp_items)
			SELECT count(*)::float8, string_agg(b._load_id::text, ', ') FROM b
			LEFT JOIN meta.loads l ON l.load_id = b._load_id WHERE l.status IS DISTINCT FROM 'loaded'`},
		check{name: "gold_matches_silver", table: "gold.fact_forecast", level: LevelError, threshold: "= 0 (when no load is pending)", pass: zero,
			query: `SELECT CASE WHEN p.n > 0 THEN 0 ELSE abs(s.n - g.n) END::float8,
				CASE WHEN p.n > 0 THEN p.n || ' loads not refreshed yet: not compared'
				     ELSE 'silver ' || s.n || ' forecast rows, gold ' || g.n || ' site rows' END
			FROM (SELECT count(*) AS n FROM silver.stg_forecasts WHERE site_id <> 'ALL') s,
			     (SELECT count(*) AS n FROM gold.fact_forecast WHERE site_id <> 'ALL') g,
			     (SELECT count(*) AS n FROM meta.loads l WHERE status = 'loaded'
			        AND NOT EXISTS (SELECT 1 FROM meta.refresh_loads r WHERE r.load_id = l.load_id)) p`},
		check{name: "loads_not_refreshed", table: "meta.refresh_loads", level: LevelWarn, threshold: "= 0", pass: zero,
			query: `SELECT count(*)::float8, string_agg(load_id::text, ', ' ORDER BY load_id) FROM meta.loads l WHERE status = 'loaded'
				AND NOT EXISTS (SELECT 1 FROM meta.refresh_loads r WHERE r.load_id = l.load_id)`},
	)
	// Key nulls: share of each source's rows that silver drops for a missing key.
	for _, t := range []struct{ table, total string }{
		{"bronze.erp_requisitions", "FROM silver.erp_lines"},
		{"bronze.ml_forecasts", "FROM bronze.ml_forecasts b JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'"},
		{"bronze.inventory", "FROM bronze.inventory b JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'"},
	} {
		lim := c.cfg.MaxKeyNullRatio
		out = append(out, check{name: "key_null_ratio", table: t.table, level: LevelError,
			threshold: fmt.Sprintf("< %g", lim), pass: func(o float64) bool { return o < lim },
			query: `WITH d AS (SELECT sum(rows) AS n, sum(quantity) AS q FROM silver.dropped_rows WHERE table_name = '` + t.table + `'),
				     a AS (SELECT count(*) AS n ` + t.total + `)
				SELECT CASE WHEN a.n = 0 THEN 0 ELSE d.n::float8 / a.n END,
				       d.n || ' of ' || a.n || ' rows without a key (quantity ' || round(d.q::numeric, 3) || ')'
				FROM d, a`})
	}
	out = append(out,
		check{name: "demand_without_date", table: "bronze.erp_requisitions", level: LevelInfo, threshold: "reported", pass: func(float64) bool { return true },
			query: `SELECT rows::float8, rows || ' ERP lines (' || quantity || ' units) have no DATA SOLICITADO and are not assigned to a day'
				FROM silver.dropped_rows WHERE table_name = 'bronze.erp_requisitions' AND reason LIKE 'no DATA%'`},
		check{name: "items_unknown_to_master", table: "gold.dim_item", level: LevelInfo, threshold: "reported", pass: func(float64) bool { return true },
			query: `SELECT count(*)::float8, left(string_agg(item_id, ', ' ORDER BY item_id), 200) FROM gold.dim_item WHERE NOT in_item_master`},
		check{name: "orphan_items", table: "gold.fact_forecast", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(DISTINCT f.item_id)::float8, left(string_agg(DISTINCT f.item_id, ', '), 200) FROM gold.fact_forecast f
				WHERE NOT EXISTS (SELECT 1 FROM gold.dim_item i WHERE i.item_id = f.item_id)`},
		check{name: "orphan_sites", table: "gold.fact_forecast", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(DISTINCT f.site_id)::float8, left(string_agg(DISTINCT f.site_id, ', '), 200) FROM gold.fact_forecast f
				WHERE NOT EXISTS (SELECT 1 FROM gold.dim_site s WHERE s.site_id = f.site_id)`},
		check{name: "dates_in_dim_time", table: "gold.fact_forecast", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(DISTINCT f.date)::float8, NULL::text FROM gold.fact_forecast f
				WHERE NOT EXISTS (SELECT 1 FROM gold.dim_time d WHERE d.date = f.date)`},
	)
	return out
}
