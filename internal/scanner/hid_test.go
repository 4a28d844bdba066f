package scanner

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/karalabe/hid"

	"posagent/drivers"
)

func posReport(data string, more bool) []byte {
	r := make([]byte, 64)
	r[0], r[1] = posReportID, byte(len(data))
	copy(r[2:], "]Q1")
	copy(r[5:], data)
	if more {
		r[63] = posFlagMore
	}
	return r
}

func TestHIDPOSWindowsStyle(t *testing.T) {
	dev := newFakeDevice(t)
	be := &fakeHID{t: t, supported: true}
	be.plug(dev,
		hid.DeviceInfo{Path: "kbd", VendorID: 0x0c2e, ProductID: 0x0b87, UsagePage: 1, Usage: 6},
		hid.DeviceInfo{Path: "pos", VendorID: 0x0c2e, ProductID: 0x0b87, UsagePage: 0x8c, Usage: 2, Product: "Xenon"},
	)
	s, err := Open(Spec{Kind: "hid", VID: "0c2e", PID: "0b87"}, Options{hidAPI: be})
	if err != nil {
		t.Fatal(err)
	}
	out, _, _ := startScanner(t, s)
	e := next(t, out)
	if e.Kind != EventConnected || e.Device != "pos" || !strings.Contains(e.Reason, "hid-pos mode") {
		t.Fatalf("got %+v, want the HID POS interface opened", e)
	}
	dev.reports <- posReport("2812345678", true)
	dev.reports <- posReport("90123456", false)
	e = next(t, out)
	if e.Kind != EventScan || e.Scan.Code != code1 || e.Scan.Symbology != "]Q1" || e.Scan.Source != "hid:0c2e:0b87" {
		t.Fatalf("got %+v", e)
	}
}

// On Linux there are no usage pages: the profile says keyboard, and the
// recording is replayed into the device.
func TestHIDKeyboardLinuxUnplugReplug(t *testing.T) {
	rec := readRecording(t, "testdata/hid/kbd-us-doubled-shift.hidrec")
	dev := newFakeDevice(t)
	info := hid.DeviceInfo{Path: "1-2:1.0", VendorID: 0x05e0, ProductID: 0x1200, Interface: 0}
	be := &fakeHID{t: t, supported: true}
	be.plug(dev, info)
	clock := newManualClock()
	s, err := Open(Spec{Kind: "hid", VID: "05e0", PID: "1200"}, Options{hidAPI: be, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	out, _, _ := startScanner(t, s)
	if e := next(t, out); e.Kind != EventConnected || !strings.Contains(e.Reason, "keyboard mode") {
		t.Fatalf("got %+v, want connected in keyboard mode", e)
	}
	for _, r := range rec.events {
		dev.reports <- r.data
	}
	if e := next(t, out); e.Kind != EventScan || e.Scan.Code != "28112345678990123456" {
		t.Fatalf("got %+v", e)
	}

	// Half a code, then the cable is pulled.
	for _, r := range rec.events[:20] {
		dev.reports <- r.data
	}
	be.unplug()
	close(dev.gone)
	e := next(t, out)
	if e.Kind != EventDisconnected || !strings.Contains(e.Reason, "NO_DEVICE") {
		t.Fatalf("got %+v, want disconnected", e)
	}
	if dev.closes.Load() != 1 {
		t.Fatalf("device closed %d times, want once", dev.closes.Load())
	}
	// Gone: one look per tick, and nothing reported.
	<-clock.waits
	for range 5 {
		clock.Advance(time.Minute)
		if d := <-clock.waits; d != DefaultPoll {
			t.Fatalf("waits %v while the device is away, want %v", d, DefaultPoll)
		}
	}
	if n := be.opens.Load(); n != 1 {
		t.Fatalf("%d opens, want 1: nothing to open while unplugged", n)
	}
	dev2 := newFakeDevice(t)
	be.plug(dev2, info)
	clock.Advance(time.Minute)
	if e := next(t, out); e.Kind != EventConnected {
		t.Fatalf("got %+v, want connected again", e)
	}
	for _, r := range rec.events {
		dev2.reports <- r.data
	}
	if e := next(t, out); e.Kind != EventScan || e.Scan.Code != "28112345678990123456" {
		t.Fatalf("after replug got %+v: the half code from before must be gone", e)
	}
}

// Cancelling while the reader is inside ReadTimeout: the reading goroutine
// closes the device itself, after its read returns.
func TestHIDCloseWhileReading(t *testing.T) {
	dev := newFakeDevice(t)
	be := &fakeHID{t: t, supported: true}
	be.plug(dev, hid.DeviceInfo{Path: "p", VendorID: 1, ProductID: 2})
	s, _ := Open(Spec{Kind: "hid", VID: "0001", PID: "0002"}, Options{hidAPI: be})
	out, cancel, done := startScanner(t, s)
	next(t, out)
	<-dev.reading // drain a token from before the connected event
	select {
	case <-dev.reading:
	case <-time.After(5 * time.Second):
		t.Fatal("reader never entered ReadTimeout")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if dev.closes.Load() != 1 {
		t.Fatalf("closed %d times, want once", dev.closes.Load())
	}
}

func TestHIDWithoutCgo(t *testing.T) {
	_, err := Open(Spec{Kind: "hid", VID: "05e0", PID: "1200"}, Options{hidAPI: &fakeHID{supported: false}})
	if !errors.Is(err, ErrHIDUnsupported) || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("error = %v, want ErrHIDUnsupported naming CGO_ENABLED=0", err)
	}
}

func TestPickHID(t *testing.T) {
	kbd := hid.DeviceInfo{Path: "k", VendorID: 0x05e0, ProductID: 0x1200, UsagePage: 1, Usage: 6}
	pos := hid.DeviceInfo{Path: "p", VendorID: 0x05e0, ProductID: 0x1200, UsagePage: 0x8c, Usage: 2}
	if0 := hid.DeviceInfo{Path: "i0", VendorID: 0x1eab, ProductID: 0x8310, Interface: 0}
	if1 := hid.DeviceInfo{Path: "i1", VendorID: 0x1eab, ProductID: 0x8310, Interface: 1}
	one := 1
	withIface := &drivers.Profile{Name: "x", Mode: drivers.ModeHIDPOS, Interface: &one}
	tests := []struct {
		name     string
		infos    []hid.DeviceInfo
		prof     *drivers.Profile
		opts     Options
		goos     string
		path     string
		mode     string
		errIs    error
		notFound bool
	}{
		{"nothing", nil, nil, Options{}, "linux", "", "", nil, true},
		{"POS beats keyboard", []hid.DeviceInfo{kbd, pos}, nil, Options{}, "windows", "p", drivers.ModeHIDPOS, nil, false},
		{"keyboard on linux", []hid.DeviceInfo{kbd}, nil, Options{}, "linux", "k", drivers.ModeKeyboard, nil, false},
		{"keyboard only on windows", []hid.DeviceInfo{kbd}, drivers.Match(0x05e0, 0x1200), Options{}, "windows", "", "", ErrKeyboardMode, false},
		{"linux: mode from the matched profile", []hid.DeviceInfo{if0}, nil, Options{}, "linux", "i0", drivers.ModeHIDPOS, nil, false},
		{"linux: interface from the profile", []hid.DeviceInfo{if0, if1}, withIface, Options{}, "linux", "i1", drivers.ModeHIDPOS, nil, false},
		{"linux: interface from options", []hid.DeviceInfo{if0, if1}, nil, Options{HIDInterface: &one}, "linux", "i1", drivers.ModeHIDPOS, nil, false},
		{"linux: mode from options", []hid.DeviceInfo{if0}, nil, Options{HIDMode: drivers.ModeKeyboard}, "linux", "i0", drivers.ModeKeyboard, nil, false},
		{"linux: unknown device defaults to keyboard", []hid.DeviceInfo{{Path: "u", VendorID: 9, ProductID: 9}}, nil, Options{}, "linux", "u", drivers.ModeKeyboard, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok, err := pickHID(tt.infos, tt.prof, tt.opts, tt.goos)
			switch {
			case tt.errIs != nil:
				if !errors.Is(err, tt.errIs) {
					t.Fatalf("err = %v, want %v", err, tt.errIs)
				}
			case err != nil:
				t.Fatal(err)
			case tt.notFound:
				if ok {
					t.Fatalf("picked %+v from nothing", d)
				}
			case !ok || d.Path != tt.path || d.Mode != tt.mode:
				t.Fatalf("picked %s (%s) ok=%v, want %s (%s)", d.Path, d.Mode, ok, tt.path, tt.mode)
			}
		})
	}
}

func TestKeyboardModeAdvice(t *testing.T) {
	_, _, err := pickHID([]hid.DeviceInfo{{VendorID: 0x05e0, ProductID: 0x1200, UsagePage: 1, Usage: 6}}, drivers.Match(0x05e0, 0x1200), Options{}, "windows")
	msg := err.Error()
	for _, want := range []string{"05e0:1200", "this scanner is in keyboard mode; Windows owns keyboards", "drivers/profiles", "Zebra", "posagent scanners", "wedge"} {
		if !strings.Contains(msg, want) {
			t.Errorf("advice %q lacks %q", msg, want)
		}
	}
	if a := KeyboardModeAdvice(nil); !strings.Contains(a, "setup barcode from the scanner's manual") {
		t.Errorf("advice without a profile: %q", a)
	}
}
