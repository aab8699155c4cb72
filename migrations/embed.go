// Package migrations embeds the golang-migrate SQL files that define every
// schema of the warehouse (bronze, silver, gold, meta). The files are the
// single place where DDL lives; sqlc reads the same folder as its schema.
//
// A Go backend migrates its database with golang-migrate reading FS
// through source/iofs and the pgx/v5 driver (URL scheme pgx5://): see
// Example_golangMigrate, or examples/backend. `novawh migrate up` does the
// same.
package migrations

import "embed"

// FS holds every NNNNNN_name.up.sql / .down.sql file of this folder.
//
//go:embed *.sql
var FS embed.FS
