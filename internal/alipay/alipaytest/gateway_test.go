package alipaytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"posagent/internal/alipay"
)

var sences atomic.Int64

// twostageCall is a valid decode of a fresh code with a fresh sence_no.
func twostageCall(t testing.TB, s *Server) call {
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	sence := fmt.Sprintf("G-%d", sences.Add(1))
	return call{method: alipay.MethodTwostageCommonUse,
		biz: bizJSON(t, map[string]string{"dynamic_id": s.IssueCode("2088000000000001"), "sence_no": sence, "pay_pid": payPID})}
}

func TestCommonParameters(t *testing.T) {
	clock := newClock()
	s := newServer(t, WithClock(clock.Now))
	utc := clock.Now().UTC().Format(timestampLayout)
	for _, tt := range []struct {
		name      string
		set       map[string]string
		code, sub string
		unsigned  bool // error_response
	}{
		{"valid", nil, alipay.CodeSuccess, "", false},
		{"no method", map[string]string{"method": ""}, "40001", "isv.missing-method", true},
		{"no app_id", map[string]string{"app_id": ""}, "40001", "isv.missing-app-id", true},
		{"another app_id", map[string]string{"app_id": "2021000000000999"}, "40002", "isv.invalid-app-id", true},
		{"unknown method", map[string]string{"method": "alipay.trade.refund"}, "40002", "isv.invalid-method", true},
		{"app pay is not a gateway call", map[string]string{"method": alipay.MethodTradeAppPay}, "40002", "isv.invalid-method", true},
		{"no sign_type", map[string]string{"sign_type": ""}, "40001", "isv.missing-signature-type", false},
		{"sign_type MD5", map[string]string{"sign_type": "MD5"}, "40002", "isv.invalid-signature-type", false},
		{"sign_type RSA for an RSA2 app", map[string]string{"sign_type": "RSA"}, "40002", "isv.missing-signature-config", false},
		{"no sign", map[string]string{"sign": ""}, "40001", "isv.missing-signature", false},
		{"no timestamp", map[string]string{"timestamp": ""}, "40001", "isv.missing-timestamp", false},
		{"no version", map[string]string{"version": ""}, "40001", "isv.missing-version", false},
		{"timestamp in RFC 3339", map[string]string{"timestamp": clock.Now().Format(time.RFC3339)}, "40002", "isv.invalid-timestamp", false},
		{"timestamp in UTC, not Beijing time", map[string]string{"timestamp": utc}, "40002", "isv.invalid-timestamp", false},
		{"timestamp 14 minutes late", map[string]string{"timestamp": clock.Now().Add(-14 * time.Minute).Format(timestampLayout)}, alipay.CodeSuccess, "", false},
		{"version 2.0", map[string]string{"version": "2.0"}, "40002", "isv.invalid-parameter", false},
		{"format XML", map[string]string{"format": "XML"}, "40002", "isv.invalid-format", false},
		{"format json", map[string]string{"format": "json"}, alipay.CodeSuccess, "", false},
		{"no format", map[string]string{"format": ""}, alipay.CodeSuccess, "", false},
		{"charset big5", map[string]string{"charset": "big5"}, "40002", "isv.invalid-charset", false},
		{"app_auth_token", map[string]string{"app_auth_token": "202603BBe1e2c0a7d5c34b0a8d8c4c34f7a81X00"}, alipay.CodeSuccess, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := twostageCall(t, s)
			c.set = tt.set
			a := s.do(t, c)
			if tt.unsigned {
				if a.key != "error_response" || a.sign != "" {
					t.Fatalf("want an unsigned error_response: %s", a.body)
				}
				if a.str("code") != tt.code || a.str("sub_code") != tt.sub {
					t.Fatalf("got %s/%s, want %s/%s", a.str("code"), a.str("sub_code"), tt.code, tt.sub)
				}
				return
			}
			if a.key != "alipay_user_twostage_common_use_response" {
				t.Fatalf("key %s", a.key)
			}
			s.business(t, a, tt.code, tt.sub)
		})
	}
}

func TestSignatureRejected(t *testing.T) {
	s := newServer(t)
	for _, tt := range []struct {
		name string
		c    func(c call) call
	}{
		{"signed with another key", func(c call) call { c.key = alipayKey; return c }},
		{"biz_content changed after signing", func(c call) call {
			c.tamper = func(f url.Values) { f.Set("biz_content", strings.Replace(f.Get("biz_content"), "G-", "H-", 1)) }
			return c
		}},
		{"sign_type left out of the signed string", func(c call) call {
			c.tamper = func(f url.Values) {
				p := map[string]string{}
				for k := range f {
					p[k] = f.Get(k)
				}
				sig, err := alipay.Sign([]byte(alipay.CanonicalString(p, "sign", "sign_type")), appKey, alipay.RSA2)
				if err != nil {
					t.Fatal(err)
				}
				f.Set("sign", sig)
			}
			return c
		}},
		{"sign not base64", func(c call) call { c.tamper = func(f url.Values) { f.Set("sign", "not*base64") }; return c }},
		{"parameter added after signing", func(c call) call { c.tamper = func(f url.Values) { f.Set("notify_url", "http://x") }; return c }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := s.do(t, tt.c(twostageCall(t, s)))
			s.business(t, a, "40002", alipay.SubInvalidSignature)
			msg := a.str("sub_msg")
			if !strings.Contains(msg, "网关生成的验签字符串为：app_id="+s.AppID()+"&amp;biz_content={&quot;dynamic_id&quot;") ||
				!strings.Contains(msg, "&amp;sign_type=RSA2&amp;") {
				t.Fatalf("sub_msg should show the canonical string the gateway verified: %s", msg)
			}
		})
	}
	if n := len(s.Passes()); n != 0 {
		t.Fatal("rejected requests must not act")
	}
}

func TestSignTypeRSA(t *testing.T) {
	s := newServer(t, WithSignType(alipay.RSA))
	a := s.do(t, twostageCall(t, s))
	s.business(t, a, alipay.CodeSuccess, "") // verifies with SHA1withRSA
	if err := alipay.Verify(a.value, a.sign, s.AlipayPublicKey(), alipay.RSA2); err == nil {
		t.Fatal("an RSA app's answer verified as RSA2")
	}
	c := twostageCall(t, s)
	c.set = map[string]string{"sign_type": "RSA2"}
	s.business(t, s.do(t, c), "40002", "isv.missing-signature-config")
}

func TestResponseEscapesSlashes(t *testing.T) {
	s := newServer(t)
	s.AddUser(User{UserID: "2088000000000001", Authorised: true, School: &alipay.HSchoolInfo{SchoolStdCode: "41/36", CampusNo: "2019&<02>"}})
	a := decode(t, s, s.IssueCode("2088000000000001"), "slash")
	s.business(t, a, alipay.CodeSuccess, "")
	if !strings.Contains(string(a.value), `"school_std_code":"41\/36"`) || !strings.Contains(string(a.value), `"campus_no":"2019&<02>"`) {
		t.Fatalf("value not written like the gateway: %s", a.value)
	}
	// A client that re-serializes the value before verifying fails, as it would against Alipay.
	var v any
	json.Unmarshal(a.value, &v)
	again, _ := json.Marshal(v)
	if alipay.Verify(again, a.sign, s.AlipayPublicKey(), alipay.RSA2) == nil {
		t.Fatal("re-serialized value verified: the escaping catches nothing")
	}
	if got := a.header.Get("Content-Type"); got != "text/html;charset=utf-8" {
		t.Fatalf("Content-Type %q", got)
	}
}

func TestGBK(t *testing.T) {
	s := newServer(t)
	a := s.do(t, call{method: alipay.MethodPassInstanceAdd, charset: "GBK",
		biz: bizJSON(t, passBiz(t, "券模板", map[string]string{"title": "满10元减2元·校园专享", "serialNumber": "GBK-1"}))})
	if got := a.header.Get("Content-Type"); got != "text/html;charset=GBK" {
		t.Fatalf("Content-Type %q", got)
	}
	s.business(t, a, alipay.CodeSuccess, "") // verified over the GBK bytes
	if strings.Contains(string(a.value), "处理成功") {
		t.Fatal("answer to a GBK request holds UTF-8")
	}
	if !strings.Contains(a.str("result"), "处理成功") {
		t.Fatalf("result %q", a.str("result"))
	}
	ps := s.Passes()
	if len(ps) != 1 || ps[0].TplID != "券模板" || ps[0].TplParams["title"] != "满10元减2元·校园专享" {
		t.Fatalf("passes %+v", ps)
	}
	reqs := s.Requests()
	if r := reqs[len(reqs)-1]; r.Charset != "GBK" || !strings.Contains(r.Params.Get("biz_content"), "校园专享") {
		t.Fatalf("recorded %+v", r)
	}

	// Error texts come back in GBK too.
	a = s.do(t, call{method: alipay.MethodTwostageCommonUse, charset: "gbk",
		biz: bizJSON(t, map[string]string{"dynamic_id": "280000000000000001", "sence_no": "收银台1", "pay_pid": payPID})})
	s.business(t, a, alipay.CodeBusinessFailed, alipay.SubIndexNotExist)
	if a.str("sub_msg") != "无法获取用户信息" {
		t.Fatalf("sub_msg %q", a.str("sub_msg"))
	}
}

func TestCharsetMismatch(t *testing.T) {
	s := newServer(t)
	// UTF-8 bytes sent as GBK: not valid GBK.
	c := twostageCall(t, s)
	c.charset = "GBK"
	c.tamper = func(f url.Values) { f.Set("biz_content", strings.Replace(f.Get("biz_content"), "G-", "\xff\xff", 1)) }
	s.business(t, s.do(t, c), "40002", "isv.invalid-charset")
	// GBK bytes sent as UTF-8.
	c = twostageCall(t, s)
	c.tamper = func(f url.Values) {
		f.Set("biz_content", strings.Replace(f.Get("biz_content"), "G-", string(encodeText("码", "GBK")), 1))
	}
	s.business(t, s.do(t, c), "40002", "isv.invalid-charset")
}

func TestCharsetDefault(t *testing.T) {
	s := newServer(t, WithCharset("GBK"))
	c := twostageCall(t, s)
	c.charset = "GBK"
	c.set = map[string]string{"charset": ""} // named nowhere: the server's default
	a := s.do(t, c)
	if a.header.Get("Content-Type") != "text/html;charset=GBK" {
		t.Fatalf("Content-Type %q", a.header.Get("Content-Type"))
	}
	s.business(t, a, alipay.CodeSuccess, "")
}

func TestRequestsRecorded(t *testing.T) {
	clock := newClock()
	s := newServer(t, WithClock(clock.Now))
	c := twostageCall(t, s)
	s.do(t, c)
	s.SetFault(alipay.MethodTwostageCommonUse, Fault{HTTPStatus: 502, Count: 1})
	s.do(t, c)
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != alipay.MethodTwostageCommonUse || r.Params.Get("app_id") != s.AppID() || r.Biz["dynamic_id"] == nil ||
		!r.At.Equal(clock.Now()) || r.Code != alipay.CodeSuccess || r.Fault != "" || r.Charset != "utf-8" {
		t.Fatalf("recorded %+v", r)
	}
	if r := reqs[1]; r.Fault != "http 502" || r.Code != "" {
		t.Fatalf("recorded %+v", r)
	}
}

func TestNotFound(t *testing.T) {
	s := newServer(t)
	resp, err := http.Get(strings.TrimSuffix(s.URL(), "gateway.do") + "other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
