package alipaytest

import (
	"encoding/json"
	"strings"
	"testing"

	"posagent/internal/alipay"
)

// passBiz is a pass.instance.add biz_content with tpl_params and
// recognition_info as JSON strings, as the page requires.
func passBiz(t testing.TB, tpl string, params map[string]string) map[string]any {
	return map[string]any{
		"tpl_id":           tpl,
		"tpl_params":       bizJSON(t, params),
		"recognition_type": "1",
		"recognition_info": `{"partner_id":"2088102114633762","out_trade_no":"1234567"}`,
	}
}

func addPass(t testing.TB, s *Server, biz map[string]any) *answer {
	t.Helper()
	return s.do(t, call{method: alipay.MethodPassInstanceAdd, biz: bizJSON(t, biz)})
}

func passResultOf(t testing.TB, a *answer) alipay.PassResult {
	t.Helper()
	var r alipay.PassResult
	if err := json.Unmarshal([]byte(a.str("result")), &r); err != nil {
		t.Fatalf("result %q: %v", a.str("result"), err)
	}
	return r
}

func TestPassInstanceAdd(t *testing.T) {
	s := newServer(t)
	a := addPass(t, s, passBiz(t, "f038871a4b1151e8038bb9277c3d52e3", map[string]string{"title": "券标题", "serialNumber": "T1-0001"}))
	s.business(t, a, alipay.CodeSuccess, "")
	if a.str("success") != "true" {
		t.Fatalf("success %q", a.str("success"))
	}
	r := passResultOf(t, a)
	if r.SerialNumber != "T1-0001" || r.PassID == "" || r.Operate != "ADD" || r.ErrorCode != "SUCCESS" || r.ErrorMsg != "处理成功" {
		t.Fatalf("result %+v", r)
	}
	ps := s.Passes()
	if len(ps) != 1 || ps[0].PassID != r.PassID || ps[0].TplParams["title"] != "券标题" || ps[0].Requests != 1 ||
		ps[0].RecognitionInfo != (alipay.RecognitionInfo{PartnerID: "2088102114633762", OutTradeNo: "1234567"}) {
		t.Fatalf("passes %+v", ps)
	}
}

func TestPassIdempotentOnSerialNumber(t *testing.T) {
	s := newServer(t)
	biz := passBiz(t, "tpl", map[string]string{"serialNumber": "T1-0002"})
	first := passResultOf(t, addPass(t, s, biz))
	again := passResultOf(t, addPass(t, s, biz))
	if first.PassID != again.PassID {
		t.Fatalf("same serialNumber, passes %s and %s", first.PassID, again.PassID)
	}
	other := passResultOf(t, addPass(t, s, passBiz(t, "tpl", map[string]string{"serialNumber": "T1-0003"})))
	if other.PassID == first.PassID {
		t.Fatalf("another serialNumber got the same pass %s", other.PassID)
	}
	ps := s.Passes()
	if len(ps) != 2 || ps[0].Requests != 2 || ps[1].Requests != 1 {
		t.Fatalf("passes %+v", ps)
	}
}

func TestPassRules(t *testing.T) {
	s := newServer(t)
	s.AddTemplate("tpl-coupon", "title", "amount")
	good := func() map[string]any {
		return passBiz(t, "tpl-coupon", map[string]string{"title": "满10减2", "amount": "2.00", "serialNumber": "S-" + t.Name()})
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	padded := func(n int) string { // tpl_params of exactly n characters
		const head, tail = `{"title":"x","amount":"1","serialNumber":"S","pad":"`, `"}`
		return head + long(n-len(head)-len(tail)) + tail
	}
	for _, tt := range []struct {
		name   string
		change func(m map[string]any)
		sub    string
	}{
		{"valid", func(map[string]any) {}, ""},
		{"no tpl_id", func(m map[string]any) { delete(m, "tpl_id") }, alipay.SubPassParamIsNull},
		{"no tpl_params", func(m map[string]any) { delete(m, "tpl_params") }, alipay.SubPassParamIsNull},
		{"no recognition_type", func(m map[string]any) { delete(m, "recognition_type") }, alipay.SubPassParamIsNull},
		{"no recognition_info", func(m map[string]any) { delete(m, "recognition_info") }, alipay.SubPassParamIsNull},
		{"recognition_type 2", func(m map[string]any) { m["recognition_type"] = "2" }, alipay.SubPassRecognitionType},
		{"tpl_params an object, not a string", func(m map[string]any) {
			m["tpl_params"] = map[string]string{"title": "x", "amount": "1", "serialNumber": "S"}
		}, alipay.SubPassParamsFormatError},
		{"tpl_params not JSON", func(m map[string]any) { m["tpl_params"] = "{title:" }, alipay.SubPassParamsFormatError},
		{"recognition_info not JSON", func(m map[string]any) { m["recognition_info"] = "partner" }, alipay.SubPassParamsFormatError},
		{"recognition_info without partner_id", func(m map[string]any) { m["recognition_info"] = `{"out_trade_no":"1"}` }, alipay.SubPassParamIsNull},
		{"missing template variable", func(m map[string]any) {
			m["tpl_params"] = bizJSON(t, map[string]string{"title": "x", "serialNumber": "S"})
		}, alipay.SubPassParamIsNull},
		{"null template variable", func(m map[string]any) {
			m["tpl_params"] = `{"title":"x","amount":null,"serialNumber":"S"}`
		}, alipay.SubPassParamIsNull},
		{"no serialNumber", func(m map[string]any) {
			m["tpl_params"] = bizJSON(t, map[string]string{"title": "x", "amount": "1"})
		}, alipay.SubPassParamIsNull},
		{"not GBK", func(m map[string]any) {
			m["tpl_params"] = bizJSON(t, map[string]string{"title": "优惠😀", "amount": "1", "serialNumber": "S"})
		}, alipay.SubPassCharNotGBK},
		{"unknown template", func(m map[string]any) { m["tpl_id"] = "tpl-other" }, alipay.SubPassParamsValueInvalid},
		{"tpl_id 1000", func(m map[string]any) { m["tpl_id"] = long(1000) }, alipay.SubPassParamsValueInvalid},
		{"recognition_type 1000", func(m map[string]any) { m["recognition_type"] = long(1000) }, alipay.SubPassParamsValueInvalid},
		{"recognition_info 1000", func(m map[string]any) {
			const head, tail = `{"partner_id":"2088","out_trade_no":"`, `"}`
			m["recognition_info"] = head + long(1000-len(head)-len(tail)) + tail
		}, alipay.SubPassParamsValueInvalid},
		{"tpl_params 100000", func(m map[string]any) {
			m["tpl_params"] = padded(100000)
		}, alipay.SubPassParamsValueInvalid},
		{"tpl_params 99999", func(m map[string]any) {
			m["tpl_params"] = padded(99999)
		}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := good()
			tt.change(m)
			a := addPass(t, s, m)
			code := alipay.CodeSuccess
			if tt.sub != "" {
				code = alipay.CodeBusinessFailed
			}
			s.business(t, a, code, tt.sub)
		})
	}
	for name, biz := range map[string]string{"no biz_content": "", "not JSON": "{"} {
		t.Run(name, func(t *testing.T) {
			s.business(t, s.do(t, call{method: alipay.MethodPassInstanceAdd, biz: biz}), alipay.CodeBusinessFailed, alipay.SubPassParamsFormatError)
		})
	}
}

func TestPassAnyTemplateUntilOneIsRegistered(t *testing.T) {
	s := newServer(t)
	s.business(t, addPass(t, s, passBiz(t, "anything", map[string]string{"serialNumber": "A"})), alipay.CodeSuccess, "")
	s.AddTemplate("registered")
	s.business(t, addPass(t, s, passBiz(t, "anything", map[string]string{"serialNumber": "B"})), alipay.CodeBusinessFailed, alipay.SubPassParamsValueInvalid)
	s.business(t, addPass(t, s, passBiz(t, "registered", map[string]string{"serialNumber": "C"})), alipay.CodeSuccess, "")
}

func TestPassErrorsInResult(t *testing.T) {
	s := newServer(t, WithPassErrorsInResult())
	m := passBiz(t, "tpl", map[string]string{"serialNumber": "S1"})
	m["recognition_type"] = "2"
	a := addPass(t, s, m)
	s.business(t, a, alipay.CodeSuccess, "")
	r := passResultOf(t, a)
	if a.str("success") != "false" || r.ErrorCode != alipay.SubPassRecognitionType || r.SerialNumber != "S1" || r.PassID != "" || len(s.Passes()) != 0 {
		t.Fatalf("success %q result %+v", a.str("success"), r)
	}
}
