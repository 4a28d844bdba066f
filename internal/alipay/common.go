package alipay

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// readCommon reads the fields every response object has (code, msg,
// sub_code, sub_msg) from the top level of obj, a UTF-8 JSON object,
// without decoding the rest: the method's own fields are decoded once, into
// the method's response type. The messages are decoded only beside a code
// other than 10000, where they are the news.
func readCommon(obj []byte) (commonResult, error) {
	var res commonResult
	var raw [4][]byte // code, msg, sub_code, sub_msg
	s := jsonScanner{b: obj}
	s.ws()
	if !s.eat('{') {
		return res, errors.New("response object: not an object")
	}
	s.ws()
	if s.eat('}') {
		return res, nil
	}
	done := func() (commonResult, error) {
		fields := []*string{&res.Code, &res.Msg, &res.SubCode, &res.SubMsg}
		for i, v := range raw {
			if v == nil {
				continue
			}
			if err := unquote(v, fields[i]); err != nil {
				return res, fmt.Errorf("response object: %s: %v", [...]string{"code", "msg", "sub_code", "sub_msg"}[i], err)
			}
			if i == 0 && res.Code == CodeSuccess {
				break
			}
		}
		return res, nil
	}
	for {
		s.ws()
		rawKey, err := s.str()
		if err != nil {
			return res, fmt.Errorf("response object: %v", err)
		}
		s.ws()
		if !s.eat(':') {
			return res, fmt.Errorf("response object: ':' expected at %d", s.i)
		}
		s.ws()
		start := s.i
		if err := s.value(0); err != nil {
			return res, fmt.Errorf("response object: %v", err)
		}
		v := obj[start:s.i]
		switch key := rawKey[1 : len(rawKey)-1]; {
		case string(key) == "code":
			raw[0] = v
		case string(key) == "msg":
			raw[1] = v
		case string(key) == "sub_code":
			raw[2] = v
		case string(key) == "sub_msg":
			raw[3] = v
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return done()
		}
		return res, fmt.Errorf("response object: ',' or '}' expected at %d", s.i)
	}
}

// unquote decodes a JSON string value; the common case, a string without
// escapes, costs one allocation (none for the success code).
func unquote(raw []byte, dst *string) error {
	if string(raw) == "null" {
		return nil // as encoding/json leaves a string
	}
	if len(raw) < 2 || raw[0] != '"' {
		return errors.New("not a string")
	}
	body := raw[1 : len(raw)-1]
	for _, b := range body {
		if b == '\\' {
			return json.Unmarshal(raw, dst)
		}
	}
	if string(body) == CodeSuccess {
		*dst = CodeSuccess
		return nil
	}
	*dst = string(body)
	return nil
}

// responseKeys caches ResponseKey by method: the client calls a handful of
// methods, each many times.
var responseKeys sync.Map // method -> response key

// ResponseKey is the top-level key of a method's response object:
// "alipay.user.twostage.common.use" answers in
// "alipay_user_twostage_common_use_response".
func ResponseKey(method string) string {
	if k, ok := responseKeys.Load(method); ok {
		return k.(string)
	}
	k := strings.ReplaceAll(method, ".", "_") + "_response"
	responseKeys.Store(method, k)
	return k
}
