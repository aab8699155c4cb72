// Package webui is the warehouse's read-only web pages, served by
// `novawh serve` on the same listener as the JSON API, with the same pool
// (the read-only role) and the same sqlc queries (package store):
//
//	/            overview: source freshness, last runs and their steps, rows
//	             per layer, last export, quality checks, unmatched item keys
//	/items       searchable list of materials
//	/items/{id}  charts over a period: forecast vs actual with its band and
//	             the 7/30-day rolling lines, MAPE, daily demand and its
//	             rolling totals, inventory against safety stock and reorder
//	             point; each chart with its table and the API call of its data
//	/runs/{id}   a run's steps, counts, errors and a sample of rejected rows
//
// Pages are html/template (everything escaped) and the charts are SVG drawn
// on the server: no JavaScript, no CDN, no font; every asset is embedded.
// Each page runs a bounded number of indexed queries (no query per item).
package webui
