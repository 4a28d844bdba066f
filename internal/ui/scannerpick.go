package ui

import (
	"context"
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"posagent/drivers"
	"posagent/internal/config"
	"posagent/internal/scanner"
)

const pageScanners = "scanners"

// ScannerLister lists the scanners this PC can see (scanner.List).
type ScannerLister func() ([]scanner.Device, error)

// pickScanner lists the detected scanners off the UI goroutine (HID
// enumeration can take a while) and lets staff pick one to fill the
// settings' scanner fields.
func (a *App) pickScanner(s *settingsScreen) {
	if a.deps.Scanners == nil {
		s.note = " Scanner detection is not available here; type the scanner's settings."
		s.showMessage()
		return
	}
	s.note = fmt.Sprintf(" %s%s Looking for scanners…%s", tagBusy, symBusy, tagOff)
	s.showMessage()
	a.goBackground(func(context.Context) {
		devices, err := a.deps.Scanners()
		// A build without cgo still lists serial ports: show them, and
		// say that HID scanners cannot be among them.
		hidMissing, err := scanner.WithoutHID(err)
		a.update(func() {
			s.note = ""
			switch {
			case err != nil:
				s.note = fmt.Sprintf(" %s%s Cannot list scanners:%s %s", tagBad, symBad, tagOff, tview.Escape(err.Error()))
				s.showMessage()
			case len(devices) == 0:
				s.note = " No scanner found. Plug it in (and check its USB mode), then press Alt-L again."
				if hidMissing {
					s.note += fmt.Sprintf(" %s%s HID support is not built in:%s USB-HID scanners cannot be found.", tagBad, symBad, tagOff)
				}
				s.showMessage()
			default:
				a.showScanners(s, devices, hidMissing)
			}
		})
	})
}

// showScanners opens the list of detected devices; hidMissing says in its
// title that HID devices cannot be among them.
func (a *App) showScanners(s *settingsScreen, devices []scanner.Device, hidMissing bool) {
	list := tview.NewList().ShowSecondaryText(true).SetSelectedStyle(selectedStyle).
		SetSecondaryTextColor(tcell.ColorDefault)
	title := " Detected scanners — Enter picks, Esc returns "
	if hidMissing {
		title = " Detected scanners — HID SUPPORT NOT BUILT IN: serial ports only — Enter picks, Esc returns "
	}
	list.SetBorder(true).SetTitle(title)
	back := func() {
		a.pages.RemovePage(pageScanners)
		a.show(pageSettings)
	}
	for _, d := range devices {
		main, second := describeDevice(d)
		list.AddItem(tview.Escape(main), tview.Escape(second), 0, func() {
			back()
			s.setScanner(scannerConfig(s.cfg.Scanner, d))
			s.note = fmt.Sprintf(" %s%s Scanner set%s from %s; check the fields, then F9 saves.", tagOK, symOK, tagOff, tview.Escape(d.Path))
			s.showMessage()
		})
	}
	list.SetDoneFunc(back)
	a.pages.AddAndSwitchToPage(pageScanners, list, true)
	a.tv.SetFocus(list)
}

func describeDevice(d scanner.Device) (main, second string) {
	main = d.Kind + "  " + d.Path
	if d.VID != 0 || d.PID != 0 {
		main += fmt.Sprintf("  %04x:%04x", d.VID, d.PID)
	}
	var parts []string
	if name := strings.TrimSpace(d.Manufacturer + " " + d.Product); name != "" {
		parts = append(parts, name)
	}
	if d.Mode != "" {
		parts = append(parts, "mode "+d.Mode)
	}
	if d.Profile != nil {
		parts = append(parts, "profile "+d.Profile.Name)
	} else {
		parts = append(parts, "no profile")
	}
	return main, "   " + strings.Join(parts, ", ")
}

// scannerConfig is cur with the fields a detected device tells filled in. A
// device in keyboard mode types, so it is read as a keyboard wedge. With a
// matching profile, baud and terminator are cleared so that the profile's
// apply; without one, what staff set stays.
func scannerConfig(cur config.Scanner, d scanner.Device) config.Scanner {
	s := cur
	s.Kind, s.Port, s.VID, s.PID, s.Profile = d.Kind, "", "", "", ""
	if d.Mode == drivers.ModeKeyboard {
		s.Kind = config.ScannerWedge
	}
	if s.Kind == config.ScannerSerial {
		s.Port = d.Path
	} else {
		s.Baud = 0 // only serial ports have a rate
	}
	if d.VID != 0 || d.PID != 0 {
		s.VID, s.PID = fmt.Sprintf("%04x", d.VID), fmt.Sprintf("%04x", d.PID)
	}
	if d.Profile != nil {
		s.Profile, s.Baud, s.Terminator = d.Profile.Name, 0, ""
	}
	return s
}
