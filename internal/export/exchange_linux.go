package export

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// exchange publishes the folder built at next as final. When final exists
// the two are swapped atomically (renameat2 RENAME_EXCHANGE): readers see the
// old or the new version, never a mix, and next then holds the old version.
func exchange(next, final string) (swapped bool, err error) {
	if _, err := os.Lstat(final); errors.Is(err, os.ErrNotExist) {
		return false, os.Rename(next, final)
	}
	err = unix.Renameat2(unix.AT_FDCWD, next, unix.AT_FDCWD, final, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return exchangeByRenames(next, final)
	}
	return err == nil, err
}
