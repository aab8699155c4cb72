//go:build !unix

package export

// openFileBudget is how many spill files may stay open.
func openFileBudget() int { return 256 }
