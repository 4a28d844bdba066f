package alipaytest

import (
	"net/url"
	"strings"
	"testing"

	"posagent/internal/alipay"
)

var tradeFields = map[string]string{
	"out_trade_no":   "70501111111S001111119",
	"trade_no":       "2014112400001000340011111118",
	"trade_status":   "TRADE_SUCCESS",
	"total_amount":   "9.00",
	"subject":        "大乐透",
	"fund_bill_list": `[{"amount":"9.00","fundChannel":"ALIPAYACCOUNT"}]`,
	"gmt_payment":    "2026-03-01 09:31:00",
}

// checkNotify verifies a notification the way a merchant must: sign and
// sign_type left out, values as received, bytes in the notification's
// charset.
func checkNotify(t *testing.T, s *Server, body []byte, charset string) url.Values {
	t.Helper()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]string{}
	for k := range form {
		raw[k] = form.Get(k)
	}
	if err := alipay.Verify([]byte(alipay.CanonicalString(raw, "sign", "sign_type")), form.Get("sign"), s.AlipayPublicKey(), s.SignType()); err != nil {
		t.Fatalf("notification: %v", err)
	}
	decoded := url.Values{}
	for k, v := range raw {
		d, ok := decodeText(v, charset)
		if !ok {
			t.Fatalf("%s is not %s", k, charset)
		}
		decoded.Set(k, d)
	}
	return decoded
}

func TestNotify(t *testing.T) {
	clock := newClock()
	s := newServer(t, WithClock(clock.Now))
	for _, cs := range []string{"utf-8", "GBK"} {
		t.Run(cs, func(t *testing.T) {
			body, err := s.Notify(tradeFields, cs)
			if err != nil {
				t.Fatal(err)
			}
			got := checkNotify(t, s, body, cs)
			for k, v := range tradeFields {
				if got.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.Get(k), v)
				}
			}
			if got.Get("notify_type") != "trade_status_sync" || got.Get("app_id") != s.AppID() || got.Get("charset") != cs ||
				got.Get("sign_type") != "RSA2" || got.Get("notify_time") != "2026-03-01 09:30:00" || len(got.Get("notify_id")) != 32 {
				t.Fatalf("common fields %v", got)
			}
			if cs == "GBK" && strings.Contains(string(body), url.QueryEscape("大乐透")) {
				t.Fatal("GBK notification holds UTF-8")
			}
		})
	}
}

func TestNotifySignKeepsPlus(t *testing.T) {
	s := newServer(t)
	plus := false
	for i := 0; i < 20 && !plus; i++ {
		f := map[string]string{"out_trade_no": "N" + strings.Repeat("1", i), "trade_status": "TRADE_SUCCESS"}
		body, err := s.Notify(f, "utf-8")
		if err != nil {
			t.Fatal(err)
		}
		form := checkNotify(t, s, body, "utf-8") // a '+' read as a space would not verify
		plus = strings.Contains(form.Get("sign"), "+")
	}
	if !plus {
		t.Fatal("no signature with a '+' in 20 tries")
	}
}

func TestNotifyErrors(t *testing.T) {
	s := newServer(t)
	if _, err := s.Notify(map[string]string{"subject": "😀"}, "GBK"); err == nil || !strings.Contains(err.Error(), "subject") {
		t.Fatalf("emoji in GBK: %v", err)
	}
	if _, err := s.Notify(nil, "big5"); err == nil {
		t.Fatal("big5 accepted")
	}
}

func TestNotifyAfterRotation(t *testing.T) {
	s := newServer(t, WithCertMode())
	if err := s.RotateAlipayCert(rootKey); err != nil {
		t.Fatal(err)
	}
	body, err := s.Notify(tradeFields, "utf-8")
	if err != nil {
		t.Fatal(err)
	}
	checkNotify(t, s, body, "utf-8") // AlipayPublicKey is the new key
	if !s.AlipayPublicKey().Equal(&rootKey.PublicKey) {
		t.Fatal("AlipayPublicKey not rotated")
	}
}
