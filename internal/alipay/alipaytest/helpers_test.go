package alipaytest

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/internal/alipay"
)

// Keys shared by every test: generating 2048-bit keys per test would make
// the suite slow.
var (
	keysOnce                   sync.Once
	appKey, alipayKey, rootKey *rsa.PrivateKey
	keysErr                    error
)

func loadKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return alipay.ParsePrivateKey(b)
}

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		keys := filepath.Join("..", "..", "..", "testdata", "keys")
		if appKey, keysErr = loadKey(filepath.Join(keys, "app_private_pkcs1.pem")); keysErr != nil {
			return
		}
		if alipayKey, keysErr = loadKey(filepath.Join(keys, "alipay_private_pkcs1.pem")); keysErr != nil {
			return
		}
		rootKey, keysErr = loadKey(filepath.Join("testdata", "root_private_pkcs1.pem"))
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
}

// newServer starts a server on the shared keys and closes it with the test.
func newServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	testKeys(t)
	opts = append([]Option{WithAppKey(appKey), WithAlipayKey(alipayKey), WithRootKey(rootKey)}, opts...)
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 9, 30, 0, 0, beijing)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// call is one request made by the tests' tiny signer: the gateway client of
// package alipay is built in parallel, so these tests sign with the same
// primitives (alipay.CanonicalString and alipay.Sign) by hand.
type call struct {
	method  string
	biz     string            // biz_content as sent (before encryption)
	charset string            // "" is utf-8
	set     map[string]string // parameters to add or replace after the defaults; "" removes
	key     *rsa.PrivateKey   // signing key; nil is the server's app key
	aes     []byte            // encrypt biz_content with this key
	tamper  func(form url.Values)
	client  *http.Client
}

// answer is a response, split the way a careful client splits it.
type answer struct {
	status int
	header http.Header
	body   []byte
	key    string         // "<method>_response" or "error_response"
	value  []byte         // the value's bytes exactly as written
	sign   string         // "" when unsigned
	certSN string         // alipay_cert_sn
	fields map[string]any // the value decoded (decrypted first)
}

func (a *answer) str(k string) string {
	s, _ := a.fields[k].(string)
	return s
}

func bizJSON(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// params builds the signed parameters of a call, in the call's charset.
func (s *Server) params(t testing.TB, c call) url.Values {
	t.Helper()
	cs := c.charset
	if cs == "" {
		cs = "utf-8"
	}
	biz := c.biz
	p := map[string]string{
		"app_id":      s.AppID(),
		"method":      c.method,
		"format":      "JSON",
		"charset":     cs,
		"sign_type":   string(s.SignType()),
		"timestamp":   s.Now().In(beijing).Format(timestampLayout),
		"version":     "1.0",
		"biz_content": biz,
	}
	if certs, err := s.Certs(); err == nil {
		p["app_cert_sn"], p["alipay_root_cert_sn"] = certs.AppSN, certs.RootSN
	}
	enc, ok := charsetOf(cs) // the bytes' charset; the parameter keeps the name as given
	if !ok {
		enc = "utf-8"
	}
	for k, v := range p {
		p[k] = string(encodeText(v, enc))
	}
	if c.aes != nil && biz != "" {
		sealed, err := aesEncrypt(c.aes, encodeText(biz, enc))
		if err != nil {
			t.Fatal(err)
		}
		p["biz_content"], p["encrypt_type"] = sealed, "AES"
	}
	for k, v := range c.set {
		if v == "" {
			delete(p, k)
			continue
		}
		p[k] = string(encodeText(v, enc))
	}
	key := c.key
	if key == nil {
		key = s.AppKey()
	}
	form := url.Values{}
	for k, v := range p {
		form.Set(k, v)
	}
	if _, unsigned := c.set["sign"]; !unsigned {
		st := alipay.SignType(p["sign_type"])
		if st != alipay.RSA && st != alipay.RSA2 {
			st = alipay.RSA2
		}
		sig, err := alipay.Sign([]byte(alipay.CanonicalString(p, "sign")), key, st)
		if err != nil {
			t.Fatal(err)
		}
		form.Set("sign", sig)
	}
	if c.tamper != nil {
		c.tamper(form)
	}
	return form
}

// post sends a call as the gateway expects: charset in the query, the rest
// as a form body. It returns the transport error instead of failing.
func (s *Server) post(t testing.TB, c call) (*answer, error) {
	t.Helper()
	form := s.params(t, c)
	target := s.URL()
	if cs := form.Get("charset"); cs != "" {
		target += "?" + url.Values{"charset": {cs}}.Encode() // and in the body, as SDKs send it
	}
	hc := c.client
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Post(target, "application/x-www-form-urlencoded;charset="+form.Get("charset"), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	a := &answer{status: resp.StatusCode, header: resp.Header, body: body}
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte("{")) {
		return a, nil
	}
	split(t, a)
	cs := "utf-8"
	if strings.Contains(resp.Header.Get("Content-Type"), "GBK") {
		cs = "GBK"
	}
	plain := a.value
	if bytes.HasPrefix(plain, []byte(`"`)) { // encrypted
		var enc string
		if err := json.Unmarshal(plain, &enc); err != nil {
			t.Fatalf("encrypted value: %v", err)
		}
		key := c.aes
		if key == nil {
			t.Fatalf("encrypted answer to a plain request: %s", body)
		}
		if plain, err = aesDecrypt(key, enc); err != nil {
			t.Fatalf("decrypt answer: %v", err)
		}
	}
	text, ok := decodeText(string(plain), cs)
	if !ok {
		t.Fatalf("answer is not %s: %q", cs, plain)
	}
	if err := json.Unmarshal([]byte(text), &a.fields); err != nil {
		t.Fatalf("answer value: %v\n%s", err, text)
	}
	return a, nil
}

// do is post for calls that must get an HTTP answer.
func (s *Server) do(t testing.TB, c call) *answer {
	t.Helper()
	a, err := s.post(t, c)
	if err != nil {
		t.Fatalf("%s: %v", c.method, err)
	}
	return a
}

// split finds the response value, sign and alipay_cert_sn in the raw body,
// keeping the value's bytes exactly as written.
func split(t testing.TB, a *answer) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(a.body))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("body does not start an object: %s", a.body)
	}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("body: %v: %s", err, a.body)
		}
		k := tok.(string)
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			t.Fatalf("body %s: %v", k, err)
		}
		switch k {
		case "sign":
			json.Unmarshal(raw, &a.sign)
		case "alipay_cert_sn":
			json.Unmarshal(raw, &a.certSN)
		default:
			if a.key != "" {
				t.Fatalf("two response keys %s and %s: %s", a.key, k, a.body)
			}
			a.key, a.value = k, raw
		}
	}
}

// verified fails the test unless the answer's signature verifies with key
// over the value's exact bytes.
func verified(t testing.TB, a *answer, key *rsa.PublicKey, st alipay.SignType) {
	t.Helper()
	if a.sign == "" {
		t.Fatalf("answer unsigned: %s", a.body)
	}
	if err := alipay.Verify(a.value, a.sign, key, st); err != nil {
		t.Fatalf("answer signature: %v\n%s", err, a.body)
	}
}

// business checks a signed answer's code and sub code.
func (s *Server) business(t testing.TB, a *answer, code, sub string) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", a.status, a.body)
	}
	verified(t, a, s.AlipayPublicKey(), s.SignType())
	if a.str("code") != code || a.str("sub_code") != sub {
		t.Fatalf("got %s/%s (%s), want %s/%s", a.str("code"), a.str("sub_code"), a.str("sub_msg"), code, sub)
	}
	if code != alipay.CodeSuccess && a.str("msg") != codeMsg[code] {
		t.Fatalf("msg %q, want %q", a.str("msg"), codeMsg[code])
	}
}
