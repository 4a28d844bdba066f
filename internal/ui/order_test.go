package ui

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
)

var _ OrderBuilder = (*alipay.Client)(nil)

// orderClient is a real client with the fake gateway's keys; building an
// order string makes no call.
func orderClient(t *testing.T) *alipay.Client {
	t.Helper()
	srv := alipaytest.NewServer()
	t.Cleanup(srv.Close)
	return srv.Client()
}

func TestOrderDialogBuildsAndShowsQR(t *testing.T) {
	h := start(t, Deps{Orders: orderClient(t)}, 100, 30)
	h.key(tcell.KeyF6, 0, tcell.ModNone)
	h.waitFor(t, "total_amount", "subject", "out_trade_no")

	h.typeText("9.001")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("大乐透")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("70501111111S001111119")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, `Not built: total_amount`, `"9.001": at most two decimals`)

	h.key(tcell.KeyBacktab, 0, tcell.ModNone)
	h.key(tcell.KeyBacktab, 0, tcell.ModNone)
	h.key(tcell.KeyBackspace, 0, tcell.ModNone)
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	screen := h.waitFor(t, "Built", "method=alipay.trade.app.pay")

	var order string
	h.app.tv.QueueUpdate(func() { order = h.app.order.order })
	v, err := url.ParseQuery(order)
	if err != nil {
		t.Fatalf("order string %q: %v", order, err)
	}
	if biz := v.Get("biz_content"); !strings.Contains(biz, `"total_amount":"9.00"`) || !strings.Contains(biz, `"out_trade_no":"70501111111S001111119"`) || v.Get("sign") == "" {
		t.Fatalf("order string %q lacks the amount, order number or sign", order)
	}
	if !strings.Contains(strings.ReplaceAll(screen, "\n", ""), order[:40]) {
		t.Fatalf("the order string is not on the screen:\n%s", screen)
	}

	// Too small for the code: the dialog says so and keeps the string.
	h.key(tcell.KeyRune, 'g', tcell.ModAlt)
	h.waitFor(t, "The QR code needs")

	h.screen.SetSize(160, 90)
	if err := h.screen.PostEvent(tcell.NewEventResize(160, 90)); err != nil {
		t.Fatal(err)
	}
	h.waitUntil(t, func(screen string) string {
		if strings.Count(screen, "\n") != 90 {
			return "a 160x90 screen"
		}
		return ""
	})
	h.key(tcell.KeyRune, 'g', tcell.ModAlt)
	h.waitFor(t, "Order QR code", "█")
	h.key(tcell.KeyEscape, 0, tcell.ModNone)
	h.waitFor(t, "App-pay order — alipay.trade.app.pay")
}

// At 80x24, under the word that the QR code does not fit, the order string
// is longer than the result shows: PgDn scrolls to its end, PgUp back.
func TestOrderStringScrollsAt80x24(t *testing.T) {
	h := start(t, Deps{Orders: orderClient(t)}, 80, 24)
	h.key(tcell.KeyF6, 0, tcell.ModNone)
	h.waitFor(t, "total_amount")
	h.typeText("9.90")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("coffee")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("app_0001")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Built")
	var order string
	h.onUI(func() { order = h.app.order.order })
	// Alt-G at 80x24: the code does not fit, the string is offered again
	// under the explanation.
	h.key(tcell.KeyRune, 'g', tcell.ModAlt)
	screen := h.waitFor(t, "The QR code needs")
	// The result's rows, joined: the string wraps at the border.
	flat := func(screen string) string {
		return strings.NewReplacer("│", "", "\n", "").Replace(screen)
	}
	tail := order[len(order)-20:]
	if strings.Contains(flat(screen), tail) {
		t.Fatalf("the whole order string fits at 80x24 (%d characters): nothing to scroll", len(order))
	}
	for i := 0; i < 10; i++ {
		h.key(tcell.KeyPgDn, 0, tcell.ModNone)
	}
	h.waitUntil(t, func(screen string) string {
		if !strings.Contains(flat(screen), tail) {
			return "the end of the order string after PgDn"
		}
		return ""
	})
	for i := 0; i < 10; i++ {
		h.key(tcell.KeyPgUp, 0, tcell.ModNone)
	}
	h.waitFor(t, "The QR code needs")
}
