package alipaytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"posagent/internal/alipay"
)

// Pass is a coupon (Alipass instance) the server issued.
type Pass struct {
	PassID          string
	SerialNumber    string
	TplID           string
	TplParams       map[string]string // non-string values as their JSON text
	RecognitionType string
	RecognitionInfo alipay.RecognitionInfo
	At              time.Time
	// Requests counts the requests answered with this pass: more than one
	// means the same serialNumber came again (a retry) and got the same pass.
	Requests int
}

// AddTemplate registers a pass template and the template variables a pass
// of it must fill. While no template is registered, any tpl_id is accepted
// with any variables; once one is, an unknown tpl_id answers
// KP.AE_ALIPASS_PARAMS_VALUE_INVAILD.
func (s *Server) AddTemplate(tplID string, requiredVars ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.templates[tplID] = append([]string(nil), requiredVars...)
}

// Passes returns the passes issued, oldest first.
func (s *Server) Passes() []Pass {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Pass, len(s.passes))
	for i, p := range s.passes {
		out[i] = *p
		out[i].TplParams = make(map[string]string, len(p.TplParams))
		for k, v := range p.TplParams {
			out[i].TplParams[k] = v
		}
	}
	return out
}

// passResult is the "result" string of alipay.pass.instance.add.
func passResult(serial, passID, errorCode, errorMsg string) string {
	var buf bytes.Buffer
	appendJSON(&buf, object{
		{"serialNumber", serial}, {"passId", passID}, {"operate", alipay.PassOperateAdd},
		{"errorCode", errorCode}, {"errorMsg", errorMsg},
	})
	return buf.String()
}

// passInstanceAdd is alipay.pass.instance.add. The pass is identified by
// tpl_params.serialNumber: the same serialNumber again answers the pass
// already issued and never makes a second one.
func (s *Server) passInstanceAdd(obj map[string]any, bizErr error) *reply {
	const method = alipay.MethodPassInstanceAdd
	serial := ""
	fail := func(sub, detail string) *reply {
		msg := subMsg(sub, detail)
		if s.passErrorsInResult {
			return success(method, field{"success", "false"}, field{"result", passResult(serial, "", sub, msg)})
		}
		return failure(method, alipay.CodeBusinessFailed, sub, msg)
	}
	if bizErr != nil {
		return fail(alipay.SubPassParamsFormatError, bizErr.Error())
	}
	fields := map[string]string{}
	for _, p := range []struct {
		name string
		max  int
	}{{"tpl_id", 999}, {"tpl_params", 99999}, {"recognition_type", 999}, {"recognition_info", 999}} {
		v, problem := bizString(obj, p.name)
		switch {
		case strings.HasSuffix(problem, "not a string"):
			return fail(alipay.SubPassParamsFormatError, problem+" (it travels as a JSON string inside biz_content)")
		case problem != "":
			return fail(alipay.SubPassParamIsNull, problem)
		case runes(v) > p.max:
			return fail(alipay.SubPassParamsValueInvalid, fmt.Sprintf("%s is %d characters, at most %d", p.name, runes(v), p.max))
		}
		fields[p.name] = v
	}
	params, err := stringObject(fields["tpl_params"])
	if err != nil {
		return fail(alipay.SubPassParamsFormatError, "tpl_params: "+err.Error())
	}
	serial = params["serialNumber"]
	if fields["recognition_type"] != alipay.RecognitionTypeOrder {
		return fail(alipay.SubPassRecognitionType, "recognition_type must be "+alipay.RecognitionTypeOrder)
	}
	info, err := stringObject(fields["recognition_info"])
	if err != nil {
		return fail(alipay.SubPassParamsFormatError, "recognition_info: "+err.Error())
	}
	for _, k := range []string{"partner_id", "out_trade_no"} {
		if info[k] == "" {
			return fail(alipay.SubPassParamIsNull, "recognition_info."+k+" is missing")
		}
	}
	texts := []string{fields["tpl_id"], info["partner_id"], info["out_trade_no"]}
	for k, v := range params {
		texts = append(texts, k, v)
	}
	for _, t := range texts {
		if !gbkOK(t) {
			return fail(alipay.SubPassCharNotGBK, fmt.Sprintf("%q", t))
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	required, registered := s.templates[fields["tpl_id"]]
	if !registered && len(s.templates) > 0 {
		return fail(alipay.SubPassParamsValueInvalid, "tpl_id "+fields["tpl_id"]+" does not exist")
	}
	for _, v := range required {
		if params[v] == "" {
			return fail(alipay.SubPassParamIsNull, "tpl_params."+v+" is missing")
		}
	}
	if serial == "" {
		return fail(alipay.SubPassParamIsNull, "tpl_params.serialNumber is missing")
	}
	p, ok := s.bySerial[serial]
	if !ok {
		s.seq++
		p = &Pass{
			PassID:          fmt.Sprintf("20991%011d", s.seq),
			SerialNumber:    serial,
			TplID:           fields["tpl_id"],
			TplParams:       params,
			RecognitionType: fields["recognition_type"],
			RecognitionInfo: alipay.RecognitionInfo{PartnerID: info["partner_id"], OutTradeNo: info["out_trade_no"]},
			At:              s.now(),
		}
		s.passes = append(s.passes, p)
		s.bySerial[serial] = p
	}
	p.Requests++
	return success(method, field{"success", "true"},
		field{"result", passResult(p.SerialNumber, p.PassID, alipay.PassResultSuccess, "处理成功")})
}

// stringObject reads a JSON object whose values are read as strings:
// strings as they are, null as empty, other values as their JSON text.
func stringObject(text string) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if raw == nil {
		return nil, fmt.Errorf("null, want a JSON object")
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		var s *string
		if err := json.Unmarshal(v, &s); err == nil {
			if s != nil {
				out[k] = *s
			} // null: no value
			continue
		}
		out[k] = string(bytes.TrimSpace(v))
	}
	return out, nil
}
