// Package refreshdb is the sqlc-generated access (pgx/v5) to the refresh
// ledger (meta.refreshes, meta.refresh_loads) and the entry points of the
// transformation (silver.refresh, gold.refresh): the SQL lives in
// queries/refresh/*.sql, the schema is read from migrations/ and
// migrations/transform/, and `make generate` rewrites every other file of
// this package. Never edit them by hand; `make verify` fails when they are
// stale. internal/refresh is its only user.
package refreshdb
