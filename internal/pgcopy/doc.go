// Package pgcopy encodes PostgreSQL's binary COPY format (COPY ... FROM
// STDIN (FORMAT binary)): the stream header and trailer, tuple headers and
// fields. The loader encodes bronze rows with it and the ledger its
// rejected rows; the server then parses nothing.
package pgcopy
