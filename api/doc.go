// Package api is the dashboards' HTTP JSON API over the warehouse's gold
// layer, as an http.Handler a Go backend mounts in its own server
// (`novawh serve` serves the same handler).
//
//	pool, err := api.OpenPool(ctx, dsn, api.PoolOptions{ReaderRole: "novawh_reader", StatementTimeout: 5 * time.Second}, logger)
//	h, err := api.New(pool, api.Options{Logger: logger, BasePath: "/dash"})
//	defer h.Close(ctx)
//	mux.Handle("/dash/", http.StripPrefix("/dash", h))
//
// The endpoints (GET /api/v1/items, /api/v1/items/{id}/timeseries,
// /api/v1/forecasts/summary, /api/v1/aggregates, /api/v1/inventory/{id},
// POST /api/v1/data/refresh, GET /health, ...) and their JSON are specified
// in OpenAPI 3 (api/openapi.yaml, embedded: Spec, and served at
// GET /api/v1/openapi.json); docs/api.md describes them with examples.
//
// Reads go through the sqlc queries and read rules of the public package
// github.com/novacorrente/novawh/store, so a backend calling store directly
// gets the same answers. Item-level endpoints read the rows with
// site_id = 'ALL' of gold.fact_forecast and gold.agg_forecast_rolling (the
// forecast summed over the item's sites and the item's total ERP demand).
//
// Responses of the read endpoints are cached in process for Options.CacheTTL,
// bounded in entries and bytes, and purged whenever a refresh job (run by an
// injected Refresher, or by Handler.RunJob) finishes. Every error is the JSON
// body {"error":{"code","message"}}; serve on JSONErrorListener(ln) to give
// it also to the requests net/http refuses before any handler runs.
// OpenPool connects with a statement timeout and, when asked, as the
// read-only role novawh_reader (SET ROLE).
//
// The package depends on pgx and the Prometheus client only (no CLI, S3 or
// Parquet libraries; a test checks it with go list -deps).
package api
