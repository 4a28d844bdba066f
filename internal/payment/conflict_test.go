package payment

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// The same out_trade_no for another sale is refused with a message that
// names the field that differs, with both values.
func TestSameOutTradeNoNamesTheDifference(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.decoded("S1")
	e.decoded("S2")
	e.pay("S1", "o1", "12.50")
	e.states("o1")
	for _, tt := range []struct {
		req  Request
		want []string
	}{
		{Request{SenceNo: "S1", OutTradeNo: "o1", TotalAmount: "13.00", Subject: "lunch"}, []string{"total_amount", "12.50", "13.00"}},
		{Request{SenceNo: "S1", OutTradeNo: "o1", TotalAmount: "12.50", Subject: "dinner"}, []string{"subject", `"lunch"`, `"dinner"`}},
		{Request{SenceNo: "S2", OutTradeNo: "o1", TotalAmount: "12.50", Subject: "lunch"}, []string{"sence_no", "S1", "S2"}},
	} {
		_, _, err := e.svc.Pay(context.Background(), tt.req)
		var pe *Error
		if !errors.As(err, &pe) || pe.Status != http.StatusConflict {
			t.Errorf("%+v: %v, want 409", tt.req, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(pe.Msg, w) {
				t.Errorf("%+v: %q does not name %s", tt.req, pe.Msg, w)
			}
		}
		if strings.Contains(pe.Msg, "taken by another payment") {
			t.Errorf("%q: it is the same payment asked differently, not another", pe.Msg)
		}
	}
}
