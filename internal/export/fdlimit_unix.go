//go:build unix

package export

import "syscall"

// openFileBudget is how many spill files may stay open: half of the
// process's file descriptor limit (Go raises the soft limit to the hard one
// at start-up), between 64 and 4096.
func openFileBudget() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 256
	}
	return int(max(64, min(4096, rl.Cur/2)))
}
