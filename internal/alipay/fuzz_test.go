package alipay

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// fuzzClients are a UTF-8 and a GBK client trusting the test Alipay key.
func fuzzClients(f *testing.F) []*Client {
	var cs []*Client
	for _, charset := range []string{"utf-8", "GBK"} {
		c, err := NewClient(Config{
			GatewayURL:      "http://127.0.0.1:1/gateway.do",
			AppID:           "2014072300007148",
			PrivateKey:      testAppKey(f),
			AlipayPublicKey: &testAlipayKey(f).PublicKey,
			Charset:         charset,
			Now:             func() time.Time { return testNow },
		})
		if err != nil {
			f.Fatal(err)
		}
		cs = append(cs, c)
	}
	return cs
}

// FuzzParseResponse feeds arbitrary bodies to the response parser. It must
// not panic, and whatever it accepts must be a JSON object whose envelope
// carries a signature that verifies with Alipay's key over the raw bytes.
// Seeds: testdata/fuzz/FuzzParseResponse and the bodies below.
func FuzzParseResponse(f *testing.F) {
	ak := testAlipayKey(f)
	f.Add(signedBody(f, ak, MethodTwostageCommonUse, pageTwostageOK))
	f.Add(signedBody(f, ak, MethodTwostageCommonUse, `{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}`))
	f.Add([]byte(`{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature"}}`))
	f.Add([]byte(`{"alipay_user_twostage_common_use_response":{"code":"10000"},"sign":"AAAA","alipay_cert_sn":"x"}`))
	f.Add([]byte("<html>portal</html>"))
	clients := fuzzClients(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range clients {
			obj, err := c.parseResponse(ctx, MethodTwostageCommonUse, 200, body)
			if err != nil {
				if obj != nil {
					t.Fatalf("an object with error %v", err)
				}
				continue
			}
			if !json.Valid(obj) || obj[0] != '{' {
				t.Fatalf("accepted a response object that is not JSON: %q", obj)
			}
			env, err := scanEnvelope(body, ResponseKey(MethodTwostageCommonUse), c.gbk)
			if err != nil || !env.hasSig {
				t.Fatalf("accepted a body whose envelope is bad or unsigned (%v): %q", err, body)
			}
			if err := Verify(env.value, env.sign, c.alipayKey, RSA2); err != nil {
				t.Fatalf("accepted a body that does not verify: %q", body)
			}
		}
	})
}

// FuzzVerifyNotification feeds arbitrary form bodies to notification
// verification. It must not panic, and a notification it accepts must be for
// this app and signed by Alipay's key. Seeds: testdata/fuzz/FuzzVerifyNotification.
func FuzzVerifyNotification(f *testing.F) {
	ak := testAlipayKey(f)
	p := notifyParams()
	p["sign"] = signNotification(f, ak, p)
	f.Add([]byte(formBody(p)))
	f.Add([]byte(formBody(p, "sign")))
	f.Add([]byte("sign=a+b%2Bc&sign_type=RSA2&app_id=2014072300007148&x=%E5%A4%A7"))
	clients := fuzzClients(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range clients {
			n, err := c.VerifyNotification(body)
			if err != nil {
				if n != nil {
					t.Fatalf("a notification with error %v", err)
				}
				continue
			}
			if n.AppID != c.appID || n.Params["sign"] == "" {
				t.Fatalf("accepted %+v", n)
			}
		}
	})
}
