// Package serve is the dashboards' HTTP JSON API over the gold layer
// (`novawh serve`).
//
// Reads go through the sqlc queries of internal/store. Item-level endpoints
// read the rows with site_id = 'ALL' of gold.fact_forecast and
// gold.agg_forecast_rolling (the forecast summed over the item's sites and
// the item's total ERP demand), which is what accuracy dashboards show.
//
// New builds a Server (an http.Handler); Run listens on Options.Addr and
// shuts down gracefully when its context ends. Responses of the read
// endpoints are cached in process for Options.CacheTTL and the cache is
// purged whenever a refresh job (POST /api/v1/data/refresh, run by an
// injected Refresher) finishes. OpenPool connects with a statement timeout
// and, when asked, as the read-only role novawh_reader (SET ROLE).
//
// See docs/api.md for the endpoints and their JSON contracts.
package serve
