package ui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rivo/tview"

	"posagent/internal/alipay"
)

const (
	pageOrder   = "order"
	pageOrderQR = "order-qr"
)

// OrderBuilder signs alipay.trade.app.pay order strings (alipay.Client). It
// makes no network call.
type OrderBuilder interface {
	AppPayOrder(req alipay.TradeAppPayRequest) (string, error)
}

// orderDialog builds a signed app-pay order string for staff to hand to the
// merchant app, and shows it as a QR code when the terminal is big enough.
type orderDialog struct {
	*dialog
	builder                OrderBuilder
	amount, subject, outNo *tview.InputField
	order                  string
	qr                     *tview.TextView
	qrWidth, qrHeight      int
}

func newOrderDialog(a *App, b OrderBuilder) *orderDialog {
	d := &orderDialog{
		dialog:  newDialog(a, "App-pay order — alipay.trade.app.pay"),
		builder: b,
		qr:      tview.NewTextView().SetDynamicColors(true).SetWrap(false).SetTextAlign(tview.AlignCenter),
	}
	d.amount = d.input("total_amount (yuan)", 12)
	d.subject = d.input("subject", 256)
	d.outNo = d.input("out_trade_no", 64)
	d.form.AddButton("Build F9", d.send).
		AddButton("QR code Alt-G", d.showQR).
		AddButton("Close Esc", func() { a.show(pageCheckout) })
	d.fit()
	d.say(" Enter the amount, a subject and the merchant's order number; F9 builds the signed order string.")
	d.qr.SetBorder(true).SetTitle(" Order QR code — Esc returns ")
	return d
}

// send builds the order string. Signing is local and quick, so it runs in
// place; the builder checks every value against the page's limits.
func (d *orderDialog) send() {
	d.order = ""
	if d.builder == nil {
		d.say(" %s%s Not available:%s this posagent has no gateway client (check the settings).", tagBad, symBad, tagOff)
		return
	}
	if m := missing(d.amount, d.subject, d.outNo); m != "" {
		d.say(" %s%s Missing:%s %s.", tagBad, symBad, tagOff, m)
		return
	}
	order, err := d.builder.AppPayOrder(alipay.TradeAppPayRequest{
		TotalAmount: strings.TrimSpace(d.amount.GetText()),
		Subject:     strings.TrimSpace(d.subject.GetText()),
		OutTradeNo:  strings.TrimSpace(d.outNo.GetText()),
	})
	if err != nil {
		var fe *alipay.FieldError
		if errors.As(err, &fe) {
			d.say(" %s%s Not built:%s %s", tagBad, symBad, tagOff, tview.Escape(fe.Error()))
		} else {
			d.say(" %s%s Not built:%s %s", tagBad, symBad, tagOff, tview.Escape(err.Error()))
		}
		return
	}
	d.order = order
	block, w, h, err := qrBlock(order)
	qrNote := fmt.Sprintf("Alt-G shows it as a QR code (%dx%d cells).", w+2, h+2)
	if err != nil {
		block, qrNote = "", "It is too long for a QR code: "+err.Error()
	}
	d.qr.SetText(block)
	d.qrWidth, d.qrHeight = w, h
	d.say(" %s%s Built%s (%d characters). %s\n\n%s", tagOK, symOK, tagOff, len(order), qrNote, tview.Escape(order))
}

// showQR shows the order as a QR code, if the terminal can hold it.
func (d *orderDialog) showQR() {
	if d.order == "" {
		d.say(" Build an order first (F9).")
		return
	}
	_, _, w, h := d.app.pages.GetRect()
	if d.qrWidth+2 > w || d.qrHeight+2 > h {
		d.say(" %s%s The QR code needs %dx%d cells%s; this terminal gives %dx%d. Enlarge the window "+
			"(or use a smaller font) and press Alt-G again, or hand over the string below.\n\n%s",
			tagWarn, symBad, d.qrWidth+2, d.qrHeight+2, tagOff, w, h, tview.Escape(d.order))
		return
	}
	d.app.pages.SwitchToPage(pageOrderQR)
}
