// Package fault holds the fault-injection tests of the nightly job: they
// build the novawh binary, drive `novawh run` as a subprocess against real
// PostgreSQL and kill it (SIGKILL) during load, refresh and export, restart
// PostgreSQL under it, run two jobs at once, feed it a corrupt file and a
// full disk, then compare gold (count + md5 of ordered rows) and the Parquet
// export (row hashes read back with parquet-go) with an uninterrupted run
// on a separate database. The pause points come from the test hook
// NOVAWH_FAULT_PAUSE_AT (internal/run/fault).
package fault
