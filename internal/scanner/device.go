package scanner

import "posagent/drivers"

// Device is a scanner, or something that may be one, that this PC can see.
type Device struct {
	Kind         string // "serial" or "hid"
	Path         string // port name (/dev/ttyACM0, COM3) or the HID path
	VID, PID     uint16 // 0 when the OS does not say
	Product      string
	Manufacturer string
	// Mode is how the device talks: drivers.ModeKeyboard, ModeHIDPOS,
	// ModeCDC or ModeSerial; "" when it cannot be told.
	Mode string
	// Interface is the USB interface number of a HID device, -1 when
	// unknown; UsagePage and Usage are 0 where the OS does not report them
	// (Linux).
	Interface        int
	UsagePage, Usage uint16
	Profile          *drivers.Profile // nil when no profile matches
}
