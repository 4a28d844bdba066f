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
)

const pagePay = "pay"

// PaymentTaker takes and cancels payments (payment.Service).
type PaymentTaker interface {
	Pay(ctx context.Context, req payment.Request) (payment.Payment, bool, error)
	Cancel(ctx context.Context, outTradeNo string) (payment.Payment, error)
}

// payDialog charges the customer decoded last with the code just scanned,
// and follows the payment live from its events until it ends; while the
// buyer has not confirmed, the cashier may cancel it.
type payDialog struct {
	*dialog
	payments               PaymentTaker
	customer               *tview.TextView
	amount, subject, outNo *tview.InputField
	senceNo, who           string // the customer decoded last
	otn                    string // the payment followed, once asked for
	state                  string // its state shown last
	last                   payment.Payment
	now                    func() time.Time
}

func newPayDialog(a *App, p PaymentTaker) *payDialog {
	d := &payDialog{
		dialog:   newDialog(a, "Pay — alipay.trade.pay with the code just scanned"),
		payments: p,
		customer: tview.NewTextView().SetDynamicColors(true),
		now:      a.now,
	}
	d.customer.SetText(" No customer decoded yet: scan the customer's code first.")
	d.root.AddItem(d.customer, 1, 0, false)
	d.root.RemoveItem(d.result)
	d.root.AddItem(d.result, 0, 1, false)
	d.amount = d.input("total_amount (yuan)", 12)
	d.subject = d.input("subject", 256)
	d.outNo = d.input("out_trade_no", 64)
	d.form.AddButton("Pay F9", d.send).
		AddButton("Cancel payment Alt-K", d.cancel).
		AddButton("Close Esc", func() { a.show(pageCheckout) })
	d.fit()
	d.say(" Enter the amount and a subject; F9 charges the customer shown above.")
	return d
}

// apply follows the customers and the payment from the events.
func (d *payDialog) apply(e event.Event) {
	switch e := e.(type) {
	case event.Decoded:
		d.senceNo, d.who = e.SenceNo, e.UserIDMasked
		d.customer.SetText(fmt.Sprintf(" Customer %s%s%s  sence_no %s", tagKey, tview.Escape(e.UserIDMasked), tagOff, tview.Escape(e.SenceNo)))
		if d.otn == "" || d.final() {
			d.outNo.SetText(fmt.Sprintf("sale_%s", d.now().Format("20060102_150405"))) // letters, digits, _ only
		}
	case event.Payment:
		if e.OutTradeNo == d.otn {
			d.show(payment.Payment{OutTradeNo: e.OutTradeNo, State: e.State, TotalAmount: e.TotalAmount,
				TradeNo: e.TradeNo, Message: e.Message, Action: e.Action, Recovered: e.Recovered})
		}
	}
}

// final reports whether the payment followed has ended.
func (d *payDialog) final() bool {
	switch d.state {
	case event.PaymentPaid, event.PaymentFailed, event.PaymentCancelled, event.PaymentRefunded:
		return true
	}
	return false
}

// show writes a payment's state, what happened and what to do.
func (d *payDialog) show(p payment.Payment) {
	d.state, d.last = p.State, p
	tag, sym := tagBusy, symBusy
	switch p.State {
	case event.PaymentPaid:
		tag, sym = tagOK, symOK
	case event.PaymentFailed, event.PaymentCancelled, event.PaymentRefunded:
		tag, sym = tagBad, symBad
	}
	trade := ""
	if p.TradeNo != "" {
		trade = "  trade_no " + tview.Escape(p.TradeNo)
	}
	d.say(" %s%s state %s %s %s yuan  out_trade_no %s%s\n\n %s\n %s%s%s",
		tag, sym, p.State, tagOff, tview.Escape(p.TotalAmount), tview.Escape(p.OutTradeNo), trade,
		tview.Escape(p.Message), tagKey, tview.Escape(p.Action), tagOff)
}

// send asks for the payment.
func (d *payDialog) send() {
	switch {
	case d.payments == nil:
		d.say(" %s%s Not available:%s this posagent takes no payments.", tagBad, symBad, tagOff)
		return
	case d.senceNo == "":
		d.say(" %s%s No customer:%s scan the customer's payment code first.", tagBad, symBad, tagOff)
		return
	}
	if m := missing(d.amount, d.subject, d.outNo); m != "" {
		d.say(" %s%s Missing:%s %s.", tagBad, symBad, tagOff, m)
		return
	}
	req := payment.Request{
		SenceNo: d.senceNo, TotalAmount: strings.TrimSpace(d.amount.GetText()),
		Subject: strings.TrimSpace(d.subject.GetText()), OutTradeNo: strings.TrimSpace(d.outNo.GetText()),
	}
	// Followed from now: the payment's events may come before Pay returns.
	d.otn, d.state = req.OutTradeNo, ""
	var p payment.Payment
	d.run(func(ctx context.Context) (err error) {
		p, _, err = d.payments.Pay(ctx, req)
		return err
	}, func(err error) {
		switch {
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

// cancel gives up the payment followed.
func (d *payDialog) cancel() {
	if d.otn == "" || d.payments == nil {
		d.say(" No payment to cancel.")
		return
	}
	otn := d.otn
	var p payment.Payment
	d.run(func(ctx context.Context) (err error) {
		p, err = d.payments.Cancel(ctx, otn)
		return err
	}, func(err error) {
		switch {
		case err != nil:
			d.refused("Not cancelled", err)
		case !d.final(): // an event may have said more already
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
	d.say(" %s%s %s:%s %s", tagBad, symBad, what, tagOff, tview.Escape(msg))
}
