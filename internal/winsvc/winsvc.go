// Package winsvc runs posagent's headless mode as a Windows service and
// installs, removes, starts and stops that service: a till must keep reading
// codes with nobody logged in, and come back by itself after a crash.
//
// On other systems every function reports ErrNotWindows (or false): Linux
// tills use the systemd unit in drivers/linux.
package winsvc

import (
	"errors"
	"time"
)

// Name is the service's name; DisplayName what services.msc shows.
const (
	Name        = "posagent"
	DisplayName = "posagent checkout-terminal agent"
	Description = "Reads Alipay payment codes from the barcode scanner, decodes them and issues the merchant's coupons (headless mode)."
)

// Account is the account the service runs as: LocalService has no rights
// beyond the data directory and key files an installer grants it
// (docs/install-windows.md), unlike LocalSystem.
const Account = `NT AUTHORITY\LocalService`

// StopWait bounds how long Stop waits for the service to end: posagent
// finishes the scan in flight within 5 s.
const StopWait = 20 * time.Second

// ErrNotWindows is returned on systems without Windows services.
var ErrNotWindows = errors.New("the service commands are for Windows: on Linux install the systemd unit (docs/install-linux.md)")
