package scanner

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"text/tabwriter"

	"posagent/drivers"
)

// List returns the serial ports and HID devices this PC can see, each with
// its USB ids, mode and matching profile: what `posagent scanners` prints.
// When HID is not available (a build without cgo) it returns the serial
// ports and an error wrapping ErrHIDUnsupported.
func List() ([]Device, error) { return list(bugstSerial{}, karalabeHID{}) }

func list(sb serialBackend, hb hidBackend) ([]Device, error) {
	var errs []error
	ds, err := serialDevices(sb)
	if err != nil {
		errs = append(errs, err)
	}
	if !hb.Supported() {
		errs = append(errs, ErrHIDUnsupported)
	} else if infos, err := hb.Enumerate(0, 0); err != nil {
		errs = append(errs, fmt.Errorf("list HID devices: %w", err))
	} else {
		for _, i := range infos {
			ds = append(ds, hidDeviceOf(i, nil))
		}
	}
	slices.SortStableFunc(ds, func(a, b Device) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Path, b.Path))
	})
	return ds, errors.Join(errs...)
}

// WriteTable prints devices as a table, followed by advice for scanners
// that need a setting changed.
func WriteTable(w io.Writer, ds []Device) error { return writeTable(w, ds, runtime.GOOS) }

func writeTable(w io.Writer, ds []Device, goos string) error {
	if len(ds) == 0 {
		_, err := fmt.Fprintln(w, "No serial ports or HID devices found.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tPATH\tVID:PID\tMODE\tPROFILE\tPRODUCT")
	var advice []string
	for _, d := range ds {
		ids, mode, prof, product := "-", d.Mode, "-", d.Product
		if d.VID != 0 || d.PID != 0 {
			ids = fmt.Sprintf("%04x:%04x", d.VID, d.PID)
		}
		if mode == "" {
			mode = "?"
		}
		if d.Profile != nil {
			prof = d.Profile.Name
			if product == "" {
				product = d.Profile.Vendor + " " + d.Profile.Model
			}
		}
		if d.Manufacturer != "" && product != "" && d.Profile == nil {
			product = d.Manufacturer + " " + product
		}
		if product == "" {
			product = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Kind, d.Path, ids, mode, prof, product)
		if goos == "windows" && d.Kind == "hid" && d.Mode == drivers.ModeKeyboard && d.Profile != nil {
			advice = append(advice, fmt.Sprintf("%s: %v: %s", ids, ErrKeyboardMode, KeyboardModeAdvice(d.Profile)))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, a := range slices.Compact(advice) {
		if _, err := fmt.Fprintln(w, "\n"+a); err != nil {
			return err
		}
	}
	return nil
}
