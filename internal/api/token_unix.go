//go:build !windows

package api

import (
	"fmt"
	"os"
)

// private refuses a token file that others may read.
func private(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("api token: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("api token %s: mode %o lets others read it; chmod 600 it", path, fi.Mode().Perm())
	}
	return nil
}
