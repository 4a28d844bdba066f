package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rivo/tview"

	"posagent/internal/event"
	"posagent/internal/payment"
	"posagent/internal/ui/checkout"
)

const pagePay = "pay"

// PaymentTaker takes and cancels payments (payment.Service).
type PaymentTaker interface {
	Pay(ctx context.Context, req payment.Request) (payment.Payment, bool, error)
	Cancel(ctx context.Context, outTradeNo string) (payment.Payment, error)
}

// payDialog charges the newest scan's customer, and only while that scan
// is a decoded customer whose code has not been used: it is bound to the
// checkout model's newest customer (its sence_no), never to an older one.
// It shows that customer's payment live from the events, whoever started
// it (this screen or the POS through the local API); while the buyer has
// not confirmed, the cashier may cancel it.
type payDialog struct {
	*dialog
	view                   *fitted // root, with the customer line fitted to its text
	payments               PaymentTaker
	model                  *checkout.Model
	customer               *tview.TextView
	amount, subject, outNo *tview.InputField
	bound                  uint64 // the ID of the newest customer the form was set up for; 0 none
	otn                    string // the payment followed: started here, or the customer's from the model
	state                  string // its state shown last
	last                   payment.Payment
	// confirm is the out_trade_no a first Alt-K named: a second one
	// cancels it, while it is still the payment under way.
	confirm string
	// hint is the guidance the result area shows while no payment is
	// followed ("" once a payment or an answer shows there); note, what
	// a new customer cleared.
	hint, note string
	now        func() time.Time
}

func newPayDialog(a *App, p PaymentTaker, m *checkout.Model) *payDialog {
	d := &payDialog{
		dialog:   newDialog(a, "Pay — alipay.trade.pay with the code just scanned"),
		payments: p,
		model:    m,
		customer: tview.NewTextView().SetDynamicColors(true),
		now:      a.now,
		hint:     "-",
	}
	d.root.AddItem(d.customer, 2, 0, false)
	d.root.RemoveItem(d.result)
	d.root.AddItem(d.result, 0, 1, false)
	d.amount = d.input("total_amount (yuan)", 12)
	d.subject = d.input("subject", 256)
	d.outNo = d.input("out_trade_no", 64)
	d.form.AddButton("Pay F9", d.send).
		AddButton("Cancel payment Alt-K", d.cancel).
		AddButton("Close Esc", func() { a.show(pageCheckout) })
	d.fit()
	// Why no customer is ready is read whole, however long.
	d.view = newFitted(d.root, &fit{parent: d.root, item: d.customer, view: d.customer, least: 2,
		most: func(int) int { return 5 }})
	d.sync()
	return d
}

// apply follows the payment started here, which may tell its state before
// the model joins it to its customer.
func (d *payDialog) apply(e event.Event) {
	if e, ok := e.(event.Payment); ok && e.OutTradeNo != "" && e.OutTradeNo == d.otn {
		d.show(payment.Payment{OutTradeNo: e.OutTradeNo, State: e.State, TotalAmount: e.TotalAmount,
			TradeNo: e.TradeNo, Message: e.Message, Action: e.Action, Recovered: e.Recovered})
	}
}

// sync binds the dialog to the model's current customer (the last
// scanned): a new one clears the form (amount, subject, result), saying
// so when an amount had been typed, gets a new out_trade_no and the
// cursor in total_amount; the customer's payment, whoever started it, is
// the one followed.
func (d *payDialog) sync() {
	cu, why := d.ready()
	var id uint64
	if cur := d.model.Current(); cur != nil {
		id = cur.ID
	}
	if id != d.bound {
		d.bound = id
		d.note = ""
		if a := strings.TrimSpace(d.amount.GetText()); a != "" {
			d.note = fmt.Sprintf(" %s%s New customer: amount cleared%s (%s yuan was typed); enter it again.\n",
				tagWarn, symWait, tagOff, escape(a))
		}
		d.amount.SetText("")
		d.subject.SetText("")
		d.outNo.SetText(fmt.Sprintf("sale_%s_%d", d.now().Format("20060102_150405"), id)) // letters, digits, _ only
		d.otn, d.state, d.last, d.hint = "", "", payment.Payment{}, "-"
		d.form.SetFocus(0)
		if d.form.HasFocus() {
			// Through the application, so that Tab moves on from there.
			d.app.tv.SetFocus(d.form)
		}
	}
	if under := d.model.PaymentUnderWay(); d.confirm != "" && (under == nil || under.Payment.OutTradeNo != d.confirm) {
		// The payment named ended meanwhile: the question no longer holds.
		d.confirm = ""
		if d.state != "" {
			d.show(d.last)
		} else {
			d.hint = "-"
		}
	}
	if why != "" {
		d.customer.SetText(fmt.Sprintf(" %s%s No customer ready to pay:%s %s", tagBad, symBad, tagOff, escape(why)))
	} else {
		d.customer.SetText(fmt.Sprintf(" Customer %s%s%s  sence_no %s", tagKey, escape(cu.User), tagOff, escape(cu.SenceNo)))
	}
	if id != 0 {
		p := d.model.Current().Payment
		if p.OutTradeNo != "" && (p.OutTradeNo != d.otn || p.State != d.state) {
			d.otn = p.OutTradeNo
			d.show(payment.Payment{OutTradeNo: p.OutTradeNo, State: p.State, TotalAmount: p.Amount, Message: p.Message, Action: p.Action})
		}
	}
	if d.hint != "" && d.confirm == "" {
		d.showHint(why == "")
	}
}

// showHint writes what the cashier can do while no payment is followed:
// F9 charges the customer only when one is ready; a payment under way for
// an earlier scan is named, with Alt-K to cancel it.
func (d *payDialog) showHint(ready bool) {
	hint := d.note
	if ready {
		hint += " Enter the amount and a subject; F9 charges the customer shown above."
	} else {
		hint += " F9 charges no one until a customer is ready above."
	}
	if u := d.model.PaymentUnderWay(); u != nil {
		hint += fmt.Sprintf("\n\n %sPayment under way:%s customer %s, %s yuan\n out_trade_no %s\n Alt-K cancels it.",
			tagKey, tagOff, escape(u.User), escape(u.Payment.Amount), escape(u.Payment.OutTradeNo))
	}
	if hint != d.hint {
		d.hint = hint
		d.say("%s", hint)
	}
}

// ready is the current customer if F9 may charge it, or why not.
func (d *payDialog) ready() (*checkout.Customer, string) {
	cu := d.model.Current()
	if cu == nil {
		return nil, "no scan yet: scan the customer's payment code first."
	}
	if p := cu.Payment; p.State == event.PaymentPaid {
		return nil, "this code was already paid at " + clock(p.At) + "; for a new sale ask for a new code."
	}
	switch cu.State {
	case checkout.Decoded:
	case checkout.Rejected:
		return nil, "the newest scan is not a payment code: scan the customer's Alipay payment code."
	case checkout.Failed:
		return nil, strings.TrimSpace("the newest scan did not decode: " + cu.Message + " " + cu.Action)
	case checkout.CutOff:
		return nil, "the newest scan was cut off: scan the customer's code again."
	case checkout.Expired:
		return nil, "the code expired at " + clock(cu.CodeExpires) + ": ask the customer for a fresh code."
	default:
		return nil, "the newest scan is still being decoded: wait for DECODED on the checkout."
	}
	switch p := cu.Payment; {
	case p.State == "" && !cu.CodeExpires.IsZero() && !d.now().Before(cu.CodeExpires):
		return nil, "the code expired at " + clock(cu.CodeExpires) + ": ask the customer for a fresh code."
	case p.Final():
		return nil, "the payment with this code ended (" + p.State + "): ask for a new code."
	case p.State != "":
		return nil, "a payment with this code is under way (below)."
	}
	return cu, ""
}

// show writes a payment's state, what happened and what to do.
func (d *payDialog) show(p payment.Payment) {
	// The receipt takes the place of a question Alt-K asked: a later
	// Alt-K asks again.
	d.state, d.last, d.hint, d.confirm = p.State, p, "", ""
	d.say("%s", receipt(p))
}

// receipt is a payment's state, amount, numbers, what happened and what
// to do.
func receipt(p payment.Payment) string {
	trade := ""
	if p.TradeNo != "" {
		trade = "  trade_no " + escape(p.TradeNo)
	}
	return fmt.Sprintf(" %s\n %s yuan  out_trade_no %s%s\n\n %s\n %s%s%s",
		paymentWord(p.State), escape(p.TotalAmount), escape(p.OutTradeNo), trade,
		escape(p.Message), tagKey, escape(p.Action), tagOff)
}

// leave drops a question Alt-K left on screen when the screen goes: a
// later Alt-K asks again, and the result is written anew.
func (d *payDialog) leave() {
	if d.confirm != "" {
		d.confirm, d.hint = "", "-"
	}
}

// refuse writes why an action was refused, above the payment followed
// (a PAID receipt stays in view) when there is one.
func (d *payDialog) refuse(what, why string) {
	line := fmt.Sprintf(" %s%s %s:%s %s", tagBad, symBad, what, tagOff, escape(why))
	d.hint = ""
	if d.state == "" {
		d.say("%s", line)
		return
	}
	d.say("%s\n%s", line, receipt(d.last))
}

// send asks for the payment.
func (d *payDialog) send() {
	if d.payments == nil {
		d.say(" %s%s Not available:%s this posagent takes no payments.", tagBad, symBad, tagOff)
		return
	}
	cu, why := d.ready()
	if why != "" {
		d.refuse("Not sent", why)
		return
	}
	if m := missing(d.amount, d.subject, d.outNo); m != "" {
		d.refuse("Missing", m+".")
		return
	}
	req := payment.Request{
		SenceNo: cu.SenceNo, TotalAmount: strings.TrimSpace(d.amount.GetText()),
		Subject: strings.TrimSpace(d.subject.GetText()), OutTradeNo: strings.TrimSpace(d.outNo.GetText()),
	}
	// Followed from now: the payment's events may come before Pay returns.
	d.otn, d.state, d.hint = req.OutTradeNo, "", ""
	bound := d.bound
	var p payment.Payment
	d.run(func(ctx context.Context) (err error) {
		p, _, err = d.payments.Pay(ctx, req)
		return err
	}, func(err error) {
		switch {
		case d.bound != bound:
			// A new customer meanwhile: this one's payment shows on the
			// checkout, not on the new customer's form.
		case err != nil:
			d.otn = ""
			d.refused("Not sent", err)
		case d.state == "": // no event has said more yet
			d.show(p)
		default:
			d.show(d.last)
		}
	})
}

// cancel gives up the payment under way: the most recent payment not in
// a final state, whichever scan is newest (a misread after the customer's
// scan must not hide it), or the one started here before its events came.
// The first Alt-K names it (customer, amount, out_trade_no); the second
// cancels it.
func (d *payDialog) cancel() {
	var otn, user, amount string
	if u := d.model.PaymentUnderWay(); u != nil {
		otn, user, amount = u.Payment.OutTradeNo, u.User, u.Payment.Amount
	} else if d.otn != "" && d.state != "" && !(checkout.Payment{State: d.state}).Final() {
		otn, amount = d.otn, d.last.TotalAmount
		if cu := d.model.Current(); cu != nil {
			user = cu.User
		}
	}
	if otn == "" || d.payments == nil {
		d.confirm = ""
		d.refuse("Nothing to cancel", "no payment is under way.")
		return
	}
	if d.confirm != otn {
		d.confirm, d.hint = otn, ""
		d.say(" %sCancel this payment?%s customer %s, %s yuan\n out_trade_no %s\n %sAlt-K again cancels it.%s",
			tagWarn, tagOff, orDash(user), escape(amount), escape(otn), tagKey, tagOff)
		return
	}
	d.confirm = ""
	d.otn = otn
	bound := d.bound
	var p payment.Payment
	d.run(func(ctx context.Context) (err error) {
		p, err = d.payments.Cancel(ctx, otn)
		return err
	}, func(err error) {
		switch {
		case d.bound != bound:
		case err != nil:
			d.refused("Not cancelled", err)
		case !(checkout.Payment{State: d.state}).Final(): // an event may have said more already
			d.show(p)
		default:
			d.show(d.last)
		}
	})
}

func (d *payDialog) refused(what string, err error) {
	var pe *payment.Error
	msg := err.Error()
	if errors.As(err, &pe) {
		msg = pe.Msg
	}
	d.refuse(what, msg)
}
