package ui

import (
	"strings"
	"testing"
	"time"

	"posagent/internal/event"
)

// panel is the text inside the box whose top border holds title, its
// lines joined with single spaces: a sentence the panel wrapped reads
// whole; one the panel cut off does not.
func panel(screen, title string) string {
	lines := strings.Split(screen, "\n")
	for y, l := range lines {
		i := strings.Index(l, title)
		if i < 0 {
			continue
		}
		row := []rune(l)
		at := len([]rune(l[:i]))
		left, right := -1, -1
		for x := at; x >= 0; x-- {
			if row[x] == '┌' || row[x] == '╔' {
				left = x
				break
			}
		}
		for x := at; x < len(row); x++ {
			if row[x] == '┐' || row[x] == '╗' {
				right = x
				break
			}
		}
		if left < 0 || right < 0 {
			continue
		}
		var out []string
		for _, l := range lines[y+1:] {
			r := []rune(l)
			if len(r) <= right || r[left] == '└' || r[left] == '╚' {
				break
			}
			out = append(out, strings.TrimSpace(string(r[left+1:right])))
		}
		return strings.Join(out, " ")
	}
	return ""
}

// waitPanel waits until the panel titled title holds every want whole.
func (h *harness) waitPanel(t *testing.T, title string, want ...string) string {
	t.Helper()
	return h.waitUntil(t, func(screen string) string {
		p := panel(screen, title)
		for _, w := range want {
			if !strings.Contains(p, w) {
				return "whole in " + title + ": " + w
			}
		}
		return ""
	})
}

// TestInstructionsWholeAt80x24: in every state the cashier's instruction
// in the Current scan panel reads whole at 80x24, however long: the panel
// takes the rows it needs. A code whose life ends moves to CODE EXPIRED
// with its instruction; with the gateway down, the outage's.
func TestInstructionsWholeAt80x24(t *testing.T) {
	past := event.Millis(time.Now().Add(-time.Second))
	for _, tc := range []struct {
		name string
		e    []event.Event
		want []string
	}{
		{"decoded", []event.Event{event.Decoded{SenceNo: "s1", UserIDMasked: "2088********0001"}},
			[]string{"✓ DECODED", "Cashier: ring up the sale; F7 to take the payment."}},
		{"waiting for the buyer", []event.Event{event.Decoded{SenceNo: "s1", UserIDMasked: "2088********0001"},
			event.Payment{SenceNo: "s1", OutTradeNo: "o1", State: event.PaymentWaitingBuyer, TotalAmount: "12.50",
				Message: "The customer must confirm the payment in the Alipay app.",
				Action:  "Ask the customer to confirm on their phone; it is cancelled after 1m0s."}},
			[]string{"… waiting for the customer to confirm", "12.50 yuan at", "The customer must confirm the payment in the Alipay app.",
				"Cashier: Ask the customer to confirm on their phone; it is cancelled after 1m0s.", "code 28**********0001 at"}},
		{"failed", []event.Event{event.DecodeFailed{SenceNo: "s1", SubCode: "SENCENO_UN_MATCH", Message: "This code was already decoded elsewhere.",
			Action: "Check the customer was not scanned by mistake, ask them to refresh the code, then scan again."}},
			[]string{"✗ FAILED SENCENO_UN_MATCH This code was already decoded elsewhere.",
				"Cashier: Check the customer was not scanned by mistake, ask them to refresh the code, then scan again."}},
		{"code expired", []event.Event{event.Decoded{SenceNo: "s1", UserIDMasked: "2088********0001", CodeExpiresAt: past}},
			[]string{"✗ CODE EXPIRED", "Cashier: Ask the customer for a fresh code, then scan it."}},
		{"code expired while down", []event.Event{event.Decoded{SenceNo: "s1", UserIDMasked: "2088********0001", CodeExpiresAt: past},
			event.Gateway{State: event.GatewayDown}},
			[]string{"✗ CODE EXPIRED", "Cashier: " + outageAdvice}},
		{"expired waiting for a gateway that is down", []event.Event{event.Gateway{State: event.GatewayDown},
			event.DecodeFailed{SenceNo: "s1", SubCode: "CODE_EXPIRED", Message: "The payment code expired before Alipay answered.",
				Action: "Ask the customer to refresh the payment code, then scan again."}},
			[]string{"✗ FAILED CODE_EXPIRED The payment code expired before Alipay answered.", "Cashier: " + outageAdvice}},
		{"already paid", []event.Event{event.Payment{SenceNo: "s1", OutTradeNo: "o1", State: event.PaymentPaid, TotalAmount: "12.50"},
			event.Scan{SenceNo: "s1", CodeMasked: "28**********0001"}, event.Decoded{SenceNo: "s1", UserIDMasked: "2088********0001"}},
			[]string{"ALREADY PAID 12.50 yuan", "Cashier: not a new sale; ask for a new code."}},
		{"not a payment code", []event.Event{event.ScanRejected{CodeMasked: "69****", Source: "wedge", Reason: "8 digits, want 16 to 24", Cause: event.RejectNotPaymentCode}},
			[]string{"✗ NOT A PAYMENT CODE 8 digits, want 16 to 24", "Cashier: Scan the customer's Alipay payment code, not another barcode."}},
		{"cut off", []event.Event{event.ScanRejected{CodeMasked: "28****", Source: "wedge",
			Reason: "typed as fast as a scanner but no Enter followed (if the scanner sends no suffix, set scanner.terminator to none)", Cause: event.RejectCutOff}},
			[]string{"✗ SCAN CUT OFF", "Cashier: The scan was cut off: scan again."}},
		{"cut off by a stall", []event.Event{event.ScanRejected{CodeMasked: "28****", Source: "serial",
			Reason: "incomplete read: no terminator within 500ms; a partial code is never used", Cause: event.RejectCutOff}},
			[]string{"✗ SCAN CUT OFF", "Cashier: The scan was cut off: scan again."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, Deps{}, 80, 24)
			h.bus.Publish(event.Scan{SenceNo: "s1", CodeMasked: "28**********0001"})
			for _, e := range tc.e {
				h.bus.Publish(e)
			}
			screen := h.waitPanel(t, "Current scan", tc.want...)
			p := panel(screen, "Current scan")
			if strings.Contains(strings.ToLower(p), "refresh") && strings.Contains(tc.name, "down") {
				t.Fatalf("asks to refresh a code while the gateway is down:\n%s", screen)
			}
			if tc.name == "already paid" && strings.Contains(p, "DECODED") {
				t.Fatalf("a rescanned paid code shows DECODED over ALREADY PAID:\n%s", screen)
			}
			if strings.Contains(p, "terminator") || strings.Contains(tc.name, "cut off") && strings.Contains(p, "NOT A PAYMENT CODE") {
				t.Fatalf("the cashier is given the store IT's words:\n%s", screen)
			}
		})
	}
}
