// Package migrations embeds the golang-migrate SQL files that define every
// schema of the warehouse (bronze, silver, gold, meta). The files are the
// single place where DDL lives; sqlc reads the same folder as its schema.
package migrations

import "embed"

// FS holds every NNNNNN_name.up.sql / .down.sql file of this folder.
//
//go:embed *.sql
var FS embed.FS
