package alipaytest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"posagent/internal/alipay"
)

// FuzzServeHTTP feeds the gateway arbitrary form bodies and charsets: it
// must answer every one with one well-formed JSON envelope, never panic.
func FuzzServeHTTP(f *testing.F) {
	testKeys(f)
	s := NewUnstartedServer(WithAppKey(appKey), WithAlipayKey(alipayKey), WithEncryptKey(aesKey))
	defer s.Close()
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	valid := s.params(f, call{method: alipay.MethodTwostageCommonUse,
		biz: bizJSON(f, map[string]string{"dynamic_id": s.IssueCode("2088000000000001"), "sence_no": "F1", "pay_pid": payPID})})
	f.Add("utf-8", valid.Encode())
	f.Add("GBK", s.params(f, call{method: alipay.MethodPassInstanceAdd, charset: "GBK",
		biz: bizJSON(f, passBiz(f, "券", map[string]string{"serialNumber": "F2"}))}).Encode())
	f.Add("utf-8", s.params(f, call{method: alipay.MethodAgreementAuthConfirm, aes: aesKey, biz: `{"agreement_no":"1"}`}).Encode())
	f.Add("", "method=alipay.user.twostage.common.use&app_id="+s.AppID())
	f.Add("gbk", "biz_content=%ff%fe&sign=%2B%2F")
	f.Add("utf-8", "a=%zz;b")
	f.Fuzz(func(t *testing.T, charset, body string) {
		target := "/gateway.do"
		if charset != "" {
			target += "?" + url.Values{"charset": {charset}}.Encode()
		}
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		out := w.Body.Bytes()
		if strings.Contains(w.Header().Get("Content-Type"), "GBK") {
			d, _ := decodeText(string(out), "GBK")
			out = []byte(d)
		}
		var env map[string]json.RawMessage
		if err := json.Unmarshal(out, &env); err != nil {
			t.Fatalf("answer not JSON: %v\n%s", err, w.Body.Bytes())
		}
		keys := 0
		for k := range env {
			if strings.HasSuffix(k, "_response") {
				keys++
			}
		}
		if keys != 1 || !bytes.HasPrefix(out, []byte(`{"`)) {
			t.Fatalf("answer with %d response keys: %s", keys, out)
		}
	})
}
