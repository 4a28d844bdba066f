package dbfile

import (
	"errors"
	"syscall"
)

// syncDir does nothing: Windows cannot sync a directory, and NTFS journals
// its names.
func syncDir(string) error { return nil }

// isDiskFull reports Windows' own codes for a full disk.
func isDiskFull(err error) bool {
	const errorHandleDiskFull, errorDiskFull = syscall.Errno(39), syscall.Errno(112)
	return errors.Is(err, errorHandleDiskFull) || errors.Is(err, errorDiskFull)
}
