//go:build !linux

package queue

import "os"

// datasync is f.Sync: where there is no fdatasync, bbolt fsyncs too.
func datasync(f *os.File) error { return f.Sync() }
