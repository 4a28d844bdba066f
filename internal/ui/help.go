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
  F1  / Alt-H   this help               F2 / Alt-C   checkout screen
  F3  / Alt-Q   queue screen            F4 / Alt-S   settings screen
  F5  / Alt-A   agreement SMS confirm   F6 / Alt-O   app-pay order
  F10 / Alt-X   quit (Ctrl-C too)       Esc          close a dialog or this help
  The mouse works too: click the menu line, fields, buttons and rows.`},
	{"Checkout", `
  A keyboard-wedge scanner types here: its digits and Enter go to posagent.
  Up/Down/PgUp/PgDn   scroll the last scans`},
	{"Queue", `
  Up/Down   choose a job          Enter   retry or drop the chosen dead job
  Alt-R     retry the dead job    Alt-D   drop the dead job (both ask first)
  Alt-U     refresh the lists`},
	{"Settings", `
  Tab / Shift-Tab   next / previous field     Enter   next field, open a list
  F9 / Alt-W        validate and save         Alt-L   pick a detected scanner
  Alt-N             add a coupon rule         Alt-K   remove a coupon rule
  Errors show beside the field as you type; nothing is saved while one remains.`},
	{"Dialogs (agreement, app-pay order)", `
  Tab / Shift-Tab   next / previous field     F9 / Alt-W   send / build
  Alt-G             show the order as a QR code (if the terminal is big enough)
  Esc               close`},
}

func newHelp() *tview.TextView {
	var b strings.Builder
	for _, s := range helpText {
		b.WriteString(tagKey + s.title + tagOff + s.body + "\n\n")
	}
	v := tview.NewTextView().SetDynamicColors(true).SetText(b.String())
	v.SetBorder(true).SetTitle(" Help — keys of every screen ")
	return v
}
