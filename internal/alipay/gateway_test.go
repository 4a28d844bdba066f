package alipay

import (
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// The tests talk to a small gateway stand-in on 127.0.0.1: it checks each
// request's signature with the application's public key the way the real
// gateway does and answers canned bodies signed with the test "Alipay" key.
// (The full fake gateway is package alipaytest; this one only echoes what a
// test scripts.)

func testAlipayKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := ParsePrivateKey(readTestdata(t, "keys/alipay_private_pkcs1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testNow is the page's example timestamp, 2014-07-24 03:07:50 in Beijing.
var testNow = time.Date(2014, 7, 23, 19, 7, 50, 0, time.UTC)

type gotRequest struct {
	Query    url.Values
	Header   http.Header
	Body     []byte
	Form     url.Values // values as sent: bytes in the request charset
	UTF8     url.Values // values decoded to UTF-8
	SignedOK bool
}

type testGateway struct {
	t      testing.TB
	srv    *httptest.Server
	appPub *rsa.PublicKey
	key    *rsa.PrivateKey // "Alipay's" key

	mu      sync.Mutex
	got     []gotRequest
	respond func(r gotRequest) (status int, body []byte)
}

func newTestGateway(t testing.TB) *testGateway {
	g := &testGateway{t: t, appPub: &testAppKey(t).PublicKey, key: testAlipayKey(t)}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *testGateway) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	req := gotRequest{Query: r.URL.Query(), Header: r.Header, Body: body, Form: form, UTF8: url.Values{}}
	gbk := strings.EqualFold(req.Query.Get("charset"), "GBK")
	params := map[string]string{}
	for k, v := range form {
		params[k] = v[0]
		u := v[0]
		if gbk {
			u, _ = simplifiedchinese.GBK.NewDecoder().String(u)
		}
		req.UTF8.Set(k, u)
	}
	req.SignedOK = Verify([]byte(CanonicalString(params, "sign")), form.Get("sign"), g.appPub, SignType(form.Get("sign_type"))) == nil
	g.mu.Lock()
	g.got = append(g.got, req)
	respond := g.respond
	g.mu.Unlock()
	status, out := 200, []byte(`{}`)
	if respond != nil {
		status, out = respond(req)
	}
	w.Header().Set("Content-Type", "text/html;charset=utf-8") // what the real gateway says
	w.WriteHeader(status)
	w.Write(out)
}

func (g *testGateway) requests() []gotRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gotRequest(nil), g.got...)
}

func (g *testGateway) handle(f func(r gotRequest) (status int, body []byte)) {
	g.mu.Lock()
	g.respond = f
	g.mu.Unlock()
}

func (g *testGateway) answer(body []byte) { g.answerStatus(200, body) }

func (g *testGateway) answerStatus(status int, body []byte) {
	g.handle(func(gotRequest) (int, []byte) { return status, body })
}

// config is a public-key-mode client config pointing at the stand-in.
func (g *testGateway) config() Config {
	return Config{
		GatewayURL:      g.srv.URL + "/gateway.do",
		AppID:           "2014072300007148",
		PrivateKey:      testAppKey(g.t),
		AlipayPublicKey: &g.key.PublicKey,
		Now:             func() time.Time { return testNow },
	}
}

func (g *testGateway) client(mod ...func(*Config)) *Client {
	g.t.Helper()
	cfg := g.config()
	for _, m := range mod {
		m(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		g.t.Fatal(err)
	}
	return c
}

// signedBody wraps a response object (raw JSON text, bytes as they go on the
// wire) the way the gateway does, signed with key.
func signedBody(t testing.TB, key *rsa.PrivateKey, method, obj string) []byte {
	t.Helper()
	sig, err := Sign([]byte(obj), key, RSA2)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(fmt.Sprintf(`{"%s":%s,"sign":"%s"}`, ResponseKey(method), obj, strings.ReplaceAll(sig, "/", `\/`)))
}

func TestDropEcho(t *testing.T) {
	const advice = "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："
	for _, tc := range []struct{ name, in, want string }{
		{"no echo", "业务异常解码失败", "业务异常解码失败"},
		{"empty", "", ""},
		{"escaped echo", advice + "app_id=2021&amp;biz_content={&quot;dynamic_id&quot;:&quot;281234567890123456&quot;}&amp;charset=utf-8", advice + echoOmitted},
		{"plain echo", advice + `app_id=2021&biz_content={"auth_confirm_no":"739105"}`, advice + echoOmitted},
		{"app_auth_token first", advice + "app_auth_token=201510BB&amp;app_id=2021", advice + echoOmitted},
		{"cert mode, root SN first", advice + "alipay_root_cert_sn=687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6&amp;app_cert_sn=1", advice + echoOmitted},
		{"echo from the middle", "bad: &amp;biz_content={&quot;user_id&quot;:&quot;2088123412341234&quot;}", "bad:" + echoOmitted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dropEcho(tc.in); got != tc.want {
				t.Errorf("dropEcho(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}
