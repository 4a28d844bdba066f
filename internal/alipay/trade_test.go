package alipay

import (
	"encoding/json"
	"testing"
)

func TestParseYuan(t *testing.T) {
	for _, tt := range []struct {
		in  string
		fen int64
		ok  bool
	}{
		{"12.50", 1250, true}, {"3", 300, true}, {"0.01", 1, true}, {"0.1", 10, true},
		{"100000000", MaxFen, true}, {"100000000.00", MaxFen, true},
		{"100000000.01", 0, false}, {"abc", 0, false}, {"0", 0, false}, {"0.00", 0, false},
		{"1.001", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1e2", 0, false},
		{"01.00", 0, false}, {"1.", 0, false}, {".5", 0, false}, {"", 0, false}, {" 1", 0, false},
	} {
		fen, err := ParseYuan(tt.in)
		if (err == nil) != tt.ok || fen != tt.fen {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d ok=%v", tt.in, fen, err, tt.fen, tt.ok)
		}
		if err == nil && FormatFen(fen) != func() string { f, _ := ParseYuan(FormatFen(fen)); return FormatFen(f) }() {
			t.Errorf("FormatFen(%d) does not read back", fen)
		}
	}
	if FormatFen(1250) != "12.50" || FormatFen(1) != "0.01" || FormatFen(MaxFen) != "100000000.00" {
		t.Fatal("FormatFen")
	}
}

// FuzzParseTrade feeds arbitrary response objects to the three trade
// parsers. They must not panic; whatever they accept must be a state the
// pages list, about the trade asked for.
// Seeds: testdata/fuzz/FuzzParseTrade and the objects below.
func FuzzParseTrade(f *testing.F) {
	f.Add([]byte(`{"code":"10000","msg":"Success","trade_no":"2099","out_trade_no":"o1","total_amount":"1.00"}`))
	f.Add([]byte(`{"code":"10003","msg":"order success pay inprocess","trade_no":"2099","out_trade_no":"o1"}`))
	f.Add([]byte(`{"code":"10000","trade_no":"2099","out_trade_no":"o1","trade_status":"TRADE_SUCCESS"}`))
	f.Add([]byte(`{"code":"10000","out_trade_no":"o1","retry_flag":"N","action":"close"}`))
	f.Add([]byte(`{"code":"10000","out_trade_no":"o2","retry_flag":"Y"}`))
	f.Fuzz(func(t *testing.T, obj []byte) {
		if p, err := parseTradePay(obj, "o1"); err == nil {
			if p.Code != CodeSuccess && p.Code != CodeWaitBuyerPay || p.Paid() && p.TradeNo == "" ||
				p.OutTradeNo != "" && p.OutTradeNo != "o1" || !json.Valid(obj) {
				t.Fatalf("pay accepted %+v from %q", p, obj)
			}
		}
		if q, err := parseTradeQuery(obj, TradeQueryRequest{OutTradeNo: "o1"}); err == nil {
			switch q.TradeStatus {
			case TradeWaitBuyerPay, TradeSuccess, TradeFinished, TradeClosed:
			default:
				t.Fatalf("query accepted status %q", q.TradeStatus)
			}
			if q.Paid() && q.TradeNo == "" || q.OutTradeNo != "" && q.OutTradeNo != "o1" {
				t.Fatalf("query accepted %+v", q)
			}
		}
		if c, err := parseTradeCancel(obj, TradeCancelRequest{OutTradeNo: "o1"}); err == nil {
			if c.RetryFlag != "Y" && c.RetryFlag != "N" || c.OutTradeNo != "" && c.OutTradeNo != "o1" {
				t.Fatalf("cancel accepted %+v", c)
			}
		}
	})
}
