// Package migrations embeds the SQL that defines every schema of the
// warehouse (bronze, silver, gold, meta). The versioned golang-migrate files
// of this folder (NNNNNN_name.up.sql / .down.sql) create the tables; the
// repeatable files of transform/ (R__NNN_name.sql) define the views and the
// functions of the transformation, applied after them by `novawh migrate
// up` (internal/migrate). sqlc reads both folders as its schema.
//
// A Go backend migrates its database with golang-migrate reading FS
// through source/iofs and the pgx/v5 driver (URL scheme pgx5://) for the
// versioned files, then applies the repeatable files of transform/ in
// order (see Example_golangMigrate and examples/backend); `novawh migrate
// up` does both.
package migrations

import "embed"

// FS holds every versioned migration and, under transform/, every
// repeatable file.
//
//go:embed *.sql transform/*.sql
var FS embed.FS
