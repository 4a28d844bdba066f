package demo

import (
	"errors"
	"strings"
	"testing"

	"posagent/drivers"
	"posagent/internal/config"
	"posagent/internal/scanner"
)

func TestParseScanner(t *testing.T) {
	profile := &drivers.Profile{Name: "known"}
	one := func() ([]scanner.Device, error) {
		return []scanner.Device{
			{Kind: "serial", Path: "/dev/ttyACM0", VID: 0x05e0, PID: 0x1200, Profile: profile},
			{Kind: "hid", Path: "1-1:1.0", VID: 0x1eab, PID: 0x0d22, Profile: profile},
			{Kind: "hid", Path: "1-2:1.0", VID: 0x046d, PID: 0xc31c}, // a keyboard
		}, nil
	}
	none := func() ([]scanner.Device, error) { return nil, errors.New("HID not supported") }
	tests := []struct {
		in      string
		devices func() ([]scanner.Device, error)
		want    config.Scanner
		err     string
	}{
		{"wedge", none, config.Scanner{Kind: "wedge"}, ""},
		{"serial:/dev/ttyACM0", none, config.Scanner{Kind: "serial", Port: "/dev/ttyACM0"}, ""},
		{"serial:COM3", none, config.Scanner{Kind: "serial", Port: "COM3"}, ""},
		{"hid:05E0:1200", none, config.Scanner{Kind: "hid", VID: "05e0", PID: "1200"}, ""},
		{"hid", one, config.Scanner{Kind: "hid", VID: "1eab", PID: "0d22"}, ""},
		{"hid", none, config.Scanner{}, "no HID scanner found: HID not supported"},
		{"hid:05e0", none, config.Scanner{}, "want hid:VID:PID"},
		{"hid:zz:1200", none, config.Scanner{}, "scanner.vid"},
		{"serial", none, config.Scanner{}, "give the port"},
		{"wedge:x", none, config.Scanner{}, "wedge takes nothing"},
		{"sim", none, config.Scanner{}, "want wedge, serial:PORT, hid or hid:VID:PID"},
	}
	for _, tc := range tests {
		got, err := ParseScanner(tc.in, tc.devices)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: got %v, want an error with %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case got != tc.want:
			t.Errorf("%q: got %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
