package drivers

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

func TestEmbeddedProfilesLoad(t *testing.T) {
	ps, err := All()
	if err != nil {
		t.Fatalf("embedded profiles: %v", err)
	}
	if len(ps) < 10 {
		t.Fatalf("got %d profiles, want the common families", len(ps))
	}
	for _, p := range ps {
		if p.Mode == ModeSerial || p.Mode == ModeCDC {
			if p.Serial == nil {
				t.Errorf("%s: a %s profile needs serial settings", p.Name, p.Mode)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		vid, pid uint16
		name     string // "" = no profile
		mode     string
	}{
		{0x05e0, 0x1200, "zebra-keyboard", ModeKeyboard},
		{0x05e0, 0x0600, "zebra-cdc-0600", ModeCDC},
		{0x05e0, 0x1701, "zebra-cdc-1701", ModeCDC},
		{0x05e0, 0x9999, "", ""},
		{0x0c2e, 0x0b61, "honeywell", ModeVaries},
		{0x05f9, 0x2206, "datalogic-keyboard", ModeKeyboard},
		{0x05f9, 0x4204, "datalogic-com", ModeCDC},
		{0x05f9, 0x1234, "datalogic", ModeVaries}, // exact profiles win, the family catches the rest
		{0x1eab, 0x1d03, "newland-keyboard", ModeKeyboard},
		{0x1eab, 0x0106, "newland-cdc", ModeCDC},
		{0x1eab, 0x8310, "newland-hidpos", ModeHIDPOS},
		{0x1eab, 0x0107, "", ""},
		{0x065a, 0x0001, "opticon", ModeVaries},
		{0x1a86, 0x7523, "bridge-ch340", ModeSerial},
		{0x10c4, 0xea60, "bridge-cp210x", ModeSerial},
		{0x0403, 0x6001, "bridge-ftdi", ModeSerial},
		{0x067b, 0x2303, "bridge-pl2303", ModeSerial},
		{0x046d, 0xc52b, "", ""}, // a Logitech receiver: not a scanner
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%04x:%04x", tt.vid, tt.pid), func(t *testing.T) {
			p := Match(tt.vid, tt.pid)
			switch {
			case tt.name == "" && p != nil:
				t.Fatalf("matched %s, want none", p.Name)
			case tt.name == "":
			case p == nil:
				t.Fatalf("no match, want %s", tt.name)
			case p.Name != tt.name || p.Mode != tt.mode:
				t.Fatalf("matched %s (%s), want %s (%s)", p.Name, p.Mode, tt.name, tt.mode)
			}
		})
	}
}

func TestMatchReturnsACopy(t *testing.T) {
	p := Match(0x05e0, 0x1200)
	p.Mode = "changed"
	if Match(0x05e0, 0x1200).Mode != ModeKeyboard {
		t.Fatal("changing a matched profile changed the embedded one")
	}
}

func TestLookup(t *testing.T) {
	if p, err := Lookup("newland-cdc"); err != nil || p.VID != "1eab" {
		t.Fatalf("Lookup(newland-cdc) = %v, %v", p, err)
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("Lookup(nope) error = %v, want one naming the profile", err)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"bad json", `[{`, "a.json"},
		{"unknown key", `[{"name":"a","vendor":"v","vid":"0001","pid":"0001","mode":"cdc","colour":"red"}]`, "colour"},
		{"no name", `[{"vendor":"v","vid":"0001","pid":"0001","mode":"cdc"}]`, "name: required"},
		{"bad vid", `[{"name":"a","vendor":"v","vid":"05e","pid":"0001","mode":"cdc"}]`, `vid "05e"`},
		{"wildcard vid", `[{"name":"a","vendor":"v","vid":"05xx","pid":"0001","mode":"cdc"}]`, `vid "05xx"`},
		{"bad pid", `[{"name":"a","vendor":"v","vid":"0001","pid":"zz01","mode":"cdc"}]`, `pid "zz01"`},
		{"bad mode", `[{"name":"a","vendor":"v","vid":"0001","pid":"0001","mode":"usb"}]`, `mode "usb"`},
		{"bad terminator", `[{"name":"a","vendor":"v","vid":"0001","pid":"0001","mode":"cdc","terminator":"ETX"}]`, `terminator "ETX"`},
		{"bad baud", `[{"name":"a","vendor":"v","vid":"0001","pid":"0001","mode":"serial","serial":{"baud":5,"data_bits":8,"parity":"none","stop_bits":1}}]`, "serial.baud 5"},
		{"bad parity", `[{"name":"a","vendor":"v","vid":"0001","pid":"0001","mode":"serial","serial":{"baud":9600,"data_bits":8,"parity":"mark","stop_bits":1}}]`, `serial.parity "mark"`},
		{"empty setup", `[{"name":"a","vendor":"v","vid":"0001","pid":"0001","mode":"cdc","setup":[{"mode":"keyboard"}]}]`, `setup "keyboard"`},
		{"duplicate", `[{"name":"a","vendor":"v","vid":"0001","pid":"0001","mode":"cdc"},{"name":"a","vendor":"v","vid":"0001","pid":"0002","mode":"cdc"}]`, "already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{"profiles/a.json": {Data: []byte(tt.json)}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// Every profiled vendor gets device access and autosuspend off, and every
// serial-capable profile gets tty access.
func TestUdevRulesCoverProfiles(t *testing.T) {
	rules := string(UdevRules())
	ps, _ := All()
	for _, p := range ps {
		if p.Mode != ModeSerial && !strings.Contains(rules, `SUBSYSTEM=="usb", ATTR{idVendor}=="`+p.VID+`"`) {
			t.Errorf("%s: no usb rule for %s", p.Name, p.VID)
		}
		if !strings.Contains(rules, `SUBSYSTEM=="tty", ATTRS{idVendor}=="`+p.VID+`"`) {
			t.Errorf("%s: no tty rule for %s", p.Name, p.VID)
		}
	}
	for _, line := range strings.Split(rules, "\n") {
		if strings.HasPrefix(line, `SUBSYSTEM=="usb"`) && !strings.Contains(line, `ATTR{power/control}="on"`) {
			t.Errorf("usb rule leaves autosuspend on: %s", line)
		}
	}
}
