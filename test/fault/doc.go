// Package fault holds the fault-injection tests of the nightly job: they
// build the novawh binary, drive `novawh run` as a subprocess against real
// PostgreSQL and kill it (SIGKILL) during load, refresh and export, restart
// PostgreSQL under it, run two jobs at once, feed it a corrupt file and a
// full disk, then compare gold (count + md5 of ordered rows) and the Parquet
// export (row hashes read back with parquet-go) with an uninterrupted run
// on a separate database. The pause and panic points come from the test
// hooks NOVAWH_FAULT_PAUSE_AT and NOVAWH_FAULT_PANIC_AT (internal/run/fault),
// compiled in only with -tags faultinject: the binary under test is built
// with it, and a test checks the production build has no hook.
package fault
