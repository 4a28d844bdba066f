package alipay

import (
	"crypto/rsa"
	"errors"
	"net/url"
	"sort"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

const fundBillList = `[{"amount":"50.00","fundChannel":"ALIPAYACCOUNT"},{"amount":"38.88","fundChannel":"PCREDIT"}]`

// notifyParams is a trade_status_sync notification for the test app: the
// page's example with its "null" placeholders filled in.
func notifyParams() map[string]string {
	return map[string]string{
		"notify_type": "trade_status_sync", "notify_id": "91722adff935e8cfa58b3aabf4dead6ibe",
		"notify_time": "2017-02-16 21:46:15", "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
		"trade_no": "2013112011001004330000121536", "app_id": "2014072300007148",
		"out_trade_no": "6823789339978248", "seller_id": "2088101106499364", "trade_status": TradeSuccess,
		"total_amount": "88.88", "receipt_amount": "88.88", "invoice_amount": "88.88", "buyer_pay_amount": "88.88",
		"point_amount": "0.00", "refund_fee": "", "subject": "大乐透", "body": "Iphone6 16G",
		"gmt_create": "2017-02-16 21:46:10", "gmt_payment": "2017-02-16 21:46:15",
		"buyer_id": "2088102122524333", "fund_bill_list": fundBillList, "buyer_logon_id": "159****5620",
		"passback_params":     "merchantBizType%3d3C%26merchantBizNo%3d2016010101111",
		"voucher_detail_list": `[{"amount":"0.20","merchantContribute":"0.00","name":"5折券","otherContribute":"0.20","type":"ALIPAY_DISCOUNT_VOUCHER","memo":"学生专用优惠"}]`,
		"mdiscount_amount":    "88.88", "discount_amount": "88.88", "charge_amount": "8.88",
		"charge_flags": "bluesea_1", "settlement_id": "2018101610032004620239146945",
	}
}

// signNotification signs params as Alipay does and returns the sign.
func signNotification(t testing.TB, key *rsa.PrivateKey, params map[string]string) string {
	t.Helper()
	sig, err := Sign([]byte(CanonicalString(params, "sign", "sign_type")), key, RSA2)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// formBody encodes params as a form in a fixed order; raw names parameters
// whose value goes out as is, unencoded.
func formBody(params map[string]string, raw ...string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=")
		if contains(raw, k) {
			b.WriteString(params[k])
		} else {
			b.WriteString(url.QueryEscape(params[k]))
		}
	}
	return b.String()
}

// signWithPlus returns params signed, re-signing with growing notify_id until
// the signature holds a '+', so the '+' handling is always exercised.
func signWithPlus(t testing.TB, key *rsa.PrivateKey, params map[string]string) {
	t.Helper()
	for i := 0; ; i++ {
		params["sign"] = signNotification(t, key, params)
		if strings.Contains(params["sign"], "+") {
			return
		}
		params["notify_id"] += "x"
	}
}

func TestVerifyNotification(t *testing.T) {
	g := newTestGateway(t)
	c := g.client()
	params := notifyParams()
	signWithPlus(t, g.key, params)

	n, err := c.VerifyNotification([]byte(formBody(params)))
	if err != nil {
		t.Fatal(err)
	}
	if n.FundBillList != fundBillList || n.TotalAmount != "88.88" || n.PointAmount != "0.00" || n.Subject != "大乐透" ||
		n.GmtPayment != "2017-02-16 21:46:15" || n.TradeStatus != TradeSuccess || n.AppID != "2014072300007148" ||
		n.PassbackParams != "merchantBizType%3d3C%26merchantBizNo%3d2016010101111" || n.SettlementID != "2018101610032004620239146945" ||
		n.ChargeFlags != "bluesea_1" || n.NotifyType != "trade_status_sync" || n.VoucherDetailList != params["voucher_detail_list"] {
		t.Errorf("notification %+v", n)
	}
	for k, v := range params {
		if n.Params[k] != v {
			t.Errorf("Params[%s] = %q, want %q", k, n.Params[k], v)
		}
	}

	// The common broken sender: sign not url-encoded, its '+' raw.
	if _, err := c.VerifyNotification([]byte(formBody(params, "sign"))); err != nil {
		t.Errorf("raw '+' in sign: %v", err)
	}
	// A relay that turned the '+' into a space, raw or encoded.
	for _, space := range []string{" ", "%20"} {
		mangled := strings.Replace(formBody(params, "sign"), "sign="+params["sign"], "sign="+strings.ReplaceAll(params["sign"], "+", space), 1)
		if _, err := c.VerifyNotification([]byte(mangled)); err != nil {
			t.Errorf("'+' as %q in sign: %v", space, err)
		}
	}
	// A trailing newline, as some frameworks hand the body over.
	if _, err := c.VerifyNotification([]byte(formBody(params) + "\r\n")); err != nil {
		t.Errorf("trailing newline: %v", err)
	}
}

func TestVerifyNotificationRejects(t *testing.T) {
	g := newTestGateway(t)
	c := g.client()
	signed := func(mod func(p map[string]string)) map[string]string {
		p := notifyParams()
		if mod != nil {
			mod(p)
		}
		signWithPlus(t, g.key, p)
		return p
	}
	good := signed(nil)
	tamper := func(k, v string) string {
		p := signed(nil)
		p[k] = v
		return formBody(p)
	}
	tests := []struct {
		name string
		body string
		want error // nil: any error
	}{
		{"amount changed", tamper("total_amount", "88.89"), ErrSignature},
		{"fund_bill_list re-marshalled", tamper("fund_bill_list", strings.ReplaceAll(fundBillList, ",", ", ")), ErrSignature},
		{"empty parameter filled", tamper("refund_fee", "0.00"), ErrSignature},
		{"subject changed", tamper("subject", "大乐透!"), ErrSignature},
		{"signed by another key", formBody(func() map[string]string {
			p := notifyParams()
			p["sign"] = signNotification(t, testAppKey(t), p)
			return p
		}()), ErrSignature},
		{"sign_type RSA", tamper("sign_type", "RSA"), ErrSignature},
		{"unsigned", tamper("sign", ""), ErrUnsigned},
		{"duplicate parameter", formBody(good) + "&total_amount=88.88", ErrMalformed},
		{"bad escape", formBody(good) + "&x=%zz", ErrMalformed},
		{"empty body", "", ErrMalformed},
		{"unknown charset", tamper("charset", "latin1"), ErrMalformed},
		{"another app", formBody(signed(func(p map[string]string) { p["app_id"] = "2014072300007149" })), nil},
		{"page example", "notify_type=trade_status_sync&notify_id=91722adff935e8cfa58b3aabf4dead6ibe&notify_time=2017-02-16 21:46:15&sign_type=RSA2&sign=WcO+t3D8Kg71dTlKwN7r9PzUOXeaBJwp8/FOuSxcuSkXsoVYxBpsAidprySCjHCjmaglNcjoKJQLJ28/Asl93joTW39FX6i07lXhnbPknezAlwmvPdnQuI01HZsZF9V1i6ggZjBiAd5lG8bZtTxZOJ87ub2i9GuJ3Nr/NUc9VeY=&trade_no=null&app_id=null&out_trade_no=null&total_amount=null", ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := c.VerifyNotification([]byte(tt.body))
			if n != nil || err == nil {
				t.Fatalf("accepted: %+v", n)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Method != NotifyTradeStatusSync || Retryable(err) {
				t.Fatalf("got %v (%T), want a final *Error of %s", err, err, NotifyTradeStatusSync)
			}
		})
	}
}

// TestVerifyNotificationGBK: a GBK notification is signed over GBK bytes and
// verified on them before it is transcoded.
func TestVerifyNotificationGBK(t *testing.T) {
	g := newTestGateway(t)
	c := g.client()
	enc := simplifiedchinese.GBK.NewEncoder()
	params := notifyParams()
	params["charset"] = "GBK"
	gbk := map[string]string{}
	for k, v := range params {
		gbk[k], _ = enc.String(v)
	}
	signWithPlus(t, g.key, gbk)
	n, err := c.VerifyNotification([]byte(formBody(gbk)))
	if err != nil {
		t.Fatal(err)
	}
	if n.Subject != "大乐透" || !strings.Contains(n.VoucherDetailList, "学生专用优惠") {
		t.Errorf("not transcoded: subject %q, voucher_detail_list %s", n.Subject, n.VoucherDetailList)
	}
	// Signed over the UTF-8 text but sent in GBK: not what Alipay signed.
	params["sign"] = signNotification(t, g.key, params)
	gbk["sign"] = params["sign"]
	if _, err := c.VerifyNotification([]byte(formBody(gbk))); !errors.Is(err, ErrSignature) {
		t.Errorf("signature over transcoded text: got %v, want ErrSignature", err)
	}
}
