package alipay

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

var pageTwostage = TwostageRequest{DynamicID: "286861260475412123", SenceNo: "20170718xxxxxxxx", PayPID: "2088702093900999"}

const pageTwostageOK = `{"code":"10000","msg":"Success","user_id":"2088123412341234","user_identity_info":{"h_school_info":{"school_std_code":"4136013432","campus_no":"2019021208"}}}`

// TestRequestMatchesOpenSSL sends the page's example request at the page's
// example time and checks that the signature on the wire is the one openssl
// made from the same canonical string (testdata/sign).
func TestRequestMatchesOpenSSL(t *testing.T) {
	g := newTestGateway(t)
	g.answer(signedBody(t, g.key, MethodTwostageCommonUse, pageTwostageOK))
	c := g.client()
	got, err := c.TwostageCommonUse(context.Background(), pageTwostage)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "2088123412341234" || got.School() == nil || got.School().SchoolStdCode != "4136013432" || got.School().CampusNo != "2019021208" {
		t.Errorf("response: %+v", got)
	}
	reqs := g.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if want := strings.TrimSpace(string(readTestdata(t, "sign/twostage_canonical.rsa2.sig"))); r.Form.Get("sign") != want {
		t.Errorf("sign on the wire\n got %s\nwant %s (openssl)", r.Form.Get("sign"), want)
	}
	if !r.SignedOK {
		t.Error("the gateway stand-in does not verify the request signature")
	}
	wantForm := map[string]string{
		"app_id":      "2014072300007148",
		"method":      MethodTwostageCommonUse,
		"format":      "JSON",
		"charset":     "utf-8",
		"sign_type":   "RSA2",
		"timestamp":   "2014-07-24 03:07:50",
		"version":     "1.0",
		"biz_content": `{"dynamic_id":"286861260475412123","sence_no":"20170718xxxxxxxx","pay_pid":"2088702093900999"}`,
	}
	for k, v := range wantForm {
		if r.Form.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, r.Form.Get(k), v)
		}
	}
	if len(r.Form) != len(wantForm)+1 {
		t.Errorf("form has %d parameters, want %d: %v", len(r.Form), len(wantForm)+1, r.Form)
	}
	if r.Query.Get("charset") != "utf-8" {
		t.Errorf("query charset = %q", r.Query.Get("charset"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded;charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestBizContentNotEscaped(t *testing.T) {
	g := newTestGateway(t)
	g.answer(signedBody(t, g.key, MethodAgreementAuthConfirm, `{"code":"10000","msg":"Success"}`))
	c := g.client(func(c *Config) { c.AppAuthToken = "201510BBaabdb44d8fd04607abf8d5931ec75D84" })
	req := AgreementAuthConfirmRequest{AgreementNo: "a<b>&c/d", ApplyToken: "MDEDUCT0068292ca377d1d44b65fa24ec9cd89132f", AuthConfirmNo: "423979"}
	if err := c.AgreementAuthConfirm(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	r := g.requests()[0]
	want := `{"agreement_no":"a<b>&c/d","apply_token":"MDEDUCT0068292ca377d1d44b65fa24ec9cd89132f","auth_confirm_no":"423979"}`
	if got := r.Form.Get("biz_content"); got != want {
		t.Errorf("biz_content\n got %s\nwant %s", got, want)
	}
	if r.Form.Get("app_auth_token") != "201510BBaabdb44d8fd04607abf8d5931ec75D84" || !r.SignedOK {
		t.Errorf("app_auth_token %q, signed %v", r.Form.Get("app_auth_token"), r.SignedOK)
	}
}

func TestTimestampIsBeijingTime(t *testing.T) {
	for _, loc := range []*time.Location{time.UTC, time.FixedZone("PST", -8*3600), time.FixedZone("NPT", 5*3600+45*60), time.FixedZone("LINT", 14*3600)} {
		c := &Client{now: func() time.Time { return testNow.In(loc) }}
		if got := c.timestamp(); got != "2014-07-24 03:07:50" {
			t.Errorf("clock in %s: timestamp %q, want 2014-07-24 03:07:50", loc, got)
		}
	}
}

// TestResponses feeds the client answers a gateway (or something on the way)
// might give, and checks what becomes a result and what an error. Every
// error but a verified business answer is "gateway unreachable", retried:
// an unsigned or tampered answer, a proxy's or portal's page, never ends
// work.
func TestResponses(t *testing.T) {
	ak := testAlipayKey(t)
	other := testAppKey(t) // any key but Alipay's
	const m = MethodTwostageCommonUse
	key := ResponseKey(m)
	sign := func(obj string) string {
		s, err := Sign([]byte(obj), ak, RSA2)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	okSig := sign(pageTwostageOK)
	flipped := strings.Replace(pageTwostageOK, "2088123412341234", "2088123412341235", 1)
	slashed := `{"code":"10000","msg":"Success","user_id":"2088123412341234","user_identity_info":{"h_school_info":{"school_std_code":"a\/b","campus_no":"1"}}}`
	unslashed := strings.ReplaceAll(slashed, `\/`, "/")
	failObj := `{"code":"40004","msg":"Business Failed","sub_code":"USER_UN_AUTH","sub_msg":"用户未授权"}`
	busyObj := `{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}`

	type want int
	const (
		result want = iota
		badSig
		malformed
		unsigned
		gatewayErr
		unreachable
		httpErr
	)
	tests := []struct {
		name      string
		status    int
		body      string
		want      want
		subCode   string
		retryable bool
	}{
		{"signed success", 200, `{"` + key + `":` + pageTwostageOK + `,"sign":"` + okSig + `"}`, result, "", false},
		{"sign first, whitespace", 200, "\n{ \"sign\" : \"" + okSig + "\" ,\n \"" + key + "\" :" + pageTwostageOK + " }\n", result, "", false},
		{"escaped slash in sign", 200, `{"` + key + `":` + pageTwostageOK + `,"sign":"` + strings.ReplaceAll(okSig, "/", `\/`) + `"}`, result, "", false},
		{"escaped slash in signed JSON", 200, `{"` + key + `":` + slashed + `,"sign":"` + sign(slashed) + `"}`, result, "", false},
		{"signature over re-serialized JSON", 200, `{"` + key + `":` + slashed + `,"sign":"` + sign(unslashed) + `"}`, badSig, "", true},
		{"one flipped byte", 200, `{"` + key + `":` + flipped + `,"sign":"` + okSig + `"}`, badSig, "", true},
		{"signed by another key", 200, string(signedBody(t, other, m, pageTwostageOK)), badSig, "", true},
		{"sign not base64", 200, `{"` + key + `":` + pageTwostageOK + `,"sign":"%%%"}`, badSig, "", true},
		{"signed failure", 200, `{"` + key + `":` + failObj + `,"sign":"` + sign(failObj) + `"}`, gatewayErr, SubUserUnAuth, false},
		{"signed 20000", 200, `{"` + key + `":` + busyObj + `,"sign":"` + sign(busyObj) + `"}`, gatewayErr, SubUnknownError, true},
		{"unsigned 20000", 200, `{"` + key + `":` + busyObj + `}`, gatewayErr, SubUnknownError, true},
		{"error_response", 200, `{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}}`, gatewayErr, SubInvalidSignature, true},
		{"unsigned success", 200, `{"` + key + `":` + pageTwostageOK + `}`, unsigned, "", true},
		{"empty sign on success", 200, `{"` + key + `":` + pageTwostageOK + `,"sign":""}`, unsigned, "", true},
		{"two response objects", 200, `{"` + key + `":` + pageTwostageOK + `,"` + key + `":` + flipped + `,"sign":"` + okSig + `"}`, malformed, "", true},
		{"response and error_response", 200, `{"error_response":` + failObj + `,"` + key + `":` + pageTwostageOK + `,"sign":"` + okSig + `"}`, malformed, "", true},
		{"two signs", 200, `{"` + key + `":` + pageTwostageOK + `,"sign":"` + okSig + `","sign":"` + okSig + `"}`, malformed, "", true},
		{"escaped duplicate key", 200, `{"` + key + `":` + pageTwostageOK + `,"\u0073ign":"x","sign":"` + okSig + `"}`, malformed, "", true},
		{"other method's response", 200, string(signedBody(t, ak, MethodPassInstanceAdd, pageTwostageOK)), malformed, "", true},
		{"text after the object", 200, `{"` + key + `":` + pageTwostageOK + `,"sign":"` + okSig + `"} x`, malformed, "", true},
		{"truncated", 200, `{"` + key + `":` + pageTwostageOK[:40], malformed, "", true},
		{"not JSON", 200, `gateway.do?error`, malformed, "", true},
		{"value not an object", 200, `{"` + key + `":[1],"sign":"` + sign("[1]") + `"}`, malformed, "", true},
		{"HTML page with 200", 200, "<!DOCTYPE html><html><body>Portal login</body></html>", unreachable, "", true},
		{"HTTP 502", 502, "Bad Gateway", unreachable, "", true},
		{"HTTP 504 HTML", 504, "<html>timeout</html>", unreachable, "", true},
		{"HTTP 500", 500, "oops", httpErr, "", true},
		{"HTTP 404", 404, "not found", httpErr, "", true},
	}
	g := newTestGateway(t)
	c := g.client()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g.answerStatus(tt.status, []byte(tt.body))
			got, err := c.TwostageCommonUse(context.Background(), pageTwostage)
			if tt.want == result {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if got.UserID != "2088123412341234" {
					t.Fatalf("user_id %q", got.UserID)
				}
				if tt.name == "escaped slash in signed JSON" && got.School().SchoolStdCode != "a/b" {
					t.Fatalf("school_std_code %q", got.School().SchoolStdCode)
				}
				return
			}
			if got != nil {
				t.Fatalf("a result (%+v) with error %v", got, err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not *Error", err, err)
			}
			if e.Method != m {
				t.Errorf("Method %q", e.Method)
			}
			switch tt.want {
			case badSig:
				if !errors.Is(err, ErrSignature) {
					t.Errorf("got %v, want ErrSignature", err)
				}
			case malformed:
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("got %v, want ErrMalformed", err)
				}
			case unsigned:
				if !errors.Is(err, ErrUnsigned) || e.Code != "" {
					t.Errorf("got %v, want ErrUnsigned without a code", err)
				}
			case gatewayErr:
				if e.SubCode != tt.subCode {
					t.Errorf("got %v, want sub code %s", err, tt.subCode)
				}
			case unreachable:
				if !Unreachable(err) || e.HTTPStatus != tt.status {
					t.Errorf("got %v (status %d), want Unreachable", err, e.HTTPStatus)
				}
			case httpErr:
				if e.HTTPStatus != tt.status {
					t.Errorf("got %v, want HTTP %d error", err, tt.status)
				}
			}
			// Only a verified answer is the gateway's: anything else could
			// come from anyone on the path, and is no verdict.
			verified := tt.name == "signed failure" || tt.name == "signed 20000"
			if Unreachable(err) == verified {
				t.Errorf("%v: Unreachable %v, want %v", err, Unreachable(err), !verified)
			}
			if Retryable(err) != tt.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, Retryable(err), tt.retryable)
			}
		})
	}
}

// TestGBKRoundTrip: a GBK client sends Chinese text as GBK bytes, signed as
// GBK bytes, and reads a GBK answer verified on its raw bytes. 乗 is encoded
// 0x81 0x5C: its trail byte is '\\', placed before a closing quote.
func TestGBKRoundTrip(t *testing.T) {
	g := newTestGateway(t)
	c := g.client(func(c *Config) { c.Charset = "GBK" })
	obj := `{"code":"10000","msg":"Success","success":"true","result":"{\"serialNumber\":\"123555123\",\"passId\":\"209919213\",\"operate\":\"ADD\",\"errorCode\":\"SUCCESS\",\"errorMsg\":\"处理成功乗\"}"}`
	gbkObj, err := simplifiedchinese.GBK.NewEncoder().String(obj)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(gbkObj, "\x81\x5c") {
		t.Fatal("test text lost its 0x5C trail byte")
	}
	g.answer(signedBody(t, g.key, MethodPassInstanceAdd, gbkObj))
	req := PassInstanceAddRequest{
		TplID:           "f038871a4b1151e8038bb9277c3d52e3",
		TplParams:       map[string]string{"title": "券标题", "serialNumber": "123555123"},
		RecognitionInfo: RecognitionInfo{PartnerID: "2088102114633762", OutTradeNo: "1234567"},
	}
	got, err := c.PassInstanceAdd(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Result.ErrorMsg != "处理成功乗" || got.Result.PassID != "209919213" || !got.Success {
		t.Errorf("response %+v", got)
	}
	r := g.requests()[0]
	if !r.SignedOK {
		t.Error("request signature does not verify over the GBK bytes")
	}
	if r.Query.Get("charset") != "GBK" || r.Form.Get("charset") != "GBK" {
		t.Errorf("charset query %q form %q", r.Query.Get("charset"), r.Form.Get("charset"))
	}
	wantBiz := `{"tpl_id":"f038871a4b1151e8038bb9277c3d52e3","tpl_params":"{\"serialNumber\":\"123555123\",\"title\":\"券标题\"}","recognition_type":"1","recognition_info":"{\"partner_id\":\"2088102114633762\",\"out_trade_no\":\"1234567\"}"}`
	if got := r.UTF8.Get("biz_content"); got != wantBiz {
		t.Errorf("biz_content\n got %s\nwant %s", got, wantBiz)
	}
	if strings.Contains(r.Form.Get("biz_content"), "券") {
		t.Error("biz_content went out in UTF-8, not GBK")
	}

	// A character outside GBK is refused before anything is sent.
	req.TplParams["title"] = "券🎉"
	_, err = c.PassInstanceAdd(context.Background(), req)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "tpl_params.title" {
		t.Errorf("emoji: got %v, want a FieldError on tpl_params.title", err)
	}
	if n := len(g.requests()); n != 1 {
		t.Errorf("%d requests sent, want 1", n)
	}
}

func TestPassInstanceAddResults(t *testing.T) {
	tests := []struct {
		name      string
		obj       string
		subCode   string
		retryable bool
	}{
		{"success false", `{"code":"10000","msg":"Success","success":"false","result":"{\"serialNumber\":\"1\",\"operate\":\"ADD\",\"errorCode\":\"KP.AE_ALIPASS_PARAME_IS_NULL\",\"errorMsg\":\"参数值为null\"}"}`, SubPassParamIsNull, false},
		{"system error in result", `{"code":"10000","msg":"Success","success":"false","result":"{\"errorCode\":\"KP.AE_SYSTEM_ERROR\",\"errorMsg\":\"系统异常\"}"}`, SubPassSystemError, true},
		{"gateway code", `{"code":"40004","msg":"Business Failed","sub_code":"KP.AE_ALIPASS_APPID_NOSUPPORT","sub_msg":"黑名单"}`, SubPassAppIDNotSupported, false},
		{"success not a flag", `{"code":"10000","msg":"Success","success":"maybe","result":"{}"}`, "", false},
		{"result not JSON", `{"code":"10000","msg":"Success","success":"true","result":"serial=1"}`, "", false},
	}
	g := newTestGateway(t)
	c := g.client()
	req := PassInstanceAddRequest{TplID: "t", TplParams: map[string]string{"serialNumber": "1"}, RecognitionInfo: RecognitionInfo{PartnerID: "2088102114633762", OutTradeNo: "1"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g.answer(signedBody(t, g.key, MethodPassInstanceAdd, tt.obj))
			got, err := c.PassInstanceAdd(context.Background(), req)
			var e *Error
			if got != nil || !errors.As(err, &e) {
				t.Fatalf("got %+v, %v", got, err)
			}
			if e.SubCode != tt.subCode || Retryable(err) != tt.retryable {
				t.Errorf("got %v (retryable %v), want sub code %q retryable %v", err, Retryable(err), tt.subCode, tt.retryable)
			}
			if tt.subCode == "" && !errors.Is(err, ErrMalformed) {
				t.Errorf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestTransportFailures(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		g := newTestGateway(t)
		c := g.client()
		g.srv.Close()
		_, err := c.TwostageCommonUse(context.Background(), pageTwostage)
		if !Unreachable(err) || !Retryable(err) {
			t.Fatalf("got %v, want unreachable and retryable", err)
		}
	})
	t.Run("dropped", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				// Read the request, then hang up without answering.
				http.ReadRequest(bufio.NewReader(conn))
				conn.Close()
			}
		}()
		g := newTestGateway(t)
		c := g.client(func(c *Config) { c.GatewayURL = "http://" + l.Addr().String() + "/gateway.do" })
		_, err = c.TwostageCommonUse(context.Background(), pageTwostage)
		if !Unreachable(err) || !Retryable(err) {
			t.Fatalf("got %v, want unreachable and retryable", err)
		}
	})
	t.Run("timeout and cancel", func(t *testing.T) {
		g := newTestGateway(t)
		release := make(chan struct{})
		entered := make(chan struct{}, 4)
		g.handle(func(gotRequest) (int, []byte) {
			entered <- struct{}{}
			<-release
			return 200, nil
		})
		defer close(release)
		c := g.client()

		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.TwostageCommonUse(ctx, pageTwostage)
		if !Unreachable(err) || !Retryable(err) {
			t.Fatalf("deadline: got %v, want unreachable and retryable", err)
		}

		ctx, cancel = context.WithCancel(context.Background())
		go func() { <-entered; <-entered; cancel() }()
		_, err = c.TwostageCommonUse(ctx, pageTwostage)
		if Unreachable(err) || !Retryable(err) || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel: got %v, want retryable, canceled, not unreachable", err)
		}
	})
}

func TestNewClientRefuses(t *testing.T) {
	app := testAppKey(t)
	ak := testAlipayKey(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	base := Config{AppID: "2014072300007148", PrivateKey: app, AlipayPublicKey: &ak.PublicKey}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no app id", func(c *Config) { c.AppID = "" }, "app_id"},
		{"long app id", func(c *Config) { c.AppID = strings.Repeat("1", 33) }, "app_id"},
		{"no private key", func(c *Config) { c.PrivateKey = nil }, "private key"},
		{"1024-bit key with RSA2", func(c *Config) { c.PrivateKey = small }, "2048-bit"},
		{"unknown sign type", func(c *Config) { c.SignType = "SM2" }, "sign_type"},
		{"charset", func(c *Config) { c.Charset = "latin1" }, "charset"},
		{"no Alipay key", func(c *Config) { c.AlipayPublicKey = nil }, "Alipay public key"},
		{"app key as Alipay key", func(c *Config) { c.AlipayPublicKey = &app.PublicKey }, "application's own"},
		{"both modes", func(c *Config) { c.Certs = &CertConfig{} }, "both"},
		{"gateway URL", func(c *Config) { c.GatewayURL = "openapi.alipay.com" }, "gateway URL"},
		{"AES key", func(c *Config) { c.EncryptKey = []byte("short") }, "AES key"},
		{"app auth token", func(c *Config) { c.AppAuthToken = strings.Repeat("x", 41) }, "app_auth_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.mod(&cfg)
			_, err := NewClient(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error about %s", err, tt.want)
			}
		})
	}
	small1024 := base
	small1024.PrivateKey, small1024.SignType = small, RSA
	if _, err := NewClient(small1024); err != nil {
		t.Errorf("1024-bit key with sign_type RSA: %v", err)
	}
}

func TestNewClientFromFiles(t *testing.T) {
	abs := func(name string) string {
		p, err := filepath.Abs(filepath.Join("..", "..", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, key := range []string{"keys/app_private_pkcs1.pem", "keys/app_private_pkcs8.pem", "keys/app_private_bare.txt"} {
		c, err := NewClientFromFiles(Options{AppID: "2014072300007148", AppPrivateKey: abs(key), AlipayPublicKey: abs("keys/alipay_public.pem")})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if !c.key.Equal(testAppKey(t)) || c.charset != CharsetUTF8 || c.signType != RSA2 {
			t.Errorf("%s: client %+v", key, c)
		}
	}
	// Certificate mode and an AES key file as the console shows it.
	certs, err := filepath.Abs(filepath.Join("testdata", "certs"))
	if err != nil {
		t.Fatal(err)
	}
	aesFile := filepath.Join(t.TempDir(), "aes.txt")
	if err := os.WriteFile(aesFile, []byte(testAESKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cc := Options{
		AppID: "2014072300007148", AppPrivateKey: abs("keys/app_private_pkcs8.pem"),
		AppCert:        filepath.Join(certs, "appCertPublicKey_2014072300007148.crt"),
		AlipayCert:     filepath.Join(certs, "alipayCertPublicKey_RSA2.crt"),
		AlipayRootCert: filepath.Join(certs, "alipayRootCert.crt"),
		EncryptKey:     aesFile,
		Charset:        "GBK",
	}
	c, err := NewClientFromFiles(cc)
	if err != nil {
		t.Fatal(err)
	}
	if sns := wantSNs(t); c.AppCertSN() != sns["app"] || c.RootCertSN() != sns["root"]+"_"+sns["root2"] || c.aes == nil || !c.gbk {
		t.Errorf("certificate-mode client from files: app %s root %s aes %v gbk %v", c.AppCertSN(), c.RootCertSN(), c.aes != nil, c.gbk)
	}
	cc.AlipayRootCert = filepath.Join(certs, "missing.crt")
	if _, err := NewClientFromFiles(cc); err == nil || !strings.Contains(err.Error(), "alipay_root_cert") {
		t.Errorf("missing root file: %v", err)
	}

	cfg := Options{AppID: "2014072300007148", AppPrivateKey: abs("keys/app_private_pkcs1.pem"), AlipayPublicKey: filepath.Join(t.TempDir(), "missing.pem")}
	if _, err := NewClientFromFiles(cfg); err == nil || !strings.Contains(err.Error(), "alipay_public_key") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	cfg = Options{AppID: "2014072300007148", AppPrivateKey: abs("keys/app_public.pem"), AlipayPublicKey: abs("keys/alipay_public.pem")}
	if _, err := NewClientFromFiles(cfg); err == nil || !strings.Contains(err.Error(), "app_private_key") {
		t.Errorf("public key as private key: %v", err)
	}
}

// A sub_code in the SDKs' spelling ("aop." in front) is the code of the
// API pages: "aop.ACQ.SYSTEM_ERROR" asks for a query as ACQ.SYSTEM_ERROR
// does, never a failure.
func TestSubCodeAopPrefix(t *testing.T) {
	g := newTestGateway(t)
	c := g.client()
	for _, tt := range []struct {
		sub, want string
		retryable bool
	}{
		{"aop.ACQ.SYSTEM_ERROR", SubTradeSystemError, true},
		{"ACQ.SYSTEM_ERROR", SubTradeSystemError, true},
		{"aop.ACQ.TRADE_HAS_SUCCESS", SubTradeHasSuccess, false},
	} {
		g.answer(signedBody(t, g.key, MethodTradeQuery, `{"code":"40004","msg":"Business Failed","sub_code":"`+tt.sub+`","sub_msg":"x"}`))
		_, err := c.TradeQuery(context.Background(), TradeQueryRequest{OutTradeNo: "o1"})
		var e *Error
		if !errors.As(err, &e) || e.SubCode != tt.want || Retryable(err) != tt.retryable {
			t.Errorf("%s: got %v (retryable %v), want sub code %s retryable %v", tt.sub, err, Retryable(err), tt.want, tt.retryable)
		}
	}
}
