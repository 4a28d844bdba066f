package alipaytest

import (
	"bytes"
	"strings"
	"testing"

	"posagent/internal/alipay"
)

var aesKey = []byte("0123456789abcdef")

func TestAES(t *testing.T) {
	s := newServer(t, WithEncryptKey(aesKey))
	c := twostageCall(t, s)
	c.aes = aesKey
	a := s.do(t, c)
	if !bytes.HasPrefix(a.value, []byte(`"`)) {
		t.Fatalf("answer to an encrypted request is not a quoted string: %s", a.body)
	}
	s.business(t, a, alipay.CodeSuccess, "") // signature over the quoted string, fields decrypted
	if a.str("user_id") != "2088000000000001" {
		t.Fatalf("decrypted %v", a.fields)
	}
	reqs := s.Requests()
	if r := reqs[len(reqs)-1]; r.Biz["pay_pid"] != payPID || !strings.HasPrefix(r.Params.Get("biz_content"), "{") {
		t.Fatalf("recorded %+v", r)
	}

	// GBK and AES together: the JSON is GBK before it is encrypted.
	g := call{method: alipay.MethodPassInstanceAdd, charset: "GBK", aes: aesKey,
		biz: bizJSON(t, passBiz(t, "tpl", map[string]string{"title": "加密的券", "serialNumber": "AES-1"}))}
	a = s.do(t, g)
	s.business(t, a, alipay.CodeSuccess, "")
	if ps := s.Passes(); len(ps) != 1 || ps[0].TplParams["title"] != "加密的券" {
		t.Fatalf("passes %+v", ps)
	}

	// A plain request gets a plain answer.
	s.business(t, s.do(t, twostageCall(t, s)), alipay.CodeSuccess, "")

	for _, tt := range []struct {
		name string
		c    call
		sub  string
	}{
		{"wrong key", call{aes: []byte("fedcba9876543210")}, "isv.invalid-encrypt"},
		{"not base64", call{aes: aesKey, set: map[string]string{"biz_content": "***"}}, "isv.invalid-encrypt"},
		{"DES", call{aes: aesKey, set: map[string]string{"encrypt_type": "DES"}}, "isv.invalid-encrypt-type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := twostageCall(t, s)
			c.aes, c.set = tt.c.aes, tt.c.set
			a, err := s.post(t, call{method: c.method, biz: c.biz, aes: c.aes, set: c.set})
			if err != nil {
				t.Fatal(err)
			}
			s.business(t, a, "40002", tt.sub)
		})
	}
}

func TestAESWithoutKey(t *testing.T) {
	s := newServer(t)
	c := twostageCall(t, s)
	c.aes = aesKey
	s.business(t, s.do(t, c), "40002", "isv.decryption-error-not-valid-encrypt-key")
}

func TestAESRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 100} {
		plain := bytes.Repeat([]byte("码"), n)
		enc, err := aesEncrypt(aesKey, plain)
		if err != nil {
			t.Fatal(err)
		}
		got, err := aesDecrypt(aesKey, enc)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%d: %v", n, err)
		}
	}
	if _, err := aesEncrypt([]byte("short"), nil); err == nil {
		t.Fatal("5-byte key accepted")
	}
}
