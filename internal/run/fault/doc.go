// Package fault is a TEST HOOK for the fault-injection tests of the
// nightly job (test/fault) and of the export (internal/export). It is
// compiled in only with the build tag faultinject (go build -tags
// faultinject); the production binary gets the no-op versions of
// fault_off.go, reads no environment variable and has no hook (test/fault checks it). With the tag:
//
//	NOVAWH_FAULT_PAUSE_AT=point[#n][,point[#n]...]
//
// stops the process the n-th time (default: the first) it reaches point,
// so that a test can kill it (kill -9), restart PostgreSQL under it, or
// start a second run while the first holds the lock. Points of `novawh
// run`: run.locked, load.source (before each configured input source),
// load.done, pull, refresh, check, export, export.done, run.finish; of
// `novawh export`: export.table (each time a table of the new layer version
// is complete, before the layer is published; internal/export's crash tests). While
// paused the process prints
//
//	novawh-fault: paused at <point> pid <pid>
//
// on stderr and waits until it receives SIGUSR1 (resume), its context ends,
// or NOVAWH_FAULT_PAUSE_FOR (a Go duration, default 10m) elapses.
//
//	NOVAWH_FAULT_PANIC_AT=point[#n][,...]
//
// panics there instead ("novawh-fault: injected panic at <point>"): the
// points are the steps (load, pull, refresh, check, export: inside the
// step) and load.input (inside the load of each configured input), so the
// tests prove a panic becomes that step's or that input's failure.
package fault
