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
	out = append(out, c.demandChecks()...)
	return out
}

// demandChecks reconcile gold demand (issue 12) with the ERP lines in
// bronze (the current exports, silver.erp_lines reads bronze directly).
func (c *Checker) demandChecks() []check {
	const pending = `(SELECT count(*) FROM meta.loads l WHERE status = 'loaded'
		AND NOT EXISTS (SELECT 1 FROM meta.refresh_loads r WHERE r.load_id = l.load_id))`
	return []check{
		{name: "demand_matches_bronze", table: "gold.fact_demand", level: LevelError, threshold: "= 0 (when no load is pending)", pass: zero,
			query: `WITH k AS (SELECT ml_key, silver.norm_key(ml_key) AS norm FROM (SELECT DISTINCT ml_key FROM silver.erp_lines) d),
				b AS (SELECT im.item_id, sum(e.quantity::numeric) AS q FROM silver.erp_lines e
				      JOIN k ON k.ml_key = e.ml_key JOIN silver.item_map im ON im.norm = k.norm
				      WHERE e.date IS NOT NULL AND e.quantity IS NOT NULL GROUP BY im.item_id),
				g AS (SELECT item_id, sum(quantity::numeric) AS q FROM gold.fact_demand WHERE site_id = 'ALL' GROUP BY item_id),
				d AS (SELECT coalesce(b.item_id, g.item_id) AS item_id, b.q AS bronze, g.q AS gold FROM b FULL JOIN g USING (item_id)
				      WHERE abs(coalesce(b.q, 0) - coalesce(g.q, 0)) > 1e-6 * greatest(1, abs(coalesce(b.q, 0)))),
				p AS (SELECT ` + pending + ` AS n)
			SELECT CASE WHEN p.n > 0 THEN 0 ELSE (SELECT count(*) FROM d) END::float8,
			       CASE WHEN p.n > 0 THEN p.n || ' loads not refreshed yet: not compared'
			            ELSE (SELECT left(string_agg(item_id || ': gold ' || coalesce(gold::text, 'none') || ', bronze ' || coalesce(bronze::text, 'none'),
			                                         '; ' ORDER BY item_id), 300) FROM d) END
			FROM p`},
		{name: "demand_lines_accounted", table: "gold.fact_demand", level: LevelError, threshold: "= 0 (when no load is pending)", pass: zero,
			query: `WITH b AS (SELECT count(*) AS n FROM silver.erp_lines),
				g AS (SELECT coalesce(sum(lines), 0) AS n FROM gold.fact_demand WHERE site_id = 'ALL'),
				d AS (SELECT coalesce(sum(rows), 0) AS n FROM silver.dropped_rows WHERE table_name = 'bronze.erp_requisitions'),
				p AS (SELECT ` + pending + ` AS n)
			SELECT CASE WHEN p.n > 0 THEN 0 ELSE abs(b.n - g.n - d.n) END::float8,
			       b.n || ' ERP lines: ' || g.n || ' in gold demand, ' || d.n || ' counted in silver.dropped_rows'
			FROM b, g, d, p`},
		{name: "demand_non_negative", table: "gold.fact_demand", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(*)::float8, 'min ' || min(quantity) FROM (
				SELECT quantity FROM gold.fact_demand WHERE quantity < 0
				UNION ALL SELECT quantity FROM gold.fact_demand_supplier WHERE quantity < 0
				UNION ALL SELECT quantity FROM gold.dim_supplier WHERE quantity < 0) x`},
		{name: "lead_time_non_negative", table: "gold.fact_demand", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(*)::float8, NULL::text FROM (
				SELECT 1 FROM gold.fact_demand WHERE lead_time_days_avg < 0 OR lead_time_days_max < 0
				UNION ALL SELECT 1 FROM gold.fact_demand_supplier WHERE lead_time_days_avg < 0 OR lead_time_days_max < 0
				UNION ALL SELECT 1 FROM gold.dim_supplier WHERE lead_time_days_median < 0 OR lead_time_days_p90 < 0) x`},
		{name: "purchase_before_request", table: "bronze.erp_requisitions", level: LevelWarn, threshold: "= 0", pass: zero,
			query: `SELECT count(*)::float8, CASE WHEN count(*) > 0 THEN count(*) || ' ERP lines have DATA DE COMPRA before DATA SOLICITADO (down to '
				|| min(purchase_date - date) || ' days): left out of the lead times' END
				FROM silver.erp_lines WHERE purchase_date < date`},
		{name: "orphan_items", table: "gold.fact_demand", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(DISTINCT f.item_id)::float8, left(string_agg(DISTINCT f.item_id, ', '), 200) FROM gold.fact_demand f
				WHERE NOT EXISTS (SELECT 1 FROM gold.dim_item i WHERE i.item_id = f.item_id)`},
		{name: "orphan_sites", table: "gold.fact_demand", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(DISTINCT f.site_id)::float8, left(string_agg(DISTINCT f.site_id, ', '), 200) FROM gold.fact_demand f
				WHERE NOT EXISTS (SELECT 1 FROM gold.dim_site s WHERE s.site_id = f.site_id)`},
		{name: "orphan_suppliers", table: "gold.fact_demand_supplier", level: LevelError, threshold: "= 0", pass: zero,
			query: `SELECT count(DISTINCT f.supplier)::float8, left(string_agg(DISTINCT f.supplier, ', '), 200) FROM gold.fact_demand_supplier f
				WHERE NOT EXISTS (SELECT 1 FROM gold.dim_supplier s WHERE s.supplier = f.supplier)`},
	}
}
