package alipay

import (
	"errors"
	"strings"
	"testing"
)

// out_trade_no holds letters, digits and underscore only, at most 64
// (the alipay.trade.pay page); total_amount at most 11 characters.
func TestTradePayValidateOutTradeNoAndAmount(t *testing.T) {
	base := TradePayRequest{OutTradeNo: "sale_42", AuthCode: "281234567890123456", Subject: "x", TotalAmount: "1.00"}
	for _, tt := range []struct {
		otn, amount string
		field       string // "" when valid
	}{
		{"sale_42", "1.00", ""},
		{"ABC_xyz_0123456789", "0.01", ""},
		{strings.Repeat("a", 64), "99999999.99", ""},
		{"x", "100000000", ""},
		{"销售单-1", "1.00", "out_trade_no"},
		{"a/b?c", "1.00", "out_trade_no"},
		{"x y", "1.00", "out_trade_no"},
		{"sale-42", "1.00", "out_trade_no"},
		{strings.Repeat("a", 65), "1.00", "out_trade_no"},
		{"", "1.00", "out_trade_no"},
		{"x", "100000000.00", "total_amount"}, // 12 characters: the gateway refuses it
	} {
		r := base
		r.OutTradeNo, r.TotalAmount = tt.otn, tt.amount
		err := r.Validate()
		var fe *FieldError
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%q %q: %v, want valid", tt.otn, tt.amount, err)
		case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
			t.Errorf("%q %q: %v, want a FieldError for %s", tt.otn, tt.amount, err, tt.field)
		}
	}
}

// TradeAmount fits every amount from 0.01 to the maximum into the
// gateway's 11 characters, and reads back to the same fen.
func TestTradeAmount(t *testing.T) {
	for _, tt := range []struct {
		fen  int64
		want string
	}{
		{1, "0.01"}, {1250, "12.50"}, {MaxFen - 1, "99999999.99"}, {MaxFen - 100, "99999999.00"}, {MaxFen, "100000000"},
	} {
		got := TradeAmount(tt.fen)
		back, err := ParseYuan(got)
		if got != tt.want || len(got) > MaxAmountLen || err != nil || back != tt.fen {
			t.Errorf("TradeAmount(%d) = %q (reads back %d, %v), want %q", tt.fen, got, back, err, tt.want)
		}
	}
}
