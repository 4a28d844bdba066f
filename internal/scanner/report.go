package scanner

import (
	"errors"
	"fmt"
	"io"

	"github.com/karalabe/hid"
)

// HIDSupported reports whether this build can read USB-HID scanners: the
// HID library needs cgo, and a CGO_ENABLED=0 build finds no HID device.
func HIDSupported() bool { return hid.Supported() }

// WithoutHID splits what List returned: whether HID was unavailable, and
// the other errors (nil if none). Serial ports are listed either way, so a
// build without cgo still shows them.
func WithoutHID(err error) (hidMissing bool, rest error) {
	if err == nil {
		return false, nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var others []error
	for _, e := range errs {
		if errors.Is(e, ErrHIDUnsupported) {
			hidMissing = true
			continue
		}
		others = append(others, e)
	}
	return hidMissing, errors.Join(others...)
}

// WriteReport prints what List returned for `posagent scanners`: the
// table, then, loudly, that HID devices are missing from it when this build
// cannot see them. It returns List's other errors.
func WriteReport(w io.Writer, ds []Device, err error) error {
	hidMissing, rest := WithoutHID(err)
	if werr := WriteTable(w, ds); werr != nil {
		return werr
	}
	if hidMissing {
		if _, werr := fmt.Fprintf(w, "\n!!! HID SUPPORT IS NOT BUILT IN: USB-HID scanners are not listed above and cannot be used.\n!!! %v\n", ErrHIDUnsupported); werr != nil {
			return werr
		}
	}
	return rest
}
