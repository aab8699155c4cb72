//go:build !linux

package export

import (
	"errors"
	"os"
)

// exchange publishes the folder built at next as final (see the Linux
// version; without renameat2 the swap takes two renames).
func exchange(next, final string) (swapped bool, err error) {
	if _, err := os.Lstat(final); errors.Is(err, os.ErrNotExist) {
		return false, os.Rename(next, final)
	}
	return exchangeByRenames(next, final)
}
