package coupon

import (
	"testing"

	"posagent/internal/decode"
)

// The merchant endpoint is outside posagent: whatever it answers, parsing
// never panics, and every template it yields has a tpl_id and fills.
func FuzzMerchantAnswer(f *testing.F) {
	f.Add([]byte(`{"coupons":[{"tpl_id":"a","tpl_params":{"x":"{campus_no}","n":3,"o":{"k":[1]}}}]}`))
	f.Add([]byte(`{"coupons":[{"tpl_id":""}]}`))
	f.Add([]byte(`{"coupons":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := parseMerchantAnswer(data)
		if err != nil {
			return
		}
		for _, tp := range ts {
			if tp.TplID == "" {
				t.Fatal("template without tpl_id")
			}
			if p := Fill(tp, decode.Identity{SenceNo: "s", UserID: "2088123412341234"}, "1"); p[SerialKey] != "1" {
				t.Fatalf("filled params %v lack the serial", p)
			}
		}
	})
}
