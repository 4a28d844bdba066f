package ui

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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

// cancelled is what Cancel was asked for so far.
func (f *fakePayments) cancelled() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cancels)
}

func TestPayDialog(t *testing.T) {
	fp := &fakePayments{}
	h := start(t, Deps{Payments: fp}, 100, 30)
	h.key(tcell.KeyF7, 0, tcell.ModNone)
	h.waitFor(t, "Pay — alipay.trade.pay", "No customer ready to pay: no scan yet")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Not sent:", "scan the customer's payment code first")

	h.bus.Publish(event.Scan{SenceNo: "till1-20261203-ab000001", CodeMasked: "28**********0001"})
	h.bus.Publish(event.Decoded{SenceNo: "till1-20261203-ab000001", UserID: "2088000000000001", UserIDMasked: "2088********0001"})
	h.waitFor(t, "Customer 2088********0001", "till1-20261203-ab000001", "sale_")
	h.typeText("12.50")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("Lunch set")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "sending the payment to Alipay", "12.50 yuan")

	fp.mu.Lock()
	req := fp.reqs[0]
	fp.mu.Unlock()
	if req.SenceNo != "till1-20261203-ab000001" || req.TotalAmount != "12.50" || req.Subject != "Lunch set" || req.OutTradeNo == "" {
		t.Fatalf("request %+v", req)
	}
	// Live: the payment's events move the state on.
	h.bus.Publish(event.Payment{SenceNo: req.SenceNo, OutTradeNo: req.OutTradeNo, State: event.PaymentWaitingBuyer, TotalAmount: "12.50",
		Message: "The customer must confirm the payment in the Alipay app.", Action: "Ask the customer to confirm on their phone."})
	h.waitFor(t, "waiting for the customer to confirm", "Ask the customer to confirm")
	h.key(tcell.KeyRune, 'k', tcell.ModAlt)
	h.waitFor(t, "Cancel this payment?", "Alt-K again cancels it")
	h.key(tcell.KeyRune, 'k', tcell.ModAlt)
	h.waitFor(t, "cancelling the payment with Alipay", "The cashier cancelled")
	h.bus.Publish(event.Payment{SenceNo: req.SenceNo, OutTradeNo: req.OutTradeNo, State: event.PaymentCancelled, TotalAmount: "12.50",
		Message: "Cancelled: the customer was not charged.", Action: "Take the payment again with a fresh code, or another way."})
	h.waitFor(t, "PAYMENT CANCELLED", "the customer was not charged")
	if cancels := fp.cancelled(); len(cancels) != 1 || cancels[0] != req.OutTradeNo {
		t.Fatalf("cancels %v", cancels)
	}

	// The code's payment ended: F9 does not charge it again.
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Not sent:", "the payment with this code ended")

	// A refusal shows the service's words.
	h.bus.Publish(event.Scan{SenceNo: "till1-20261203-ab000002", CodeMasked: "28**********0002"})
	h.bus.Publish(event.Decoded{SenceNo: "till1-20261203-ab000002", UserIDMasked: "2088********0002"})
	h.waitFor(t, "Customer 2088********0002")
	h.typeText("3.00")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("Coffee")
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

// payScreen opens the Pay screen with customer A decoded.
func payScreen(t *testing.T, fp *fakePayments) *harness {
	h := start(t, Deps{Payments: fp}, 80, 24)
	h.key(tcell.KeyF7, 0, tcell.ModNone)
	h.bus.Publish(event.Scan{SenceNo: "sA", CodeMasked: "28**********0001"})
	h.bus.Publish(event.Decoded{SenceNo: "sA", UserIDMasked: "2088********000A"})
	h.waitFor(t, "Customer 2088********000A")
	return h
}

// TestPayNewCustomerClearsForm: a new customer clears the amount, subject
// and result, gets a new out_trade_no, and the cursor is in total_amount.
func TestPayNewCustomerClearsForm(t *testing.T) {
	fp := &fakePayments{}
	h := payScreen(t, fp)
	h.typeText("12.50")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("Lunch set")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "sending the payment to Alipay")
	otnA := h.app.pay.outNo.GetText()

	h.bus.Publish(event.Scan{SenceNo: "sB", CodeMasked: "28**********0002"})
	h.bus.Publish(event.Decoded{SenceNo: "sB", UserIDMasked: "2088********000B"})
	screen := h.waitFor(t, "Customer 2088********000B", "Enter the amount and a subject")
	if got := h.formText(); got != "|" || strings.Contains(screen, "sending the payment") {
		t.Fatalf("the new customer's form still shows %q:\n%s", got, screen)
	}
	h.typeText("3.00")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("Tea")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitUntil(t, func(string) string {
		fp.mu.Lock()
		defer fp.mu.Unlock()
		if len(fp.reqs) < 2 {
			return "a second request"
		}
		return ""
	})
	fp.mu.Lock()
	req := fp.reqs[1]
	fp.mu.Unlock()
	if req.SenceNo != "sB" || req.TotalAmount != "3.00" || req.Subject != "Tea" || req.OutTradeNo == otnA || req.OutTradeNo == "" {
		t.Fatalf("customer B charged with %+v (A's out_trade_no %s)", req, otnA)
	}
}

// TestPayBoundToNewestScan: when the newest scan is not a decoded customer
// the Pay screen says why and F9 charges no one, least of all the earlier
// customer.
func TestPayBoundToNewestScan(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    []event.Event
		want string
	}{
		{"rejected", []event.Event{event.ScanRejected{CodeMasked: "12****", Reason: "not a payment code"}}, "not a payment code"},
		{"decode failed", []event.Event{event.Scan{SenceNo: "sB", CodeMasked: "28**0002"},
			event.DecodeFailed{SenceNo: "sB", SubCode: "CODE_EXPIRED", Message: "The payment code has expired."}}, "did not decode"},
		{"decoding", []event.Event{event.Scan{SenceNo: "sB", CodeMasked: "28**0002"},
			event.Decoding{SenceNo: "sB", CodeMasked: "28**0002", Attempt: 1}}, "still being decoded"},
		{"code expired", []event.Event{event.Scan{SenceNo: "sB", CodeMasked: "28**0002"},
			event.Decoded{SenceNo: "sB", UserIDMasked: "2088********000B", CodeExpiresAt: event.Millis(time.Now().Add(-time.Second))}}, "the code expired at"},
		{"already paid", []event.Event{event.Payment{SenceNo: "sA", OutTradeNo: "o1", State: event.PaymentPaid, TotalAmount: "1.00"},
			event.Scan{SenceNo: "sA", CodeMasked: "28**********0001"}}, "already paid at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp := &fakePayments{}
			h := payScreen(t, fp)
			h.typeText("12.50")
			h.key(tcell.KeyTab, 0, tcell.ModNone)
			h.typeText("Lunch")
			for _, e := range tc.e {
				h.bus.Publish(e)
			}
			h.waitFor(t, "No customer ready to pay", tc.want)
			h.typeText("12.50")
			h.key(tcell.KeyTab, 0, tcell.ModNone)
			h.typeText("Lunch")
			h.key(tcell.KeyF9, 0, tcell.ModNone)
			h.waitFor(t, "Not sent:", tc.want)
			fp.mu.Lock()
			defer fp.mu.Unlock()
			if len(fp.reqs) != 0 {
				t.Fatalf("F9 charged %+v", fp.reqs)
			}
		})
	}
}

// TestPayCancelsPOSPayment: a payment the POS started through the local
// API for the current customer shows on the Pay screen, and Alt-K cancels
// it.
func TestPayCancelsPOSPayment(t *testing.T) {
	fp := &fakePayments{}
	h := payScreen(t, fp)
	h.bus.Publish(event.Payment{SenceNo: "sA", OutTradeNo: "pos-0042", State: event.PaymentWaitingBuyer, TotalAmount: "8.00",
		Message: "The customer must confirm the payment in the Alipay app."})
	h.waitFor(t, "waiting for the customer to confirm", "pos-0042")
	h.key(tcell.KeyRune, 'k', tcell.ModAlt)
	h.waitFor(t, "Cancel this payment?", "pos-0042")
	h.key(tcell.KeyRune, 'k', tcell.ModAlt)
	h.waitFor(t, "cancelling the payment with Alipay")
	if cancels := fp.cancelled(); len(cancels) != 1 || cancels[0] != "pos-0042" {
		t.Fatalf("cancels %v, want the POS's pos-0042", cancels)
	}
}

// TestPayKeepsCurrentThroughStrayWork: events for customers never scanned
// in this run (an earlier run's coupons, retries and payments resolving
// after a restart) neither clear the form being typed for the customer at
// the till nor take that customer's place: F9 charges them.
func TestPayKeepsCurrentThroughStrayWork(t *testing.T) {
	fp := &fakePayments{}
	h := payScreen(t, fp)
	h.typeText("12.50")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("Lunch")
	h.waitUntil(t, func(string) string {
		if h.formText() != "12.50|Lunch" {
			return "the typed form"
		}
		return ""
	})
	strays := []event.Event{
		event.CouponIssued{SenceNo: "old1", TplID: "tplAny", SerialNumber: "old1-tplAny", PassID: "p1"},
		event.Queued{JobID: "j3", Kind: "decode", SenceNo: "old2", Attempt: 2, Reason: "gateway down"},
		event.Dead{JobID: "j4", Kind: "coupon", SenceNo: "old3", TplID: "tplAny", Reason: "template gone"},
		event.Payment{SenceNo: "old4", OutTradeNo: "o4", State: event.PaymentPaid, TotalAmount: "1.00"},
		event.Decoded{SenceNo: "old5", UserIDMasked: "2088********0005"},
	}
	for _, e := range strays {
		h.bus.Publish(e)
	}
	h.waitUntil(t, func(string) string {
		n := make(chan int, 1)
		h.onUI(func() { n <- h.app.pay.model.Len() })
		if <-n != 1+len(strays) {
			return "every stray customer in the model"
		}
		return ""
	})
	screen := h.waitFor(t, "Customer 2088********000A", "sA")
	if got := h.formText(); got != "12.50|Lunch" {
		t.Fatalf("form %q after stray work, want it kept:\n%s", got, screen)
	}
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "sending the payment to Alipay", "12.50 yuan")
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if len(fp.reqs) != 1 || fp.reqs[0].SenceNo != "sA" || fp.reqs[0].TotalAmount != "12.50" {
		t.Fatalf("F9 sent %+v, want customer sA's 12.50", fp.reqs)
	}
}

// formText is the Pay form's amount and subject, read on the UI goroutine.
func (h *harness) formText() string {
	s := make(chan string, 1)
	h.onUI(func() { s <- h.app.pay.amount.GetText() + "|" + h.app.pay.subject.GetText() })
	return <-s
}

// TestPayCancelAfterMisread: a payment waiting for the buyer is cancelled
// from the Pay screen though a newer scan (a misread) arrived after it;
// the first Alt-K names it (customer, amount, out_trade_no) and charges
// nothing, the second cancels that one.
func TestPayCancelAfterMisread(t *testing.T) {
	fp := &fakePayments{}
	h := payScreen(t, fp)
	h.bus.Publish(event.Payment{SenceNo: "sA", OutTradeNo: "pos-0042", State: event.PaymentWaitingBuyer, TotalAmount: "8.00",
		Message: "The customer must confirm the payment in the Alipay app."})
	h.waitFor(t, "pos-0042")
	h.bus.Publish(event.ScanRejected{CodeMasked: "69****", Reason: "not a payment code"})
	h.waitFor(t, "not a payment code", "Payment under way: customer 2088********000A, 8.00 yuan", "out_trade_no pos-0042", "Alt-K cancels it.")
	h.key(tcell.KeyRune, 'k', tcell.ModAlt)
	h.waitFor(t, "Cancel this payment? customer 2088********000A, 8.00 yuan", "out_trade_no pos-0042", "Alt-K again cancels it.")
	if cancels := fp.cancelled(); len(cancels) != 0 {
		t.Fatalf("the first Alt-K cancelled %v", cancels)
	}
	h.key(tcell.KeyRune, 'k', tcell.ModAlt)
	h.waitFor(t, "cancelling the payment with Alipay")
	if cancels := fp.cancelled(); len(cancels) != 1 || cancels[0] != "pos-0042" {
		t.Fatalf("cancels %v, want pos-0042", cancels)
	}
}

// TestPayNothingToCancel: Alt-K with no payment under way says so.
func TestPayNothingToCancel(t *testing.T) {
	h := payScreen(t, &fakePayments{})
	h.key(tcell.KeyRune, 'k', tcell.ModAlt)
	h.waitFor(t, "Nothing to cancel: no payment is under way.")
}

// TestPayPaidReceiptStays: F9 after PAID refuses beside the receipt: the
// PAID state and its trade_no stay in view.
func TestPayPaidReceiptStays(t *testing.T) {
	fp := &fakePayments{}
	h := payScreen(t, fp)
	h.typeText("12.50")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("Lunch")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "sending the payment to Alipay")
	otn := h.app.pay.outNo.GetText()
	h.bus.Publish(event.Payment{SenceNo: "sA", OutTradeNo: otn, State: event.PaymentPaid, TotalAmount: "12.50",
		TradeNo: "2026120322001400001", Message: "Paid.", Action: "Hand over the goods."})
	h.waitFor(t, "PAID", "trade_no 2026120322001400001")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Not sent: this code was already paid", "✓ PAID", "trade_no 2026120322001400001")
}

// TestPayNewScanSaysAmountCleared: a new customer clears the amount typed
// so far, and says so.
func TestPayNewScanSaysAmountCleared(t *testing.T) {
	h := payScreen(t, &fakePayments{})
	h.typeText("12.50")
	h.waitUntil(t, func(string) string {
		if h.formText() != "12.50|" {
			return "the typed amount"
		}
		return ""
	})
	h.bus.Publish(event.Scan{SenceNo: "sB", CodeMasked: "28**********0002"})
	h.waitFor(t, "New customer: amount cleared (12.50 yuan was typed)")
}

// TestPayHintWithoutCustomer: with no customer ready the result does not
// promise that F9 charges anyone.
func TestPayHintWithoutCustomer(t *testing.T) {
	h := start(t, Deps{Payments: &fakePayments{}}, 80, 24)
	h.key(tcell.KeyF7, 0, tcell.ModNone)
	h.bus.Publish(event.ScanRejected{CodeMasked: "69****", Reason: "not a payment code"})
	screen := h.waitFor(t, "not a payment code", "F9 charges no one until a customer is ready above.")
	if strings.Contains(reflow(screen), "F9 charges the customer shown above") {
		t.Fatalf("no customer is ready, yet:\n%s", screen)
	}
}

// TestPayWhyNotReadyWhole: why no customer is ready reads whole at 80x24,
// however long the decode's instruction.
func TestPayWhyNotReadyWhole(t *testing.T) {
	h := payScreen(t, &fakePayments{})
	h.bus.Publish(event.Scan{SenceNo: "sB", CodeMasked: "28**0002"})
	h.bus.Publish(event.DecodeFailed{SenceNo: "sB", SubCode: "SENCENO_UN_MATCH", Message: "This code was already decoded elsewhere.",
		Action: "Check the customer was not scanned by mistake, ask them to refresh the code, then scan again."})
	h.waitFor(t, "No customer ready to pay: the newest scan did not decode: This code was already decoded elsewhere. "+
		"Check the customer was not scanned by mistake, ask them to refresh the code, then scan again.")
}

// TestPayConfirmLapses: a payment named by a first Alt-K that ends before
// the second is not asked about any more, and the second Alt-K cancels
// nothing.
func TestPayConfirmLapses(t *testing.T) {
	fp := &fakePayments{}
	h := payScreen(t, fp)
	h.bus.Publish(event.Payment{SenceNo: "sA", OutTradeNo: "pos-0042", State: event.PaymentWaitingBuyer, TotalAmount: "8.00"})
	h.bus.Publish(event.ScanRejected{CodeMasked: "69****", Reason: "not a payment code"})
	h.waitFor(t, "Payment under way")
	h.key(tcell.KeyRune, 'k', tcell.ModAlt)
	h.waitFor(t, "Alt-K again cancels it.")
	h.bus.Publish(event.Payment{SenceNo: "sA", OutTradeNo: "pos-0042", State: event.PaymentPaid, TotalAmount: "8.00"})
	h.waitUntil(t, func(screen string) string {
		if strings.Contains(screen, "Alt-K again") || strings.Contains(screen, "Payment under way") {
			return "the question gone once the payment ended"
		}
		return ""
	})
	h.key(tcell.KeyRune, 'k', tcell.ModAlt)
	h.waitFor(t, "Nothing to cancel: no payment is under way.")
	if cancels := fp.cancelled(); len(cancels) != 0 {
		t.Fatalf("cancelled %v after it was paid", cancels)
	}
}

// A question the receipt replaced, or that was left with the screen, is no
// question: the next Alt-K asks again and cancels nothing.
func TestPayConfirmGoneWithTheQuestion(t *testing.T) {
	for _, tc := range []struct {
		name string
		away func(t *testing.T, h *harness)
	}{
		{"the payment moved on", func(t *testing.T, h *harness) {
			h.bus.Publish(event.Payment{SenceNo: "sA", OutTradeNo: "pos_0042", State: event.PaymentWaitingBuyer, TotalAmount: "8.00"})
			h.waitUntil(t, func(s string) string {
				if strings.Contains(s, "Alt-K again") {
					return "the receipt in place of the question"
				}
				return ""
			})
		}},
		{"the cashier left the screen", func(t *testing.T, h *harness) {
			h.key(tcell.KeyF2, 0, tcell.ModNone)
			h.waitFor(t, "Last scans")
			h.key(tcell.KeyF7, 0, tcell.ModNone)
			h.waitFor(t, "Pay — alipay.trade.pay", "Payment under way")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp := &fakePayments{}
			h := payScreen(t, fp)
			h.bus.Publish(event.Payment{SenceNo: "sA", OutTradeNo: "pos_0042", State: event.PaymentSending, TotalAmount: "8.00"})
			h.waitFor(t, "pos_0042")
			h.key(tcell.KeyRune, 'k', tcell.ModAlt)
			h.waitFor(t, "Alt-K again cancels it.")
			tc.away(t, h)
			h.key(tcell.KeyRune, 'k', tcell.ModAlt)
			h.waitFor(t, "Alt-K again cancels it.")
			if cancels := fp.cancelled(); len(cancels) != 0 {
				t.Fatalf("cancelled %v with no question on screen", cancels)
			}
		})
	}
}
