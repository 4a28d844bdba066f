package alipay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

const errorResponseKey = "error_response"

// envelope is the top level of a response body, located in the raw bytes.
type envelope struct {
	value  []byte // the raw bytes of the response object: exactly what was signed
	sign   string
	certSN string // alipay_cert_sn, certificate mode
	hasSig bool
}

// commonResult holds the fields every response object has.
type commonResult struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code"`
	SubMsg  string `json:"sub_msg"`
}

// parseResponse turns an HTTP answer into the verified response object of
// method, in UTF-8 JSON, or an *Error. Nothing in the body is trusted before
// its signature verifies over the raw bytes as received: no re-serializing
// (the gateway writes "\/"), no transcoding first (GBK).
func (c *Client) parseResponse(ctx context.Context, method string, status int, raw []byte) ([]byte, error) {
	obj, verified, err := c.verifiedResult(ctx, method, status, raw)
	var e *Error
	if err != nil && !(verified && errors.As(err, &e) && e.Code != "") && errors.As(err, &e) && !errors.Is(e.Err, ErrUnreachable) {
		// Only an answer that verifies as Alipay's may end work: anything
		// else (a proxy's error page, a captive portal's, an unsigned or
		// tampered answer) could come from anyone on the path, and says
		// only that the gateway's verdict did not arrive.
		cause := e.Err
		if cause == nil {
			cause = ErrUnsigned
		}
		e.Err = fmt.Errorf("%w: %w", ErrUnreachable, cause)
	}
	return obj, err
}

// verifiedResult is parseResponse before the rule that unverified answers
// are no answer; verified says whether the response's signature verified.
func (c *Client) verifiedResult(ctx context.Context, method string, status int, raw []byte) (obj []byte, verified bool, err error) {
	fail := func(err error) error { return &Error{Method: method, HTTPStatus: status, Err: err} }
	env, err := c.envelope(method, status, raw)
	if err != nil {
		return nil, false, err
	}
	if env.hasSig {
		key, err := c.verifyKey(ctx, env.certSN)
		if err != nil {
			return nil, false, fail(err)
		}
		if err := Verify(env.value, env.sign, key, c.signType); err != nil {
			return nil, false, fail(fmt.Errorf("verify response: %w", err))
		}
	}
	obj, err = c.result(method, status, env)
	return obj, env.hasSig, err
}

// envelope checks the HTTP answer and locates the parts of the body.
func (c *Client) envelope(method string, status int, raw []byte) (envelope, error) {
	fail := func(err error) error { return &Error{Method: method, HTTPStatus: status, Err: err} }
	if looksLikeHTML(raw) {
		// A proxy's or captive portal's page, whatever its status: the
		// gateway never answers in HTML.
		return envelope{}, fail(fmt.Errorf("%w: an HTML page instead of the gateway's JSON", ErrUnreachable))
	}
	switch {
	case status == 502 || status == 503 || status == 504:
		return envelope{}, fail(ErrUnreachable)
	case status != 200:
		return envelope{}, fail(fmt.Errorf("unexpected HTTP status"))
	case len(raw) > maxResponse:
		return envelope{}, fail(fmt.Errorf("%w: more than %d bytes", ErrMalformed, maxResponse))
	}
	env, err := scanEnvelope(raw, ResponseKey(method), c.gbk)
	if err != nil {
		return envelope{}, fail(fmt.Errorf("%w: %v", ErrMalformed, err))
	}
	return env, nil
}

// result opens the response object of env (verified, or unsigned) and
// checks its code.
func (c *Client) result(method string, status int, env envelope) ([]byte, error) {
	fail := func(err error) error { return &Error{Method: method, HTTPStatus: status, Err: err} }
	obj, err := c.openValue(env.value)
	if err != nil {
		return nil, fail(fmt.Errorf("%w: %v", ErrMalformed, err))
	}
	res, err := readCommon(obj)
	if err != nil {
		return nil, fail(fmt.Errorf("%w: %v", ErrMalformed, err))
	}
	switch {
	case !env.hasSig && (res.Code == "" || accepted(method, res.Code)):
		// Never a result: anyone on the path could have written it.
		return nil, fail(ErrUnsigned)
	case res.Code == "":
		return nil, fail(fmt.Errorf("%w: response object without code", ErrMalformed))
	case !accepted(method, res.Code):
		e := &Error{Method: method, HTTPStatus: status, Code: res.Code, Msg: dropEcho(res.Msg), SubCode: subCode(res.SubCode), SubMsg: dropEcho(res.SubMsg)}
		if !env.hasSig {
			e.Err = ErrUnsigned
		}
		return nil, e
	}
	return obj, nil
}

// subCode is a sub_code as the API pages spell it. Some answers carry the
// SDKs' spelling, with an "aop." prefix ("aop.ACQ.SYSTEM_ERROR"): the same
// code, which must mean the same (that one asks for a query, not a
// failure).
func subCode(s string) string {
	return strings.TrimPrefix(s, "aop.")
}

// accepted reports whether code is a result of method rather than an
// error: 10000, and for alipay.trade.pay also 10003 (the trade exists and
// waits for the buyer to confirm), whose fields the caller needs.
func accepted(method, code string) bool {
	return code == CodeSuccess || method == MethodTradePay && code == CodeWaitBuyerPay
}

// requestParams are the names of the parameters a request carries, each
// followed by '=' as they stand in the string the client signs.
var requestParams = []string{
	"alipay_root_cert_sn=", "app_auth_token=", "app_cert_sn=", "app_id=",
	"biz_content=", "charset=", "encrypt_type=", "format=", "method=",
	"notify_url=", "sign=", "sign_type=", "timestamp=", "version=",
}

// echoOmitted stands in an *Error's Msg or SubMsg for the part the gateway
// copied from the request.
const echoOmitted = "[the gateway's copy of the signed request is left out: it holds customer data]"

// dropEcho cuts a gateway message where it starts to quote the request. For
// isv.invalid-signature the gateway echoes the whole string it verified
// (HTML-escaped), and that string holds biz_content (payment codes, user ids,
// SMS codes, apply tokens) and app_auth_token. The message goes on into
// errors, events, the queue's last error and the screen, so the copy is cut
// here, for every method, and only the human part is kept: "验签出错，建议检查
// 签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：" and a note.
// The echo begins with the first parameter in key order; the parameter names
// and '=' read the same HTML-escaped, so looking for them finds it either way.
func dropEcho(msg string) string {
	cut := -1
	for _, p := range requestParams {
		if i := strings.Index(msg, p); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut < 0 {
		return msg
	}
	head := strings.TrimSuffix(strings.TrimSuffix(msg[:cut], "&amp;"), "&")
	return strings.TrimSpace(head) + echoOmitted
}

// openValue turns the verified response value into a UTF-8 JSON object:
// decrypting it when it is the quoted base64 of AES content encryption,
// transcoding it from GBK.
func (c *Client) openValue(v []byte) ([]byte, error) {
	if len(v) > 0 && v[0] == '"' {
		if c.aes == nil {
			return nil, errors.New("response is encrypted but no AES key is configured")
		}
		var text string
		if err := json.Unmarshal(v, &text); err != nil {
			return nil, fmt.Errorf("encrypted response: %v", err)
		}
		plain, err := c.aes.decrypt(text)
		if err != nil {
			return nil, err
		}
		v = plain
	}
	if c.gbk {
		u, err := fromGBK(v)
		if err != nil {
			return nil, err
		}
		v = u
	}
	if len(v) == 0 || v[0] != '{' {
		return nil, errors.New("response value is not an object")
	}
	return v, nil
}

func looksLikeHTML(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	return len(b) > 0 && b[0] == '<'
}

// scanEnvelope finds, in the raw body, the response object under key (or
// error_response), sign and alipay_cert_sn. It checks the whole body's
// structure, and rejects a body that repeats any of them: with two
// candidates there is no telling which one was signed. gbk makes string
// scanning skip the trail byte of each double-byte character, which may be
// '\\'.
func scanEnvelope(body []byte, key string, gbk bool) (envelope, error) {
	s := jsonScanner{b: body, gbk: gbk}
	var env envelope
	var seen [3]bool // response, sign, cert sn
	s.ws()
	if !s.eat('{') {
		return env, errors.New("body is not a JSON object")
	}
	s.ws()
	if s.eat('}') {
		return env, fmt.Errorf("no %s in the body", key)
	}
	for {
		s.ws()
		rawKey, err := s.str()
		if err != nil {
			return env, err
		}
		name := rawKey[1 : len(rawKey)-1]
		if bytes.IndexByte(rawKey, '\\') >= 0 {
			var unescaped string
			if err := json.Unmarshal(rawKey, &unescaped); err != nil {
				return env, fmt.Errorf("key at %d: %v", s.i, err)
			}
			name = []byte(unescaped)
		}
		s.ws()
		if !s.eat(':') {
			return env, fmt.Errorf("':' expected at %d", s.i)
		}
		s.ws()
		start := s.i
		if err := s.value(0); err != nil {
			return env, err
		}
		val := body[start:s.i]
		slot := -1
		switch {
		case string(name) == key, string(name) == errorResponseKey:
			slot = 0
			env.value = val
		case string(name) == "sign":
			slot = 1
			if err := unquoteASCII(val, &env.sign); err != nil {
				return env, fmt.Errorf("sign: %v", err)
			}
			env.hasSig = env.sign != ""
		case string(name) == "alipay_cert_sn":
			slot = 2
			if err := unquoteASCII(val, &env.certSN); err != nil {
				return env, fmt.Errorf("alipay_cert_sn: %v", err)
			}
		}
		if slot >= 0 {
			if seen[slot] {
				if slot == 0 {
					return env, fmt.Errorf("two response objects (%s or %s) in one body", key, errorResponseKey)
				}
				return env, fmt.Errorf("%s twice in one body", name)
			}
			seen[slot] = true
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			break
		}
		return env, fmt.Errorf("',' or '}' expected at %d", s.i)
	}
	s.ws()
	if s.i != len(body) {
		return env, fmt.Errorf("text after the JSON object at %d", s.i)
	}
	if !seen[0] {
		return env, fmt.Errorf("no %s in the body", key)
	}
	return env, nil
}

// unquoteASCII decodes a JSON string value that must be ASCII (signatures and
// certificate SNs are), so it means the same in every charset.
func unquoteASCII(raw []byte, dst *string) error {
	for _, b := range raw {
		if b >= 0x80 {
			return errors.New("not ASCII")
		}
	}
	return unquote(raw, dst)
}

// jsonScanner walks JSON text without decoding it, to find the byte spans of
// values. Whatever it accepts is decoded by encoding/json afterwards, which
// does the strict checking of the parts that are used.
type jsonScanner struct {
	b   []byte
	i   int
	gbk bool
}

const maxDepth = 128

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str scans a string and returns it with its quotes.
func (s *jsonScanner) str() ([]byte, error) {
	start := s.i
	if !s.eat('"') {
		return nil, fmt.Errorf("string expected at %d", s.i)
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start:s.i], nil
		case c == '\\':
			s.i += 2
		case c < 0x20:
			return nil, fmt.Errorf("control character in string at %d", s.i)
		case s.gbk && c >= 0x81 && c <= 0xfe:
			s.i += 2 // lead and trail byte; the trail may be '\\'
		default:
			s.i++
		}
	}
	return nil, fmt.Errorf("unterminated string at %d", start)
}

func (s *jsonScanner) value(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d at %d", maxDepth, s.i)
	}
	if s.i >= len(s.b) {
		return errors.New("unexpected end of body")
	}
	switch s.b[s.i] {
	case '"':
		_, err := s.str()
		return err
	case '{':
		s.i++
		s.ws()
		if s.eat('}') {
			return nil
		}
		for {
			s.ws()
			if _, err := s.str(); err != nil {
				return err
			}
			s.ws()
			if !s.eat(':') {
				return fmt.Errorf("':' expected at %d", s.i)
			}
			s.ws()
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			if s.eat('}') {
				return nil
			}
			return fmt.Errorf("',' or '}' expected at %d", s.i)
		}
	case '[':
		s.i++
		s.ws()
		if s.eat(']') {
			return nil
		}
		for {
			s.ws()
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			if s.eat(']') {
				return nil
			}
			return fmt.Errorf("',' or ']' expected at %d", s.i)
		}
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'E' {
			s.i++
			continue
		}
		break
	}
	if s.i == start {
		return fmt.Errorf("value expected at %d", s.i)
	}
	if lit := s.b[start:s.i]; !json.Valid(lit) {
		return fmt.Errorf("bad literal %q at %d", lit, start)
	}
	return nil
}
