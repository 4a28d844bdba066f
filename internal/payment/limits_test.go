package payment

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"posagent/internal/event"
)

// An out_trade_no the gateway would refuse is refused with 400 naming
// out_trade_no before the code is used: nothing sent, nothing stored, and
// the code still pays.
func TestOutTradeNoCharacters(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.decoded("S1")
	h := e.svc.Handler()
	for _, otn := range []string{"销售单-1", "a/b?c", "x y", "sale-1"} {
		body, _ := json.Marshal(Request{SenceNo: "S1", OutTradeNo: otn, TotalAmount: "1.00", Subject: "x"})
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/payments", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, r)
		if w.Code != 400 || !strings.Contains(w.Body.String(), "out_trade_no") {
			t.Errorf("out_trade_no %q: %d %s, want 400 naming out_trade_no", otn, w.Code, w.Body)
		}
	}
	if n := e.payRequests(); n != 0 {
		t.Fatalf("%d pay requests sent", n)
	}
	if _, _, state := e.codes.peek("S1"); state != codeReady {
		t.Fatalf("the code was used by refused requests (state %d)", state)
	}
	e.pay("S1", "sale_1", "1.00")
	if got := e.states("sale_1"); got[len(got)-1] != event.PaymentPaid {
		t.Fatalf("the code after the refusals: %v, want paid", got)
	}
}

// The amounts at both ends of the documented range are paid: the maximum
// goes out in the gateway's 11 characters.
func TestAmountBoundaries(t *testing.T) {
	e := newEnv(t, envOpts{})
	for i, tt := range []struct {
		amount string
		fen    int64
	}{{"0.01", 1}, {"100000000", 100000000 * 100}, {"100000000.00", 100000000 * 100}} {
		sence, otn := "SB"+string(rune('0'+i)), "b"+string(rune('0'+i))
		e.decoded(sence)
		if _, _, err := e.svc.Pay(context.Background(), Request{SenceNo: sence, OutTradeNo: otn, TotalAmount: tt.amount, Subject: "x"}); err != nil {
			t.Fatalf("amount %s: %v", tt.amount, err)
		}
		if got := e.states(otn); got[len(got)-1] != event.PaymentPaid {
			t.Errorf("amount %s: %v, want paid", tt.amount, got)
		}
		if tr := e.trade(otn); tr.AmountFen != tt.fen || tr.Charges != 1 {
			t.Errorf("amount %s: trade %+v, want %d fen charged once", tt.amount, tr, tt.fen)
		}
	}
}
