package scanner

import (
	"errors"
	"strings"
	"testing"

	"github.com/karalabe/hid"
	"go.bug.st/serial/enumerator"
)

func TestListAndTable(t *testing.T) {
	sb := &countingSerial{ports: func() []*enumerator.PortDetails {
		return []*enumerator.PortDetails{
			{Name: "/dev/ttyS0"},
			{Name: "/dev/ttyACM0", IsUSB: true, VID: "1eab", PID: "1406", Product: "NLS-HR22"},
			{Name: "/dev/ttyUSB0", IsUSB: true, VID: "1a86", PID: "7523"},
		}
	}}
	hb := &fakeHID{supported: true, infos: []hid.DeviceInfo{
		{Path: "hidpos", VendorID: 0x0c2e, ProductID: 0x0b87, UsagePage: 0x8c, Usage: 2, Product: "Xenon 1900"},
		{Path: "kbd", VendorID: 0x05e0, ProductID: 0x1200, UsagePage: 1, Usage: 6, Product: "Symbol Bar Code Scanner"},
		{Path: "mouse", VendorID: 0x046d, ProductID: 0xc077, UsagePage: 1, Usage: 2, Manufacturer: "Logitech", Product: "USB Optical Mouse"},
	}}
	ds, err := list(sb, hb)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := writeTable(&b, ds, "windows"); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"KIND    PATH          VID:PID    MODE      PROFILE         PRODUCT",
		"hid     hidpos        0c2e:0b87  hid-pos   honeywell       Xenon 1900",
		"hid     kbd           05e0:1200  keyboard  zebra-keyboard  Symbol Bar Code Scanner",
		"hid     mouse         046d:c077  ?         -               Logitech USB Optical Mouse",
		"serial  /dev/ttyACM0  1eab:1406  cdc       newland-cdc     NLS-HR22",
		"serial  /dev/ttyS0    -          serial    -               -\n",
		"serial  /dev/ttyUSB0  1a86:7523  serial    bridge-ch340    WCH (chip; scanner maker unknown) CH340 USB-serial bridge",
		"05e0:1200: this scanner is in keyboard mode; Windows owns keyboards: scan the HID POS / USB-CDC setup barcode from drivers/profiles",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	b.Reset()
	writeTable(&b, ds, "linux")
	if strings.Contains(b.String(), "Windows owns keyboards") {
		t.Error("Windows advice printed on Linux, where the HID driver reads keyboard-mode scanners")
	}
}

func TestListWithoutCgo(t *testing.T) {
	ds, err := list(&countingSerial{ports: func() []*enumerator.PortDetails { return []*enumerator.PortDetails{{Name: "COM3"}} }}, &fakeHID{})
	if !errors.Is(err, ErrHIDUnsupported) || len(ds) != 1 {
		t.Fatalf("got %v, %v: want the serial port and ErrHIDUnsupported", ds, err)
	}
}

func TestTableEmpty(t *testing.T) {
	var b strings.Builder
	writeTable(&b, nil, "linux")
	if !strings.Contains(b.String(), "No serial ports or HID devices found") {
		t.Fatal(b.String())
	}
}

// List on this machine, through the real libraries: whatever is plugged
// in, listing must work (HID only where cgo is on).
func TestListHere(t *testing.T) {
	ds, err := List()
	if err != nil && !errors.Is(err, ErrHIDUnsupported) {
		t.Fatalf("List: %v", err)
	}
	var b strings.Builder
	if err := WriteTable(&b, ds); err != nil {
		t.Fatal(err)
	}
}
