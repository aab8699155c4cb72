package cli

import (
	"os"
	"runtime/debug"
	"testing"
)

// Batch commands (export, run) give the Go garbage collector room: a full
// export allocates a few megabytes of Parquet column buffers per file it
// writes, thousands of files for day partitions, and with the default
// GOGC=100 the collector ran often enough to cost about a sixth of the
// export's CPU. GOGC=400 under a soft limit of batchMemoryLimit lets the
// heap grow, then collects as often as needed to stay near the limit, so
// the process stays within its 256 MiB budget. GOGC or GOMEMLIMIT in the
// environment win; test binaries, which run commands in-process, keep the
// runtime's defaults.
const (
	batchGCPercent   = 400
	batchMemoryLimit = 160 << 20
)

func batchGC() {
	if testing.Testing() || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(batchMemoryLimit)
	debug.SetGCPercent(batchGCPercent)
}
