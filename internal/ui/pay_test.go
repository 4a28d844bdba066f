package ui

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/gdamore/tcell/v2"

	"posagent/internal/event"
	"posagent/internal/payment"
)

// fakePayments answers as the payment service does and records requests.
type fakePayments struct {
	mu      sync.Mutex
	reqs    []payment.Request
	cancels []string
	refuse  error
}

func (f *fakePayments) Pay(ctx context.Context, req payment.Request) (payment.Payment, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return payment.Payment{}, false, f.refuse
	}
	f.reqs = append(f.reqs, req)
	return payment.Payment{SenceNo: req.SenceNo, OutTradeNo: req.OutTradeNo, State: event.PaymentSending,
		TotalAmount: req.TotalAmount, Message: "Sending the payment to Alipay.", Action: "Wait."}, true, nil
}

func (f *fakePayments) Cancel(ctx context.Context, otn string) (payment.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels = append(f.cancels, otn)
	return payment.Payment{OutTradeNo: otn, State: event.PaymentCancelling, TotalAmount: "12.50",
		Message: "The cashier cancelled the payment.", Action: "Wait: posagent is cancelling the payment with Alipay."}, nil
}

func TestPayDialog(t *testing.T) {
	fp := &fakePayments{}
	h := start(t, Deps{Payments: fp}, 100, 30)
	h.key(tcell.KeyF7, 0, tcell.ModNone)
	h.waitFor(t, "Pay — alipay.trade.pay", "No customer decoded yet")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "No customer:", "scan the customer's payment code first")

	h.bus.Publish(event.Decoded{SenceNo: "till1-20261203-ab000001", UserID: "2088000000000001", UserIDMasked: "2088********0001"})
	h.waitFor(t, "Customer 2088********0001", "till1-20261203-ab000001", "sale_")
	h.typeText("12.50")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("Lunch set")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "state sending", "12.50 yuan")

	fp.mu.Lock()
	req := fp.reqs[0]
	fp.mu.Unlock()
	if req.SenceNo != "till1-20261203-ab000001" || req.TotalAmount != "12.50" || req.Subject != "Lunch set" || req.OutTradeNo == "" {
		t.Fatalf("request %+v", req)
	}
	// Live: the payment's events move the state on.
	h.bus.Publish(event.Payment{SenceNo: req.SenceNo, OutTradeNo: req.OutTradeNo, State: event.PaymentWaitingBuyer, TotalAmount: "12.50",
		Message: "The customer must confirm the payment in the Alipay app.", Action: "Ask the customer to confirm on their phone."})
	h.waitFor(t, "state waiting_buyer", "Ask the customer to confirm")
	h.key(tcell.KeyRune, 'k', tcell.ModAlt)
	h.waitFor(t, "state cancelling", "The cashier cancelled")
	h.bus.Publish(event.Payment{SenceNo: req.SenceNo, OutTradeNo: req.OutTradeNo, State: event.PaymentCancelled, TotalAmount: "12.50",
		Message: "Cancelled: the customer was not charged.", Action: "Take the payment again with a fresh code, or another way."})
	h.waitFor(t, "state cancelled", "the customer was not charged")
	fp.mu.Lock()
	cancels := fp.cancels
	fp.mu.Unlock()
	if len(cancels) != 1 || cancels[0] != req.OutTradeNo {
		t.Fatalf("cancels %v", cancels)
	}

	// A refusal shows the service's words.
	fp.mu.Lock()
	fp.refuse = &payment.Error{Status: http.StatusConflict, Code: "code_expired", Msg: "the code has expired: ask the customer to show a fresh code"}
	fp.mu.Unlock()
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Not sent:", "the code has expired")
}

// With the Pay entry the menu still fits the smallest terminal (80
// columns), F10 Quit included.
func TestMenuFits80Columns(t *testing.T) {
	h := start(t, Deps{}, 80, 24)
	h.waitFor(t, "F7 Pay", "F10 Quit")
}
