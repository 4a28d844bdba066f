package demo

import (
	"errors"
	"fmt"
	"strings"

	"posagent/internal/config"
	"posagent/internal/scanner"
)

// ParseScanner reads the value of `posagent demo --scanner`: "wedge",
// "serial:PORT", "hid:VID:PID", or "hid" for the one HID device whose
// VID:PID a profile in drivers/ knows. devices lists what the PC sees
// (scanner.List); it is only called for a bare "hid".
func ParseScanner(v string, devices func() ([]scanner.Device, error)) (config.Scanner, error) {
	kind, rest, _ := strings.Cut(v, ":")
	var sc config.Scanner
	switch kind {
	case config.ScannerWedge:
		if rest != "" {
			return sc, fmt.Errorf("--scanner %q: wedge takes nothing after it", v)
		}
		sc.Kind = config.ScannerWedge
	case config.ScannerSerial:
		if rest == "" {
			return sc, fmt.Errorf("--scanner %q: give the port, e.g. serial:/dev/ttyACM0 or serial:COM3", v)
		}
		sc.Kind, sc.Port = config.ScannerSerial, rest
	case config.ScannerHID:
		sc.Kind = config.ScannerHID
		if rest == "" {
			d, err := knownHID(devices)
			if err != nil {
				return sc, fmt.Errorf("--scanner hid: %w", err)
			}
			sc.VID, sc.PID = fmt.Sprintf("%04x", d.VID), fmt.Sprintf("%04x", d.PID)
			break
		}
		vid, pid, ok := strings.Cut(rest, ":")
		if !ok {
			return sc, fmt.Errorf("--scanner %q: want hid:VID:PID, e.g. hid:05e0:1200", v)
		}
		sc.VID, sc.PID = strings.ToLower(vid), strings.ToLower(pid)
	default:
		return sc, fmt.Errorf("--scanner %q: want wedge, serial:PORT, hid or hid:VID:PID", v)
	}
	c := config.Config{Scanner: sc}
	var errs config.Errors
	if err := c.Validate(); errors.As(err, &errs) {
		for _, e := range errs {
			if strings.HasPrefix(e.Key, "scanner.") {
				return sc, fmt.Errorf("--scanner %q: %w", v, e)
			}
		}
	}
	return sc, nil
}

// knownHID is the only HID device with a profile.
func knownHID(devices func() ([]scanner.Device, error)) (scanner.Device, error) {
	ds, err := devices()
	var found []scanner.Device
	for _, d := range ds {
		if d.Kind == config.ScannerHID && d.Profile != nil {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return scanner.Device{}, fmt.Errorf("%d HID scanners with a profile: give hid:VID:PID (see posagent scanners)", len(found))
	case err != nil:
		return scanner.Device{}, fmt.Errorf("no HID scanner found: %w", err)
	}
	return scanner.Device{}, errors.New("no HID scanner with a known profile found: give hid:VID:PID (see posagent scanners)")
}

// UseScanner makes the demo read a real scanner instead of its script: the
// fake gateway decodes any well-formed payment code to the demo's Student
// (with campus identity, so coupons follow), so the scanner can be proven
// before any Alipay keys exist.
func (d *Demo) UseScanner(sc config.Scanner) {
	d.Config.Scanner = sc
	d.Script, d.Codes, d.OutageCode, d.length = nil, nil, "", 0
	d.Server.SetAnyCode(Student.UserID)
}
