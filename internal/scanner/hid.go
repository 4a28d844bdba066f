package scanner

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/karalabe/hid"

	"posagent/drivers"
	"posagent/internal/event"
)

// ErrHIDUnsupported: karalabe/hid needs cgo, and without it finds no device
// at all instead of failing. posagent says so rather than wait forever.
var ErrHIDUnsupported = errors.New("USB-HID is not available: this posagent was built with CGO_ENABLED=0 (karalabe/hid needs cgo); rebuild with CGO_ENABLED=1, or use a serial or wedge scanner")

// ErrKeyboardMode: on Windows a scanner that is only a boot keyboard cannot
// be read by any program.
var ErrKeyboardMode = errors.New("this scanner is in keyboard mode; Windows owns keyboards")

// HID usage pages and usages that tell a scanner's mode.
const (
	usagePageDesktop = 0x01
	usageKeyboard    = 0x06
	usagePagePOS     = 0x8c
)

// hidReadTimeout bounds each read so the reading goroutine can notice its
// context and close the device itself.
const hidReadTimeout = 100 // ms

type hidDevice interface {
	ReadTimeout(b []byte, timeoutMs int) (int, error)
	Close() error
}

// hidBackend is what the driver needs from karalabe/hid; tests put a fake
// device layer behind it.
type hidBackend interface {
	Supported() bool
	Enumerate(vid, pid uint16) ([]hid.DeviceInfo, error)
	Open(info hid.DeviceInfo) (hidDevice, error)
}

type karalabeHID struct{}

func (karalabeHID) Supported() bool { return hid.Supported() }
func (karalabeHID) Enumerate(vid, pid uint16) ([]hid.DeviceInfo, error) {
	return hid.Enumerate(vid, pid)
}
func (karalabeHID) Open(info hid.DeviceInfo) (hidDevice, error) { return info.Open() }

type hidScanner struct {
	m manager
}

func newHID(vid, pid uint16, prof *drivers.Profile, o Options) (Scanner, error) {
	be := o.hidAPI
	if be == nil {
		be = karalabeHID{}
	}
	if !be.Supported() {
		return nil, fmt.Errorf("scanner: %w", ErrHIDUnsupported)
	}
	if _, err := newKeyboardDecoder(o.Layout); err != nil {
		return nil, fmt.Errorf("scanner: %w", err)
	}
	want := fmt.Sprintf("%04x:%04x", vid, pid)
	s := &hidScanner{m: manager{want: want, opts: o}}
	s.m.enumerate = func() ([]Device, error) {
		infos, err := be.Enumerate(vid, pid)
		if err != nil {
			return nil, fmt.Errorf("list HID devices: %w", err)
		}
		d, ok, err := pickHID(infos, prof, o, runtime.GOOS)
		if err != nil || !ok {
			return nil, err
		}
		return []Device{d}, nil
	}
	s.m.match = func(Device) bool { return true }
	s.m.describe = func(d Device) string {
		desc := fmt.Sprintf("USB-HID %04x:%04x, %s mode", d.VID, d.PID, d.Mode)
		if d.Product != "" {
			desc += ", " + d.Product
		}
		return desc
	}
	s.m.open = func(d Device) (session, error) {
		dev, err := be.Open(hidInfo(d))
		if err != nil {
			if runtime.GOOS == "linux" {
				err = fmt.Errorf("%w (on Linux: install drivers/linux/99-posagent-scanners.rules for access to the USB device)", err)
			}
			return nil, fmt.Errorf("open %s: %w", want, err)
		}
		kbd, _ := newKeyboardDecoder(o.Layout)
		return &hidSession{dev: dev, mode: d.Mode, kbd: kbd, pos: newPOSDecoder(o.MaxLength), clock: o.Clock}, nil
	}
	return s, nil
}

func (s *hidScanner) Run(ctx context.Context, out chan<- Event) error {
	return s.m.Run(ctx, out, func(d Device) string { return fmt.Sprintf("hid:%04x:%04x", d.VID, d.PID) })
}

func hidInfo(d Device) hid.DeviceInfo {
	return hid.DeviceInfo{Path: d.Path, VendorID: d.VID, ProductID: d.PID, Product: d.Product,
		Manufacturer: d.Manufacturer, Interface: d.Interface, UsagePage: d.UsagePage, Usage: d.Usage}
}

// hidDeviceOf describes a HID interface, with prof as its profile or, when
// nil, the embedded one that matches.
func hidDeviceOf(i hid.DeviceInfo, prof *drivers.Profile) Device {
	if prof == nil {
		prof = drivers.Match(i.VendorID, i.ProductID)
	}
	d := Device{Kind: "hid", Path: i.Path, VID: i.VendorID, PID: i.ProductID, Product: i.Product,
		Manufacturer: i.Manufacturer, Interface: i.Interface, UsagePage: i.UsagePage, Usage: i.Usage,
		Profile: prof}
	switch {
	case i.UsagePage == usagePagePOS:
		d.Mode = drivers.ModeHIDPOS
	case i.UsagePage == usagePageDesktop && i.Usage == usageKeyboard:
		d.Mode = drivers.ModeKeyboard
	case i.UsagePage == 0 && d.Profile != nil && (d.Profile.Mode == drivers.ModeKeyboard || d.Profile.Mode == drivers.ModeHIDPOS):
		d.Mode = d.Profile.Mode
	}
	return d
}

// pickHID chooses the interface of the configured scanner to read, and its
// mode. A HID POS interface wins over a keyboard one. Where the OS reports
// usage pages (Windows, macOS) they decide; on Linux, libusb cannot tell
// them, so the interface number of the profile or options picks one and the
// mode comes from the options, the profile, or defaults to keyboard, which
// is how scanners leave the factory.
func pickHID(infos []hid.DeviceInfo, prof *drivers.Profile, o Options, goos string) (Device, bool, error) {
	if len(infos) == 0 {
		return Device{}, false, nil
	}
	iface := o.HIDInterface
	if iface == nil && prof != nil {
		iface = prof.Interface
	}
	var pos, kbd, other []Device
	for _, i := range infos {
		d := hidDeviceOf(i, prof)
		if iface != nil && i.UsagePage == 0 && i.Interface != *iface {
			continue
		}
		switch {
		case i.UsagePage == usagePagePOS:
			pos = append(pos, d)
		case i.UsagePage == usagePageDesktop && i.Usage == usageKeyboard:
			kbd = append(kbd, d)
		case i.UsagePage == 0:
			other = append(other, d)
		}
	}
	var d Device
	switch {
	case len(pos) > 0:
		d = pos[0]
	case len(kbd) > 0 && goos == "windows":
		return Device{}, false, keyboardModeError(kbd[0])
	case len(kbd) > 0:
		d = kbd[0]
	case len(other) > 0:
		d = other[0]
	default:
		return Device{}, false, fmt.Errorf("%04x:%04x has no keyboard or HID POS interface", infos[0].VendorID, infos[0].ProductID)
	}
	switch {
	case o.HIDMode != "":
		d.Mode = o.HIDMode
	case d.Mode == "":
		d.Mode = drivers.ModeKeyboard
	}
	return d, true, nil
}

// keyboardModeError says what to do with a keyboard-mode scanner on
// Windows.
func keyboardModeError(d Device) error {
	return fmt.Errorf("%04x:%04x: %w: %s", d.VID, d.PID, ErrKeyboardMode, KeyboardModeAdvice(d.Profile))
}

// KeyboardModeAdvice tells a cashier's IT person how to get a keyboard-mode
// scanner read on Windows.
func KeyboardModeAdvice(p *drivers.Profile) string {
	how := "scan the HID POS or USB-CDC setup barcode from the scanner's manual"
	if p != nil {
		for _, s := range p.Setup {
			if s.Mode == drivers.ModeHIDPOS || s.Mode == drivers.ModeCDC {
				how = fmt.Sprintf("scan the HID POS / USB-CDC setup barcode from drivers/profiles (%s %s: %s)", p.Vendor, p.Model, s.How)
				break
			}
		}
	}
	return how + "; then run `posagent scanners` and set scanner.kind (hid or serial) and scanner.pid to what it shows. Or keep keyboard mode with scanner.kind wedge: the checkout screen reads what the scanner types."
}

type hidSession struct {
	dev   hidDevice
	mode  string
	kbd   *keyboardDecoder
	pos   *posDecoder
	clock Clock
}

func (s *hidSession) Close() error { return s.dev.Close() }

func (s *hidSession) serve(ctx context.Context, p *pipeline, flush func() bool) error {
	buf := make([]byte, posReportSize+1)
	var text []byte
	for ctx.Err() == nil {
		n, err := s.dev.ReadTimeout(buf, hidReadTimeout)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		now := s.clock.Now()
		switch {
		case n == 0:
			p.idle(now)
		case s.mode == drivers.ModeHIDPOS:
			c, ok, err := s.pos.decode(buf[:n])
			if err != nil {
				p.reject(nil, event.RejectDevice, err.Error(), now)
			} else if ok {
				p.whole(c, now)
			}
		default:
			text, err = s.kbd.decode(buf[:n], text[:0])
			if err != nil {
				p.reject(nil, event.RejectDevice, err.Error(), now)
			}
			p.write(text, now)
		}
		if !flush() {
			return nil
		}
	}
	return nil
}
