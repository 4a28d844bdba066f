//go:build !windows

package winsvc

import "context"

// IsService reports whether the Windows service manager started this
// process: never, here.
func IsService() bool { return false }

// Run is for a process the service manager started.
func Run(func(ctx context.Context) error) error { return ErrNotWindows }

// Install is Windows only.
func Install(string, ...string) error { return ErrNotWindows }

// Uninstall is Windows only.
func Uninstall() error { return ErrNotWindows }

// Start is Windows only.
func Start() error { return ErrNotWindows }

// Stop is Windows only.
func Stop() error { return ErrNotWindows }
