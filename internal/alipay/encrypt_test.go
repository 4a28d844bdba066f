package alipay

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// testAESKey is a content-encryption key as the Alipay console shows it.
const testAESKey = "aa4BtZ4tspm2wnXLb1ThQA=="

// aesCBC encrypts or decrypts with a zero IV, independently of the client's
// code, so that the tests check the wire format rather than a round trip
// through the same functions.
func aesCBC(t testing.TB, encrypt bool, data []byte) []byte {
	t.Helper()
	key, _ := base64.StdEncoding.DecodeString(testAESKey)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	iv := make([]byte, 16)
	if encrypt {
		pad := 16 - len(data)%16
		data = append(append([]byte(nil), data...), bytes.Repeat([]byte{byte(pad)}, pad)...)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(data, data)
		return data
	}
	out := append([]byte(nil), data...)
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, out)
	return out[:len(out)-int(out[len(out)-1])]
}

func TestContentEncryption(t *testing.T) {
	for _, charset := range []string{"utf-8", "GBK"} {
		t.Run(charset, func(t *testing.T) {
			g := newTestGateway(t)
			c := g.client(func(c *Config) { c.EncryptKey = []byte(testAESKey); c.Charset = charset })
			obj := `{"code":"10000","msg":"Success","user_id":"2088123412341234","user_identity_info":{"h_school_info":{"school_std_code":"清华","campus_no":"2019021208"}}}`
			wire := []byte(obj)
			if charset == "GBK" {
				s, _ := simplifiedchinese.GBK.NewEncoder().String(obj)
				wire = []byte(s)
			}
			enc := base64.StdEncoding.EncodeToString(aesCBC(t, true, wire))
			// The gateway signs the quoted base64 and writes '/' as "\/".
			g.answer(signedBody(t, g.key, MethodTwostageCommonUse, `"`+strings.ReplaceAll(enc, "/", `\/`)+`"`))
			got, err := c.TwostageCommonUse(context.Background(), pageTwostage)
			if err != nil {
				t.Fatal(err)
			}
			if got.School().SchoolStdCode != "清华" {
				t.Errorf("decrypted response %+v", got.School())
			}
			r := g.requests()[0]
			if r.Form.Get("encrypt_type") != "AES" || !r.SignedOK {
				t.Errorf("encrypt_type %q, signed %v", r.Form.Get("encrypt_type"), r.SignedOK)
			}
			raw, err := base64.StdEncoding.DecodeString(r.Form.Get("biz_content"))
			if err != nil {
				t.Fatalf("biz_content is not base64: %v", err)
			}
			want, _ := marshalBiz(pageTwostage)
			if plain := string(aesCBC(t, false, raw)); plain != want {
				t.Errorf("biz_content decrypts to %s, want %s", plain, want)
			}

			// The signature covers the encrypted text with its quotes.
			body := signedBody(t, g.key, MethodTwostageCommonUse, enc)
			body = bytes.Replace(body, []byte(":"+enc), []byte(`:"`+enc+`"`), 1)
			g.answer(body)
			if _, err := c.TwostageCommonUse(context.Background(), pageTwostage); !errors.Is(err, ErrSignature) {
				t.Errorf("signature without the quotes: got %v, want ErrSignature", err)
			}
		})
	}
}

func TestEncryptedResponseRefused(t *testing.T) {
	g := newTestGateway(t)
	wrongKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16))
	tests := []struct {
		name string
		key  string
		val  string
	}{
		{"no key configured", "", `"` + base64.StdEncoding.EncodeToString(aesCBC(t, true, []byte(pageTwostageOK))) + `"`},
		{"wrong key", wrongKey, `"` + base64.StdEncoding.EncodeToString(aesCBC(t, true, []byte(pageTwostageOK))) + `"`},
		{"not base64", testAESKey, `"%%%"`},
		{"partial block", testAESKey, `"` + base64.StdEncoding.EncodeToString([]byte("short")) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := g.client(func(c *Config) { c.EncryptKey = []byte(tt.key) })
			g.answer(signedBody(t, g.key, MethodTwostageCommonUse, tt.val))
			got, err := c.TwostageCommonUse(context.Background(), pageTwostage)
			if got != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %+v, %v; want ErrMalformed", got, err)
			}
		})
	}
}

func TestParseEncryptKey(t *testing.T) {
	raw, _ := base64.StdEncoding.DecodeString(testAESKey)
	for _, in := range [][]byte{[]byte(testAESKey), []byte(testAESKey + "\n"), raw} {
		k, err := ParseEncryptKey(in)
		if err != nil || !bytes.Equal(k, raw) {
			t.Errorf("ParseEncryptKey(%q) = %x, %v", in, k, err)
		}
	}
	for _, in := range []string{"", "c2hvcnQ=", strings.Repeat("x", 17)} {
		if _, err := ParseEncryptKey([]byte(in)); err == nil {
			t.Errorf("ParseEncryptKey(%q): no error", in)
		}
	}
}
