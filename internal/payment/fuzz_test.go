package payment

import (
	"bytes"
	"testing"
)

// FuzzDecodeRecord feeds arbitrary stored values to the record decoder. It
// must not panic, and a value it accepts must carry a checksum that matches
// and encode back to a value that decodes the same.
// Seeds: testdata/fuzz/FuzzDecodeRecord and the value below.
func FuzzDecodeRecord(f *testing.F) {
	v, err := encodeRecord(&Record{OutTradeNo: "o1", SenceNo: "S1", AmountFen: 1250, Subject: "lunch", State: "paid", TradeNo: "2099"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v)
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		r, err := decodeRecord([]byte("k"), v)
		if err != nil {
			return
		}
		again, err := encodeRecord(&r)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it again: %v", v, err)
		}
		r2, err := decodeRecord([]byte("k"), again)
		if err != nil || !bytes.Equal(mustEncode(t, &r2), again) {
			t.Fatalf("round trip of %q changed it: %v", v, err)
		}
	})
}

func mustEncode(t *testing.T, r *Record) []byte {
	v, err := encodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
