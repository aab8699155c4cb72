// Package pgerr is the one place where novawh classifies database errors.
//
// Server errors are recognised by SQLSTATE (the pgerrcode constants), never
// by their text; connection failures by the error types of pgx, pgconn and
// the net package. Every other package asks here: "was the statement
// cancelled?", "did we lose the server?", "is this a privilege error?".
package pgerr
