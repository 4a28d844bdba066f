package ui

import (
	"strings"

	"github.com/rivo/tview"
)

// helpText lists the keys of every screen. Screen keys are F-keys and
// Alt-letters: a keyboard-wedge scanner types digits and Enter into the
// checkout screen, and those must never switch screens.
var helpText = []struct{ title, body string }{
	{"Everywhere", `
  F1  Alt-H  this help         F2 Alt-C  checkout     F3 Alt-Q  queue
  F4  Alt-S  settings          F5 Alt-A  agreement    F6 Alt-O  app-pay order
  F7  Alt-P  pay (the newest scan's customer)
  F8  Alt-E  event log         F12 Alt-I  scanner diagnostics
  F10 Alt-X  quit (Ctrl-C)     Esc  close a dialog    the mouse works too
  A scanner's burst always goes to the scanner, whatever screen is open.`},
	{"Checkout", `
  A keyboard-wedge scanner types here: its digits and Enter go to posagent.
  Up/Down  scroll the last scans`},
	{"Queue", `
  Up/Down  choose a job (newest first)    Enter  its details, retry or drop
  Alt-R    retry a dead job   Alt-D  drop it
  Alt-U    refresh         (only dead jobs; both ask before they act)`},
	{"Settings", `
  Tab/Shift-Tab  next/previous field    Enter  next field, or open a list
  F9 Alt-W       save                   Alt-L  pick a detected scanner
  Alt-N          add a coupon rule      Alt-K  remove the current rule
  A problem shows beside its field as you type; none may remain to save.`},
	{"Agreement, app-pay order and pay", `
  Tab/Shift-Tab  next/previous field    F9 Alt-W  send / build / pay
  Alt-G          show the order as a QR code (needs a big terminal)
  Alt-K          cancel the payment while the customer has not confirmed
  PgUp/PgDn      scroll the result`},
}

func newHelp() *tview.TextView {
	var b strings.Builder
	for _, s := range helpText {
		b.WriteString(tagKey + s.title + tagOff + s.body + "\n")
	}
	v := tview.NewTextView().SetDynamicColors(true).SetText(b.String())
	v.SetBorder(true).SetTitle(" Help — keys of every screen (Up/Down scroll) ")
	return v
}
