// Package progress shows the progress of long work on a terminal: a bar
// with counts (bytes, rows, partitions, windows) when the total is known, a
// spinner with the running count when it is not, and the elapsed time in
// both. It is quiet when its writer is not a terminal (pipes, files, CI
// logs), so callers never test for that themselves.
//
// A *Reporter is injected (never global): the CLI builds one for stderr and
// hands it to the load, pull, refresh and export steps through their
// options. A nil *Reporter and the nil *Task it returns are valid and do
// nothing, so a library caller that wants no progress passes nothing.
//
//	task := rep.Count("export gold.fact_forecast", int64(len(parts)), "partitions")
//	defer task.Done()
//	... task.Add(1) // from any goroutine
//
// A Reporter shows one line at a time: starting a task ends the one
// before it. Every method is safe for concurrent use.
//
// The bars are drawn by github.com/schollz/progressbar/v3, configured so
// that the first frame is the empty bar (0, no rate): the rate of a bytes
// bar is first shown after the throttle interval, never from the few
// microseconds before the first read (which showed "(28 GB/s)").
package progress
