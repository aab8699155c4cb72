// Package ledger records every input (a file, or one window of an HTTP pull)
// in meta.loads and its rejected rows in meta.rejected_rows. The row of an
// input is written in the same transaction as its bronze rows, so a crash
// leaves neither; a failure is recorded afterwards in its own transaction.
// rows_read = rows_loaded + rows_rejected always holds for loaded inputs.
package ledger
