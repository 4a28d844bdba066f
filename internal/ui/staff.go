package ui

import (
	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"posagent/internal/staffpin"
)

const pagePIN = "pin"

// staff runs a staff action (saving settings, dropping a queue job,
// quitting) once the staff PIN was typed, or at once when no PIN is set.
// The cashier's own screens never ask.
func (a *App) staff(action string, do func()) {
	if a.staffPIN == "" {
		do()
		return
	}
	a.closeModal()
	prev := a.tv.GetFocus()
	form := styleForm(tview.NewForm())
	pin := tview.NewInputField().SetLabel("Staff PIN").SetFieldWidth(14).SetMaskCharacter('*').
		SetAcceptanceFunc(func(text string, _ rune) bool { return len(text) <= 12 && digits(text) })
	form.AddFormItem(pin)
	form.SetBorder(true).SetTitle(" " + action + ": staff PIN ")
	closePIN := func() {
		a.pages.RemovePage(pagePIN)
		a.tv.SetFocus(prev)
	}
	submit := func() {
		ok, err := staffpin.Match(a.staffPIN, pin.GetText())
		pin.SetText("")
		switch {
		case err != nil:
			form.SetTitle(" The staff PIN in the configuration is unreadable: " + escape(err.Error()) + " ")
		case !ok:
			form.SetTitle(" " + action + ": wrong PIN, try again ")
		default:
			closePIN()
			do()
		}
	}
	// Enter in the field submits: staff type the PIN and press Enter;
	// after a wrong one the cursor stays in the field for the next try.
	pin.SetInputCapture(func(ev *tcell.EventKey) *tcell.EventKey {
		if ev.Key() == tcell.KeyEnter {
			submit()
			return nil
		}
		return ev
	})
	form.AddButton("OK", submit)
	form.AddButton("Cancel", closePIN)
	form.SetCancelFunc(closePIN)
	box := tview.NewFlex().
		AddItem(nil, 0, 1, false).
		AddItem(tview.NewFlex().SetDirection(tview.FlexRow).
			AddItem(nil, 0, 1, false).
			AddItem(form, 7, 0, true).
			AddItem(nil, 0, 1, false), 50, 0, true).
		AddItem(nil, 0, 1, false)
	a.pages.AddPage(pagePIN, box, true, true)
	a.tv.SetFocus(form)
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
