// Package drivers holds what posagent knows about scanner hardware as data:
// device profiles (vendor, model, USB ids, interface mode, serial settings,
// terminator, and how to switch the mode) and the OS setup files. They are
// embedded so that `posagent scanners` can match devices on a PC where only
// the binary was copied.
//
// A profile helps but is never required: cheap scanners reuse the vendor ids
// of their USB chips, so a device without a profile is still read with the
// settings of the configuration file.
package drivers

import (
	"bytes"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

// Interface modes a scanner can present on USB.
const (
	ModeKeyboard = "keyboard" // a HID boot keyboard: it types
	ModeHIDPOS   = "hid-pos"  // HID usage page 0x8C, barcode scanner reports
	ModeCDC      = "cdc"      // USB-CDC ACM: a virtual serial port, baud ignored
	ModeSerial   = "serial"   // a USB-to-serial bridge chip: baud and framing matter
	ModeVaries   = "varies"   // the vendor id alone does not tell the mode
)

var modes = []string{ModeKeyboard, ModeHIDPOS, ModeCDC, ModeSerial, ModeVaries}

// Profile describes one scanner model in one interface mode, or a family
// that shares a vendor id.
type Profile struct {
	Name   string `json:"name"`   // unique; config key scanner.profile
	Vendor string `json:"vendor"` // who made it
	Model  string `json:"model"`  // model or family
	VID    string `json:"vid"`    // 4 hex digits
	// PID is 4 hex digits; an 'x' matches any digit, so "xx03" matches
	// every product whose low byte is 03 (Newland encodes the mode there).
	PID  string `json:"pid"`
	Mode string `json:"mode"`
	// Interface is the USB interface number of the HID POS interface, used
	// on Linux where libusb cannot report usage pages. Nil when unknown.
	Interface  *int            `json:"interface,omitempty"`
	Serial     *SerialSettings `json:"serial,omitempty"`
	Terminator string          `json:"terminator,omitempty"` // CR, LF, CRLF, TAB or none
	// Setup says how to switch the scanner into each mode: a barcode to
	// scan or a command to send. "see manual" where the codes are not known
	// here: a wrong setup barcode can leave a scanner in an odd state.
	Setup []Setup `json:"setup,omitempty"`
	Notes string  `json:"notes,omitempty"`
}

// SerialSettings are the line settings of a serial or CDC scanner.
type SerialSettings struct {
	Baud     int    `json:"baud"`      // CDC ignores it
	DataBits int    `json:"data_bits"` // 7 or 8
	Parity   string `json:"parity"`    // none, odd, even
	StopBits int    `json:"stop_bits"` // 1 or 2
}

// Setup is one way to put a scanner into Mode.
type Setup struct {
	Mode string `json:"mode"`
	How  string `json:"how"`
}

//go:embed profiles/*.json
var profileFS embed.FS

//go:embed linux/99-posagent-scanners.rules
var udevRules []byte

// UdevRules returns the Linux udev rules file, for `posagent scanners` to
// print or install.
func UdevRules() []byte { return bytes.Clone(udevRules) }

var (
	loadOnce sync.Once
	all      []Profile
	loadErr  error
)

// All returns the embedded profiles, sorted by name. A broken embedded file
// is a build defect, found by the package tests.
func All() ([]Profile, error) {
	loadOnce.Do(func() { all, loadErr = Load(profileFS) })
	return slices.Clone(all), loadErr
}

// Load reads every profiles/*.json file of fsys (each a JSON array of
// profiles), validates them, and returns them sorted by name.
func Load(fsys fs.FS) ([]Profile, error) {
	files, err := fs.Glob(fsys, "profiles/*.json")
	if err != nil {
		return nil, err
	}
	var ps []Profile
	names := map[string]string{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var list []Profile
		if err := dec.Decode(&list); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for i, p := range list {
			if err := p.Validate(); err != nil {
				return nil, fmt.Errorf("%s: profile %d: %w", f, i, err)
			}
			if other, dup := names[p.Name]; dup {
				return nil, fmt.Errorf("%s: profile %q: name already used in %s", f, p.Name, other)
			}
			names[p.Name] = path.Base(f)
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b Profile) int { return strings.Compare(a.Name, b.Name) })
	return ps, nil
}

// Validate checks one profile and names the field that is wrong.
func (p *Profile) Validate() error {
	switch {
	case p.Name == "":
		return fmt.Errorf("name: required")
	case p.Vendor == "":
		return fmt.Errorf("%s: vendor: required", p.Name)
	case !isHexID(p.VID, false):
		return fmt.Errorf("%s: vid %q: want 4 hex digits", p.Name, p.VID)
	case !isHexID(p.PID, true):
		return fmt.Errorf("%s: pid %q: want 4 hex digits, 'x' for any", p.Name, p.PID)
	case !slices.Contains(modes, p.Mode):
		return fmt.Errorf("%s: mode %q: want one of %s", p.Name, p.Mode, strings.Join(modes, ", "))
	}
	switch p.Terminator {
	case "", "CR", "LF", "CRLF", "TAB", "none":
	default:
		return fmt.Errorf("%s: terminator %q: want CR, LF, CRLF, TAB or none", p.Name, p.Terminator)
	}
	if s := p.Serial; s != nil {
		switch {
		case s.Baud < 300 || s.Baud > 4000000:
			return fmt.Errorf("%s: serial.baud %d: want 300 to 4000000", p.Name, s.Baud)
		case s.DataBits != 7 && s.DataBits != 8:
			return fmt.Errorf("%s: serial.data_bits %d: want 7 or 8", p.Name, s.DataBits)
		case s.Parity != "none" && s.Parity != "odd" && s.Parity != "even":
			return fmt.Errorf("%s: serial.parity %q: want none, odd or even", p.Name, s.Parity)
		case s.StopBits != 1 && s.StopBits != 2:
			return fmt.Errorf("%s: serial.stop_bits %d: want 1 or 2", p.Name, s.StopBits)
		}
	}
	for _, s := range p.Setup {
		if !slices.Contains(modes, s.Mode) || s.How == "" {
			return fmt.Errorf("%s: setup %q: want a known mode and how to switch to it", p.Name, s.Mode)
		}
	}
	return nil
}

func isHexID(s string, wildcard bool) bool {
	if len(s) != 4 {
		return false
	}
	if wildcard {
		s = strings.ReplaceAll(s, "x", "0")
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// Matches reports whether the profile covers the USB ids.
func (p *Profile) Matches(vid, pid uint16) bool {
	if p.VID != fmt.Sprintf("%04x", vid) {
		return false
	}
	want := fmt.Sprintf("%04x", pid)
	for i := range 4 {
		if p.PID[i] != 'x' && p.PID[i] != want[i] {
			return false
		}
	}
	return true
}

// specificity counts the PID digits a profile fixes: an exact profile wins
// over a family one.
func (p *Profile) specificity() int { return 4 - strings.Count(p.PID, "x") }

// Match returns the most specific embedded profile for the USB ids, or nil.
func Match(vid, pid uint16) *Profile {
	ps, err := All()
	if err != nil {
		return nil
	}
	return matchIn(ps, vid, pid)
}

func matchIn(ps []Profile, vid, pid uint16) *Profile {
	var best *Profile
	for i := range ps {
		p := &ps[i]
		if p.Matches(vid, pid) && (best == nil || p.specificity() > best.specificity()) {
			best = p
		}
	}
	if best == nil {
		return nil
	}
	c := *best
	return &c
}

// Lookup returns the embedded profile named name.
func Lookup(name string) (*Profile, error) {
	ps, err := All()
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i], nil
		}
	}
	return nil, fmt.Errorf("scanner profile %q: not in drivers/profiles", name)
}
