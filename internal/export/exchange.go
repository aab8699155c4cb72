package export

import "os"

// exchangeByRenames swaps two folders with three renames, for file systems
// without an atomic exchange: final is missing for the moment between the
// first two renames.
func exchangeByRenames(next, final string) (bool, error) {
	old := next + ".prev"
	if err := os.Rename(final, old); err != nil {
		return false, err
	}
	if err := os.Rename(next, final); err != nil {
		_ = os.Rename(old, final)
		return false, err
	}
	return true, os.Rename(old, next)
}
