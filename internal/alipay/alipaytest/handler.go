package alipaytest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"posagent/internal/alipay"
)

// MethodCertDownload is the gateway method that hands out Alipay's
// certificate by serial number; clients in certificate mode call it when a
// response names an alipay_cert_sn they do not know.
const MethodCertDownload = "alipay.open.app.alipaycert.download"

// beijing is the gateway's time zone: timestamps are Beijing time.
var beijing = time.FixedZone("CST", 8*60*60)

const timestampLayout = "2006-01-02 15:04:05"

// subMsgs are the gateway's texts for the sub codes it answers.
var subMsgs = map[string]string{
	alipay.SubInputIllegal:   "含有非法参数",
	alipay.SubDecodeFailed:   "业务异常解码失败",
	alipay.SubIndexNotExist:  "无法获取用户信息",
	alipay.SubSystemError:    "系统繁忙",
	alipay.SubIllegalCode:    "非法码值",
	alipay.SubCodeExpired:    "码已过期",
	alipay.SubUserUnAuth:     "用户未对该商户授权",
	alipay.SubSenceNoUnMatch: "重复解码请求，与第一次解码传递的sence_no不匹配",

	alipay.SubPassParamIsNull:        "参数值为null",
	alipay.SubPassRecognitionType:    "Alipass添加对象识别类型不识别",
	alipay.SubPassSystemError:        "系统异常",
	alipay.SubPassAppIDNotSupported:  "该appId在黑名单中，因而不支持发券",
	alipay.SubPassUserIDNotSupported: "发券的目标用户在黑名单中，不支持发券",
	alipay.SubPassParamsValueInvalid: "无效的参数传值",
	alipay.SubPassParamsFormatError:  "参数格式不正确",
	alipay.SubPassCharNotGBK:         "卡券传值中有非GBK的字符",

	alipay.SubValidateCodeTimesLimit:   "校验码验证超过次数限制",
	alipay.SubValidateCodeNotExist:     "校验码不存在",
	alipay.SubValidateCodeExpired:      "校验码超时",
	alipay.SubValidateCodeAnswerError:  "校验码错误",
	alipay.SubMerchantAgreementMissing: "商户协议不存在",
	alipay.SubMerchantStatusNotNormal:  "商户协议状态不正常",
	alipay.SubMerchantAgreementExpired: "商户协议已过期",
	alipay.SubUserAgreementNotNormal:   "用户协议状态不正常",
	alipay.SubUserAgreementExpired:     "用户协议已过期",
	alipay.SubRiskBalancePayClosed:     "用户账号余额支付功能关闭",
	alipay.SubRiskAccountFrozen:        "用户账户被冻结",
	alipay.SubInvalidParameter:         "参数有误",
	alipay.SubAgreementNotExist:        "用户协议不存在",
	alipay.SubAuthTokenNotExist:        "鉴权token不存在",

	alipay.SubUnknownError: "系统繁忙",
}

// subMsg is the gateway's text for a sub code, with what exactly is wrong.
func subMsg(sub, detail string) string {
	m := subMsgs[sub]
	if detail == "" {
		return m
	}
	if m == "" {
		return detail
	}
	return m + ": " + detail
}

// htmlEscaper escapes the way the gateway shows the canonical string in
// its invalid-signature message.
var htmlEscaper = strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;")

// ServeHTTP answers gateway requests at /gateway.do.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		drop(w)
		return
	}
	defer s.wg.Done()
	// The gateway's Date is its clock (WithClock): a client compares its
	// own with it, as `posagent doctor` does.
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	if r.URL.Path != "/gateway.do" {
		http.NotFound(w, r)
		return
	}
	if s.Down() { // a connection that slipped in as the gateway went down
		drop(w)
		return
	}
	in := parseRequest(r, s.charset)
	rec := Request{Method: in.get("method"), Params: in.params, At: s.now(), Charset: in.charset}
	f, faulty := s.takeFault(rec.Method)

	var rep *reply
	if faulty && f.Processed {
		rep = s.handle(in, &rec)
	}
	if faulty && !s.wait(r.Context(), f.Latency) {
		rec.Fault = "latency: client gone or server closed"
		s.record(rec)
		drop(w) // no answer, not net/http's empty 200
		return
	}
	latency := ""
	if faulty && f.Latency > 0 {
		latency = "latency"
	}
	if faulty && s.cut(w, f, &rec) {
		rec.Fault = faultNames(latency, rec.Fault)
		s.record(rec)
		return
	}
	if faulty {
		if fr := faultReply(rec.Method, f, &rec); fr != nil {
			if rep != nil {
				fr.encrypt = rep.encrypt
			}
			rep = fr
		}
	}
	if rep == nil {
		rep = s.handle(in, &rec)
	}
	if rep.lost {
		rec.Fault = faultNames(rec.Fault, "answer lost (amount rule)")
		s.record(rec)
		drop(w)
		return
	}
	badSign := faulty && f.BadSign
	if badSign {
		rec.Fault = faultNames(rec.Fault, "bad sign")
	}
	rec.Fault = faultNames(latency, rec.Fault)
	rec.Code, rec.SubCode = rep.code(), rep.subCode()
	s.record(rec)
	s.writeReply(w, rep, in.charset, badSign)
}

// MaxRecorded bounds Requests, so that a demo running for days does not
// grow without end: the oldest requests are forgotten first.
const MaxRecorded = 10000

func (s *Server) record(rec Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == MaxRecorded {
		s.requests = append(s.requests[:0], s.requests[1:]...)
	}
	s.requests = append(s.requests, rec)
}

// Requests returns what the server saw, oldest first (the last MaxRecorded).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// handle checks a request as the gateway does and carries it out. The order
// of the checks is the gateway's: the app and the method, the common
// parameters, the signature, then the business.
func (s *Server) handle(in *inbound, rec *Request) *reply {
	method := in.get("method")
	switch {
	case in.readErr != nil:
		return errorResponse(alipay.CodeInvalidParameter, "isv.invalid-parameter", in.readErr.Error())
	case method == "":
		return errorResponse(alipay.CodeMissingParameter, "isv.missing-method", "缺少方法名参数")
	case in.get("app_id") == "":
		return errorResponse(alipay.CodeMissingParameter, "isv.missing-app-id", "缺少appId参数")
	case in.get("app_id") != s.appID:
		return errorResponse(alipay.CodeInvalidParameter, "isv.invalid-app-id", "无效的AppID参数")
	case !known(method):
		return errorResponse(alipay.CodeInvalidParameter, "isv.invalid-method", "不存在的方法名")
	}
	bad := func(code, sub, msg string) *reply { return failure(method, code, sub, msg) }
	missing := func(sub, msg string) *reply { return bad(alipay.CodeMissingParameter, sub, msg) }
	invalid := func(sub, msg string) *reply { return bad(alipay.CodeInvalidParameter, sub, msg) }
	if in.badCharset != "" {
		return invalid("isv.invalid-charset", "字符集错误: "+in.badCharset)
	}
	if in.badBytes != "" {
		return invalid("isv.invalid-charset", "字符集错误: "+in.badBytes+" is not "+in.charset)
	}
	st := alipay.SignType(in.get("sign_type"))
	switch {
	case st == "":
		return missing("isv.missing-signature-type", "缺少签名类型参数")
	case st != alipay.RSA2 && st != alipay.RSA:
		return invalid("isv.invalid-signature-type", "无效的签名类型")
	case st != s.signType:
		return invalid("isv.missing-signature-config", "验签出错, 未配置对应签名算法的公钥或者证书")
	case in.get("sign") == "":
		return missing("isv.missing-signature", "缺少签名参数")
	case in.get("timestamp") == "":
		return missing("isv.missing-timestamp", "缺少时间戳参数")
	case in.get("version") == "":
		return missing("isv.missing-version", "缺少版本参数")
	}
	if rep := s.checkCertSN(in, method); rep != nil {
		return rep
	}
	canonical := alipay.CanonicalString(in.raw, "sign")
	if err := alipay.Verify([]byte(canonical), in.raw["sign"], &s.appKey.PublicKey, st); err != nil {
		shown, _ := decodeText(canonical, in.charset)
		return invalid(alipay.SubInvalidSignature,
			"验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："+htmlEscaper.Replace(shown))
	}
	ts, err := time.ParseInLocation(timestampLayout, in.get("timestamp"), beijing)
	if err != nil {
		return invalid("isv.invalid-timestamp", "非法的时间戳参数: want yyyy-MM-dd HH:mm:ss")
	}
	if skew := ts.Sub(s.now()); skew > TimestampSkew || skew < -TimestampSkew {
		return invalid("isv.invalid-timestamp", "非法的时间戳参数: "+skew.Round(time.Second).String()+
			" off the gateway clock (Beijing time "+s.now().In(beijing).Format(timestampLayout)+")")
	}
	if in.get("version") != "1.0" {
		return invalid("isv.invalid-parameter", "参数无效: version must be 1.0")
	}
	if f := in.get("format"); f != "" && !strings.EqualFold(f, "JSON") {
		return invalid("isv.invalid-format", "无效的数据格式")
	}
	biz := in.get("biz_content")
	encrypted := false
	switch et := in.get("encrypt_type"); {
	case et == "":
	case et != "AES":
		return invalid("isv.invalid-encrypt-type", "无效的加密类型")
	case s.encryptKey == nil:
		return invalid("isv.decryption-error-not-valid-encrypt-key", "解密出错, 未配置加密密钥或加密密钥格式错误")
	default:
		plain, err := aesDecrypt(s.encryptKey, biz)
		if err != nil {
			return invalid("isv.invalid-encrypt", "解密异常: "+err.Error())
		}
		d, ok := decodeText(string(plain), in.charset)
		if !ok {
			return invalid("isv.invalid-charset", "字符集错误: decrypted biz_content is not "+in.charset)
		}
		biz, encrypted = d, true
		rec.Params.Set("biz_content", biz)
	}
	obj, bizErr := decodeBiz(biz)
	rec.Biz = obj
	var rep *reply
	switch method {
	case alipay.MethodTwostageCommonUse:
		rep = s.twostage(obj, bizErr)
	case alipay.MethodPassInstanceAdd:
		rep = s.passInstanceAdd(obj, bizErr)
	case alipay.MethodAgreementAuthConfirm:
		rep = s.agreementConfirm(obj, bizErr)
	case MethodCertDownload:
		rep = s.certDownload(obj, bizErr)
	case alipay.MethodTradePay:
		rep = s.tradePay(obj, bizErr)
	case alipay.MethodTradeQuery:
		rep = s.tradeQuery(obj, bizErr)
	case alipay.MethodTradeCancel:
		rep = s.tradeCancel(obj, bizErr)
	}
	rep.encrypt = encrypted
	return rep
}

// known reports the methods the fake implements. alipay.trade.app.pay is
// not among them: its order string goes to the Alipay app, never to the
// gateway.
func known(method string) bool {
	switch method {
	case alipay.MethodTwostageCommonUse, alipay.MethodPassInstanceAdd, alipay.MethodAgreementAuthConfirm, MethodCertDownload,
		alipay.MethodTradePay, alipay.MethodTradeQuery, alipay.MethodTradeCancel:
		return true
	}
	return false
}

// bizError is what is wrong with a biz_content as a whole.
type bizError string

func (e bizError) Error() string { return string(e) }

// decodeBiz reads biz_content as a JSON object, numbers kept as written.
func decodeBiz(biz string) (map[string]any, error) {
	if biz == "" {
		return nil, bizError("biz_content is missing")
	}
	d := json.NewDecoder(strings.NewReader(biz))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		return nil, bizError("biz_content is not a JSON object: " + err.Error())
	}
	if d.More() {
		return nil, bizError("biz_content has text after the JSON object")
	}
	if obj == nil {
		return nil, bizError("biz_content is null")
	}
	return obj, nil
}

// bizString reads a string field of biz_content: present and a string, or
// a message saying what is wrong with it.
func bizString(obj map[string]any, k string) (string, string) {
	v, ok := obj[k]
	if !ok || v == nil {
		return "", k + " is missing"
	}
	s, ok := v.(string)
	if !ok {
		return "", k + " is not a string"
	}
	if s == "" {
		return "", k + " is empty"
	}
	return s, ""
}

// runes counts characters, the unit of the pages' maximum lengths.
func runes(s string) int { return len([]rune(s)) }
