// Package run is the nightly job behind `novawh run` and the in-process
// scheduler: it checks the schema version, takes the run lock (a session
// advisory lock, so two runs never overlap), records one meta.runs row that
// is updated after every step, runs load -> pull -> refresh -> check ->
// export, prints a summary and sends an alert when the run fails.
//
// The orchestration (Runner) only knows named tasks; pipeline.go wires the
// real steps from the load, pull, refresh, quality and export packages.
// Exit codes follow the CLI contract: 0 ok (possibly with warnings),
// 1 failed, 2 usage/config (including an out-of-date schema), 3 error-level
// data-quality failure.
//
// A panic in a step (or in the load of one input) is recovered and becomes
// that step's (that input's) failure; see Recovered.
//
// Test hooks (package fault, only with -tags faultinject): pause or panic
// at named points so the fault tests can kill the process there.
package run
