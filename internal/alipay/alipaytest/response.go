package alipaytest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"posagent/internal/alipay"
)

// field and object write JSON objects in a fixed key order, as the gateway
// does (code and msg first).
type field struct {
	k string
	v any
}

type object []field

// appendJSON writes v as JSON without HTML escaping: the gateway writes '&',
// '<' and '>' raw.
func appendJSON(buf *bytes.Buffer, v any) {
	switch v := v.(type) {
	case object:
		buf.WriteByte('{')
		for i, f := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			appendJSON(buf, f.k)
			buf.WriteByte(':')
			appendJSON(buf, f.v)
		}
		buf.WriteByte('}')
	default:
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			panic("alipaytest: encode " + err.Error()) // only our own values get here
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
}

// gatewayJSON is the response value as the gateway writes it: compact, with
// every '/' escaped as "\/". A client that re-serializes the value before
// verifying gets a different string and a failed signature, as it would
// against Alipay.
func gatewayJSON(v object) string {
	var buf bytes.Buffer
	appendJSON(&buf, v)
	return strings.ReplaceAll(buf.String(), "/", `\/`)
}

// Gateway codes and their msg texts.
var codeMsg = map[string]string{
	alipay.CodeSuccess:             "Success",
	alipay.CodeServiceUnavailable:  "Service Currently Unavailable",
	alipay.CodeInsufficientAuth:    "Insufficient Token Permissions",
	alipay.CodeMissingParameter:    "Missing Required Arguments",
	alipay.CodeInvalidParameter:    "Invalid Arguments",
	alipay.CodeBusinessFailed:      "Business Failed",
	alipay.CodeInsufficientPermits: "Insufficient Permissions",
}

// reply is an answer before it is encoded, encrypted and signed.
type reply struct {
	key     string // "<method>_response" or "error_response"
	value   object
	signed  bool // error_response for an unknown app or method goes unsigned
	encrypt bool // the request came AES-encrypted: so goes the answer
	lost    bool // carried out, but the connection drops before the answer (AmountRule)
}

func (r *reply) code() string    { return r.str("code") }
func (r *reply) subCode() string { return r.str("sub_code") }

func (r *reply) str(k string) string {
	for _, f := range r.value {
		if f.k == k {
			s, _ := f.v.(string)
			return s
		}
	}
	return ""
}

func responseKey(method string) string {
	return strings.ReplaceAll(method, ".", "_") + "_response"
}

// success answers code 10000 with the given fields.
func success(method string, fields ...field) *reply {
	v := object{{"code", alipay.CodeSuccess}, {"msg", codeMsg[alipay.CodeSuccess]}}
	return &reply{key: responseKey(method), value: append(v, fields...), signed: true}
}

// failure answers a gateway or business error under the method's key.
func failure(method, code, subCode, subMsg string) *reply {
	return &reply{key: responseKey(method), signed: true, value: object{
		{"code", code}, {"msg", codeMsg[code]}, {"sub_code", subCode}, {"sub_msg", subMsg},
	}}
}

// errorResponse answers under "error_response", unsigned: what the gateway
// does when it cannot tell the app or the method.
func errorResponse(code, subCode, subMsg string) *reply {
	return &reply{key: "error_response", value: object{
		{"code", code}, {"msg", codeMsg[code]}, {"sub_code", subCode}, {"sub_msg", subMsg},
	}}
}

// body encodes, encrypts and signs a reply into the response body.
func (s *Server) body(rep *reply, charset string, badSign bool) []byte {
	value := encodeText(gatewayJSON(rep.value), charset)
	if rep.encrypt {
		enc, err := aesEncrypt(s.encryptKey, value)
		if err != nil {
			panic("alipaytest: " + err.Error()) // the key was checked when the request decrypted
		}
		value = []byte(`"` + enc + `"`)
	}
	var b bytes.Buffer
	b.WriteString(`{"`)
	b.WriteString(rep.key)
	b.WriteString(`":`)
	b.Write(value)
	if rep.signed {
		s.mu.Lock()
		key, certs := s.alipayKey, s.certs
		var sn string
		if certs != nil {
			sn = certs.alipaySN
		}
		s.mu.Unlock()
		sig, err := alipay.Sign(value, key, s.signType)
		if err != nil {
			panic("alipaytest: " + err.Error())
		}
		if badSign {
			sig = corrupt(sig)
		}
		if sn != "" {
			b.WriteString(`,"alipay_cert_sn":"`)
			b.WriteString(sn)
			b.WriteByte('"')
		}
		b.WriteString(`,"sign":"`)
		b.WriteString(sig)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.Bytes()
}

// corrupt flips one bit of a signature, keeping it valid base64.
func corrupt(sig string) string {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(raw) == 0 {
		return "AAAA" + sig
	}
	raw[len(raw)/2] ^= 0x01
	return base64.StdEncoding.EncodeToString(raw)
}

// contentType is what the gateway sends with its JSON: text/html, so that
// a client must tell an HTML error page by its body, not by this header.
func contentType(charset string) string {
	return "text/html;charset=" + charset
}

func (s *Server) writeReply(w http.ResponseWriter, rep *reply, charset string, badSign bool) {
	w.Header().Set("Content-Type", contentType(charset))
	w.WriteHeader(http.StatusOK)
	w.Write(s.body(rep, charset, badSign))
}
