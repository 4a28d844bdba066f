package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"posagent/internal/event"
	"posagent/internal/redact"
)

func TestCheckoutShowsDecodedCustomer(t *testing.T) {
	h := start(t, Deps{}, 100, 30)
	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	code := redact.Code("281234567890123456")
	user := redact.UserID("2088102122524333")
	h.bus.Publish(event.Scan{Stamp: event.Stamp{Time: at}, SenceNo: "till3-0001", CodeMasked: code, Source: "serial:/dev/ttyACM0"})
	h.bus.Publish(event.Decoding{Stamp: event.Stamp{Time: at}, SenceNo: "till3-0001", CodeMasked: code, Attempt: 1})
	h.bus.Publish(event.Decoded{Stamp: event.Stamp{Time: at}, SenceNo: "till3-0001", UserID: "2088102122524333", UserIDMasked: user,
		SchoolStdCode: "4136013432", CampusNo: "2018012345"})

	screen := h.waitFor(t, "DECODED", user, "4136013432", "2018012345", code)
	if strings.Contains(screen, "2088102122524333") || strings.Contains(screen, "281234567890123456") {
		t.Fatalf("screen shows an unmasked value:\n%s", screen)
	}
}

func TestCheckoutShowsFailureAndAction(t *testing.T) {
	h := start(t, Deps{}, 80, 24)
	code := redact.Code("281234567890123456")
	h.bus.Publish(event.Scan{SenceNo: "s1", CodeMasked: code, Source: "sim"})
	h.bus.Publish(event.Decoding{SenceNo: "s1", CodeMasked: code, Attempt: 1})
	h.bus.Publish(event.Decoding{SenceNo: "s1", CodeMasked: code, Attempt: 2})
	h.waitFor(t, "RETRYING (attempt 2)")
	h.bus.Publish(event.DecodeFailed{SenceNo: "s1", Code: "40004", SubCode: "CODE_EXPIRED", Message: "code expired",
		Action: "Ask the customer to refresh the code"})
	h.waitFor(t, "FAILED CODE_EXPIRED", "Cashier: Ask the customer to refresh the code")
}

func TestCheckoutStatusBarAndCoupons(t *testing.T) {
	h := start(t, Deps{}, 100, 30)
	h.waitFor(t, "Gateway ? unknown", "Scanner ? unknown")
	h.bus.Publish(event.Scanner{State: event.ScannerConnected, Device: "hid:05e0:1200"})
	h.bus.Publish(event.Scan{SenceNo: "s1", CodeMasked: "28************3456", Source: "wedge"})
	h.bus.Publish(event.Decoded{SenceNo: "s1", UserIDMasked: "2088********4333"})
	h.bus.Publish(event.Gateway{State: event.GatewayDown})
	h.bus.Publish(event.Queued{JobID: "j1", Kind: "coupon", SenceNo: "s1", TplID: "tplLunch", SerialNumber: "s1-tplLunch", Attempt: 1, Reason: "gateway down"})
	h.bus.Publish(event.CouponIssued{SenceNo: "s1", TplID: "tplA", SerialNumber: "ser-1", PassID: "pass-9"})
	h.waitFor(t, "Gateway ✗ DOWN", "Queue 1 waiting", "Scanner ✓ connected hid:05e0:1200",
		"PENDING", "tplLunch", "ISSUED", "tplA", "pass pass-9", outageAdvice)
	// The row changes in place: one row for tplLunch, now failed.
	h.bus.Publish(event.Dead{JobID: "j1", Kind: "coupon", SenceNo: "s1", TplID: "tplLunch", SerialNumber: "s1-tplLunch", Reason: "template gone"})
	screen := h.waitFor(t, "Queue 0 waiting, 1 dead", "FAILED", "template gone")
	if strings.Count(screen, "tplLunch") != 1 || strings.Contains(screen, "PENDING") {
		t.Fatalf("the coupon row did not change in place:\n%s", screen)
	}
	h.bus.Publish(event.Gateway{State: event.GatewayUp})
	h.waitUntil(t, func(screen string) string {
		if !strings.Contains(screen, "Gateway ✓ up") || strings.Contains(screen, outageAdvice) {
			return "the gateway up, no outage advice"
		}
		return ""
	})
}

func TestCheckoutFeedsWedgeKeys(t *testing.T) {
	keys := newFakeKeys()
	h := start(t, Deps{Keys: keys}, 80, 24)
	burst := recording(t, "scanner-usb-slow")
	h.play(burst)
	keys.waitText(t, text(burst)+"\r")
	// The read is over: no "READING" left behind.
	h.waitUntil(t, func(screen string) string {
		if strings.Contains(screen, "READING") {
			return "no READING counter"
		}
		return ""
	})
	// A person's keys on the checkout screen reach the wedge too (it
	// ignores them); screen keys do not.
	h.typeText("7")
	keys.waitText(t, text(burst)+"\r7")
	h.key(tcell.KeyRune, 'h', tcell.ModAlt)
	h.waitFor(t, "Help — keys of every screen")
	h.typeText("9")
	h.key(tcell.KeyF2, 0, tcell.ModNone)
	h.typeText("5")
	keys.waitText(t, text(burst)+"\r75")
}

func TestResizeTo80x24Redraws(t *testing.T) {
	h := start(t, Deps{}, 120, 40)
	h.bus.Publish(event.Gateway{State: event.GatewayUp})
	h.bus.Publish(event.Scan{SenceNo: "s1", CodeMasked: "28************3456", Source: "sim"})
	h.bus.Publish(event.Decoded{SenceNo: "s1", UserIDMasked: "2088********4333", SchoolStdCode: "4136013432", CampusNo: "2018012345"})
	h.waitFor(t, "DECODED", "2018012345")

	h.screen.SetSize(80, 24)
	if err := h.screen.PostEvent(tcell.NewEventResize(80, 24)); err != nil {
		t.Fatal(err)
	}
	// Everything the cashier needs is still there, the menu on the first
	// line and the status bar on the last.
	h.waitUntil(t, func(screen string) string {
		lines := strings.Split(strings.TrimSuffix(screen, "\n"), "\n")
		switch {
		case len(lines) != 24 || len(lines[0]) == 0:
			return fmt.Sprintf("24 lines (got %d)", len(lines))
		case !strings.HasPrefix(lines[0], "F1 Help"):
			return "the menu on the first line"
		case !strings.Contains(lines[23], "Gateway ✓ up"):
			return "the status bar on the last line"
		}
		for _, w := range []string{"Current scan", "Customer", "Coupons", "Last scans", "2088********4333", "4136013432"} {
			if !strings.Contains(screen, w) {
				return w
			}
		}
		return ""
	})
}

func TestQuitKeysEndRun(t *testing.T) {
	for _, k := range []struct {
		name string
		key  tcell.Key
		r    rune
		mod  tcell.ModMask
	}{
		{"F10", tcell.KeyF10, 0, tcell.ModNone},
		{"Alt-X", tcell.KeyRune, 'x', tcell.ModAlt},
		{"Ctrl-C", tcell.KeyCtrlC, 'c', tcell.ModCtrl},
	} {
		t.Run(k.name, func(t *testing.T) {
			h := start(t, Deps{}, 80, 24)
			// An event in flight while quitting must not hold Run up.
			h.bus.Publish(event.Gateway{State: event.GatewayUp})
			h.key(k.key, k.r, k.mod)
			h.waitFor(t, "Quit posagent? the till", "stops reading codes")
			h.key(tcell.KeyEnter, 0, tcell.ModNone) // Stay, the focused answer
			h.waitFor(t, "Last scans")
			h.key(k.key, k.r, k.mod)
			h.waitFor(t, "Quit posagent? the till", "stops reading codes")
			h.key(tcell.KeyRight, 0, tcell.ModNone)
			h.key(tcell.KeyEnter, 0, tcell.ModNone)
			if err := h.waitExit(t); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}

func TestRunWithCancelledContextReturns(t *testing.T) {
	screen := tcell.NewSimulationScreen("UTF-8")
	bus := event.NewBus()
	app := New(Deps{Events: bus.Subscribe(), Screen: screen})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return")
	}
}

// TestCheckoutRescanOfSameCode: a rescan of a code carries the sence_no of
// its first decode: it is that customer again, in one row, on top.
func TestCheckoutRescanOfSameCode(t *testing.T) {
	c := newCheckoutScreen(time.Now)
	code := "28************3456"
	for _, e := range []event.Event{
		event.Scan{SenceNo: "s1", CodeMasked: code},
		event.Decoding{SenceNo: "s1", CodeMasked: code, Attempt: 1},
		event.DecodeFailed{SenceNo: "s1", Code: "40004", SubCode: "SYSTEM_ERROR"},
		event.Scan{SenceNo: "s2", CodeMasked: "28************7777"},
		event.Scan{SenceNo: "s1", CodeMasked: code},
		event.Decoding{SenceNo: "s1", CodeMasked: code, Attempt: 1},
		event.Decoded{SenceNo: "s1", UserIDMasked: "2088********4333"},
	} {
		c.apply(e)
	}
	if c.model.Len() != 2 || c.last.GetRowCount() != 3 {
		t.Fatalf("%d customers, %d table rows; want 2 and a header", c.model.Len(), c.last.GetRowCount())
	}
	if got := c.last.GetCell(1, colState).Text; !strings.Contains(got, "DECODED") || c.last.GetCell(1, colCustomer).Text != "2088********4333" {
		t.Fatalf("top row %q %q, want the rescanned customer DECODED", got, c.last.GetCell(1, colCustomer).Text)
	}
}

// TestBurstReachesScreen: a burst far beyond what a checkout produces is
// applied in full, without drops, and the newest scan is what shows.
func TestBurstReachesScreen(t *testing.T) {
	h := start(t, Deps{}, 80, 24)
	evs := checkoutEvents(7 * 3000) // 3,000 whole scans of 7 events
	for _, e := range evs {
		h.bus.Publish(e)
	}
	h.waitDrawn(t, uint64(len(evs)), nil)
	if d := h.sub.Dropped(); d != 0 {
		t.Fatalf("%d events dropped", d)
	}
	h.waitFor(t, "Scanner ✓ connected sim")
	var newest string
	h.app.tv.QueueUpdate(func() { newest = h.app.checkout.model.Newest(0).SenceNo })
	if want := fmt.Sprintf("till3-%06d", 3000-1); newest != want {
		t.Fatalf("newest scan %q, want %q", newest, want)
	}
}

// TestTooSmall: below 80x24 the screen says so, and says it again no more
// once the terminal is big enough.
func TestTooSmall(t *testing.T) {
	h := start(t, Deps{}, 79, 24)
	h.waitFor(t, "Terminal too small (need 80x24, have 79x24).")
	for _, size := range [][2]int{{80, 23}, {80, 24}} {
		h.screen.SetSize(size[0], size[1])
		if err := h.screen.PostEvent(tcell.NewEventResize(size[0], size[1])); err != nil {
			t.Fatal(err)
		}
		if size[1] < 24 {
			h.waitFor(t, "have 80x23")
			continue
		}
		h.waitFor(t, "Last scans", "Gateway ? unknown")
	}
	h.key(tcell.KeyF10, 0, tcell.ModNone)
	h.key(tcell.KeyRight, 0, tcell.ModNone)
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	if err := h.waitExit(t); err != nil {
		t.Fatal(err)
	}
}

// TestWrongKeyIsAConfigurationProblem: Alipay refusing the terminal's
// signature is shown as a configuration problem, not as an outage, and
// the gateway's up/down events do not hide it.
func TestWrongKeyIsAConfigurationProblem(t *testing.T) {
	h := start(t, Deps{}, 80, 24)
	h.bus.Publish(event.Scan{SenceNo: "s1", CodeMasked: "28************3456", Source: "wedge"})
	h.bus.Publish(event.DecodeFailed{SenceNo: "s1", Code: "40002", SubCode: "isv.invalid-signature",
		Message: "Alipay rejected this terminal's signature.", Action: "Call support: check app_id and app_private_key."})
	h.bus.Publish(event.Gateway{State: event.GatewayDown})
	screen := h.waitFor(t, "Gateway ✗ CONFIG PROBLEM", "Configuration problem (not an outage)", "check app_id")
	if strings.Contains(screen, outageAdvice) || strings.Contains(screen, "DOWN") {
		t.Fatalf("a configuration problem shown as an outage:\n%s", screen)
	}
}

// TestCheckoutPaymentWords: the checkout says the next step for a decoded
// customer, a payment in words with its time, keeps the outcome in the
// last scans, and a rescan of a paid code says it was already paid and
// when, never to hand over the goods again.
func TestCheckoutPaymentWords(t *testing.T) {
	h := start(t, Deps{}, 80, 24)
	at := time.Date(2026, 12, 3, 10, 31, 2, 0, time.Local)
	stamp := func(s int) event.Stamp { return event.Stamp{Time: at.Add(time.Duration(s) * time.Second)} }
	h.bus.Publish(event.Scan{Stamp: stamp(0), SenceNo: "s1", CodeMasked: "28**********3456"})
	h.bus.Publish(event.Decoded{Stamp: stamp(1), SenceNo: "s1", UserIDMasked: "2088********4333"})
	h.waitFor(t, "Cashier: ring up the sale; F7 to take the")
	h.bus.Publish(event.Payment{Stamp: stamp(2), SenceNo: "s1", OutTradeNo: "o1", State: event.PaymentWaitingBuyer, TotalAmount: "12.50"})
	h.waitFor(t, "waiting for the customer to confirm")
	h.bus.Publish(event.Payment{Stamp: stamp(3), SenceNo: "s1", OutTradeNo: "o1", State: event.PaymentPaid, TotalAmount: "12.50",
		Message: "Paid.", Action: "Hand over the goods."})
	h.waitFor(t, "PAID", "12.50 yuan at 10:31:05", "Hand over the goods", "DECODED PAID")
	h.bus.Publish(event.Scan{Stamp: stamp(60), SenceNo: "s2", CodeMasked: "28**********7777"})
	h.bus.Publish(event.Scan{Stamp: stamp(90), SenceNo: "s1", CodeMasked: "28**********3456"})
	h.bus.Publish(event.Decoded{Stamp: stamp(91), SenceNo: "s1", UserIDMasked: "2088********4333"})
	screen := h.waitFor(t, "this code was already paid at 10:31:05")
	if strings.Contains(screen, "Hand over the goods") || strings.Contains(screen, "ring up the sale") {
		t.Fatalf("a rescan of a paid code tells the cashier to finish a sale:\n%s", screen)
	}
}
