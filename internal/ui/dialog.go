package ui

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// callTimeout bounds a gateway call made from a dialog. The call runs off
// the UI goroutine, so the screen stays live while it waits.
const callTimeout = 30 * time.Second

// dialog is a form with a result area under it, for the staff actions that
// call a collaborator: agreement confirmation and app-pay orders.
type dialog struct {
	app    *App
	root   *tview.Flex
	form   *tview.Form
	result *tview.TextView
	busy   bool
}

func newDialog(a *App, title string) *dialog {
	d := &dialog{
		app:    a,
		form:   styleForm(tview.NewForm()).SetItemPadding(0),
		result: tview.NewTextView().SetDynamicColors(true).SetWrap(true),
	}
	d.form.SetBorder(true).SetTitle(" " + title + " ")
	d.form.SetCancelFunc(func() { a.show(pageCheckout) })
	d.result.SetBorder(true).SetTitle(" Result — PgUp PgDn scroll ")
	d.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(d.form, 0, 1, true).
		AddItem(d.result, 0, 1, false)
	d.root.SetInputCapture(d.scroll)
	return d
}

// scroll moves the result by a page with PgUp and PgDn, wherever the
// focus is in the form: at 80x24 an order string, or a long answer, has
// more lines than the result shows.
func (d *dialog) scroll(ev *tcell.EventKey) *tcell.EventKey {
	var by int
	switch ev.Key() {
	case tcell.KeyPgDn:
		by = 1
	case tcell.KeyPgUp:
		by = -1
	default:
		return ev
	}
	_, _, _, h := d.result.GetInnerRect()
	row, col := d.result.GetScrollOffset()
	d.result.ScrollTo(max(row+by*max(h-1, 1), 0), col)
	return nil
}

// input adds a text field that accepts at most limit characters (the
// pages' limits count characters, so a Chinese subject may have 256).
func (d *dialog) input(label string, limit int) *tview.InputField {
	width := limit + 1
	if limit > 24 {
		width = 0 // as wide as the window: long tokens scroll inside
	}
	in := tview.NewInputField().SetLabel(label).SetFieldWidth(width).
		SetAcceptanceFunc(func(text string, _ rune) bool { return utf8.RuneCountInString(text) <= limit })
	d.form.AddFormItem(in)
	return in
}

// fit gives the form the height of its fields and buttons (with the border
// and padding and the line before the buttons), the result the rest.
func (d *dialog) fit() {
	d.root.ResizeItem(d.form, d.form.GetFormItemCount()+6, 0)
}

// say replaces the result text.
func (d *dialog) say(format string, args ...any) {
	d.result.SetText(fmt.Sprintf(format, args...))
	d.result.ScrollToBeginning()
}

// missing names the empty required fields, for a message.
func missing(fields ...*tview.InputField) string {
	var names []string
	for _, f := range fields {
		if strings.TrimSpace(f.GetText()) == "" {
			names = append(names, strings.TrimSpace(f.GetLabel()))
		}
	}
	return strings.Join(names, ", ")
}

// run calls f off the UI goroutine with a deadline and shows its outcome
// with done on the UI goroutine. While it runs, the dialog refuses a second
// send.
func (d *dialog) run(f func(ctx context.Context) error, done func(err error)) {
	if d.busy {
		return
	}
	d.busy = true
	d.say(" %s%s Sending…%s the screen stays usable; the answer appears here.", tagBusy, symBusy, tagOff)
	d.app.goBackground(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		err := f(ctx)
		d.app.update(func() {
			d.busy = false
			done(err)
		})
	})
}

// key handles a dialog's keys: F9 or Alt-W sends.
func (d *dialog) key(ev *tcell.EventKey, send func()) *tcell.EventKey {
	if ev.Key() == tcell.KeyF9 || isAlt(ev, 'w') {
		send()
		return nil
	}
	return ev
}
