package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/redact"
)

// clientFor configures a client from what the fake gateway publishes, the
// way a configuration file would.
func clientFor(t *testing.T, s *alipaytest.Server) *alipay.Client {
	t.Helper()
	cfg := alipay.Config{
		GatewayURL: s.URL(),
		AppID:      s.AppID(),
		PrivateKey: s.AppKey(),
		SignType:   s.SignType(),
		Charset:    s.Charset(),
		EncryptKey: s.EncryptKey(),
	}
	if certs, err := s.Certs(); err == nil {
		cfg.Certs = &alipay.CertConfig{AppCert: certs.App, AlipayCert: certs.Alipay, RootCert: certs.Root}
	} else {
		cfg.AlipayPublicKey = s.AlipayPublicKey()
	}
	c, err := alipay.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAgainstFakeGateway runs the client against alipaytest, the fake
// gateway, in each of the platform's modes: both sides were written from the
// pages independently, so this is where a misreading of either shows.
func TestAgainstFakeGateway(t *testing.T) {
	aesKey := make([]byte, 16)
	if _, err := rand.Read(aesKey); err != nil {
		t.Fatal(err)
	}
	modes := []struct {
		name string
		opts []alipaytest.Option
	}{
		{"public key", nil},
		{"GBK", []alipaytest.Option{alipaytest.WithCharset("GBK")}},
		{"RSA", []alipaytest.Option{alipaytest.WithSignType(alipay.RSA)}},
		{"certificates", []alipaytest.Option{alipaytest.WithCertMode()}},
		{"AES GBK", []alipaytest.Option{alipaytest.WithEncryptKey(aesKey), alipaytest.WithCharset("GBK")}},
	}
	ctx := context.Background()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := alipaytest.NewServer(m.opts...)
			defer s.Close()
			c := clientFor(t, s)

			s.AddUser(alipaytest.User{UserID: "2088123412341234", School: &alipay.HSchoolInfo{SchoolStdCode: "4136013432", CampusNo: "2019021208"}, Authorised: true})
			code := s.IssueCode("2088123412341234")
			req := alipay.TwostageRequest{DynamicID: code, SenceNo: "T1-0001", PayPID: "2088702093900999"}
			got, err := c.TwostageCommonUse(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if got.UserID != "2088123412341234" || got.School() == nil || got.School().CampusNo != "2019021208" {
				t.Fatalf("decoded %+v", got)
			}
			req.SenceNo = "T1-0002"
			var e *alipay.Error
			if _, err := c.TwostageCommonUse(ctx, req); !errors.As(err, &e) || e.SubCode != alipay.SubSenceNoUnMatch || alipay.Retryable(err) {
				t.Fatalf("another sence_no: %v", err)
			}

			pass := alipay.PassInstanceAddRequest{
				TplID:           "f038871a4b1151e8038bb9277c3d52e3",
				TplParams:       map[string]string{"title": "券标题", "serialNumber": "T1-0001-1"},
				RecognitionInfo: alipay.RecognitionInfo{PartnerID: "2088102114633762", OutTradeNo: "T1-0001"},
			}
			p1, err := c.PassInstanceAdd(ctx, pass)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := c.PassInstanceAdd(ctx, pass)
			if err != nil || p2.Result.PassID != p1.Result.PassID || p1.Result.SerialNumber != "T1-0001-1" {
				t.Fatalf("passes %+v then %+v, %v", p1, p2, err)
			}

			s.AddAgreement(alipaytest.Agreement{AgreementNo: "20170502000610755993", ApplyToken: "MDEDUCT0068292ca377d1d44b65fa24ec9cd89132f", SMSCode: "423979"})
			confirm := alipay.AgreementAuthConfirmRequest{AgreementNo: "20170502000610755993", ApplyToken: "MDEDUCT0068292ca377d1d44b65fa24ec9cd89132f", AuthConfirmNo: "000000"}
			if err := c.AgreementAuthConfirm(ctx, confirm); !errors.As(err, &e) || e.SubCode != alipay.SubValidateCodeAnswerError {
				t.Fatalf("wrong SMS code: %v", err)
			}
			confirm.AuthConfirmNo = "423979"
			if err := c.AgreementAuthConfirm(ctx, confirm); err != nil {
				t.Fatal(err)
			}

			body, err := s.Notify(map[string]string{
				"out_trade_no": "T1-0001", "trade_no": "2013112011001004330000121536", "trade_status": alipay.TradeSuccess,
				"total_amount": "9.00", "subject": "大乐透", "fund_bill_list": `[{"amount":"9.00","fundChannel":"ALIPAYACCOUNT"}]`,
			}, s.Charset())
			if err != nil {
				t.Fatal(err)
			}
			n, err := c.VerifyNotification(body)
			if err != nil {
				t.Fatal(err)
			}
			if n.Subject != "大乐透" || n.TotalAmount != "9.00" || n.FundBillList != `[{"amount":"9.00","fundChannel":"ALIPAYACCOUNT"}]` {
				t.Fatalf("notification %+v", n)
			}

			faults := []struct {
				fault alipaytest.Fault
				check func(error) bool
			}{
				{alipaytest.Fault{HTTPStatus: 502, Count: 1}, alipay.Unreachable},
				{alipaytest.Fault{HTML: true, Count: 1}, alipay.Unreachable},
				{alipaytest.Fault{Drop: true, Count: 1}, alipay.Unreachable},
				{alipaytest.Fault{Code20000: true, Count: 1}, func(err error) bool { return alipay.Retryable(err) && !alipay.Unreachable(err) }},
				// A tampered answer is no verdict: as if none had come.
				{alipaytest.Fault{BadSign: true, Count: 1}, func(err error) bool { return errors.Is(err, alipay.ErrSignature) && alipay.Unreachable(err) }},
			}
			for _, f := range faults {
				s.SetFault(alipay.MethodTwostageCommonUse, f.fault)
				req := alipay.TwostageRequest{DynamicID: s.IssueCode("2088123412341234"), SenceNo: "T1-F", PayPID: "2088702093900999"}
				if got, err := c.TwostageCommonUse(ctx, req); got != nil || !f.check(err) {
					t.Errorf("fault %+v: got %+v, %v", f.fault, got, err)
				}
			}
		})
	}
}

// TestFakeGatewayRotation: Alipay rotates its certificate; the client
// downloads the new one and trusts it because it chains to the root, and
// refuses one that does not.
func TestFakeGatewayRotation(t *testing.T) {
	s := alipaytest.NewServer(alipaytest.WithCertMode())
	defer s.Close()
	c := clientFor(t, s)
	s.AddUser(alipaytest.User{UserID: "2088123412341234", Authorised: true})
	ctx := context.Background()
	decode := func() error {
		_, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: s.IssueCode("2088123412341234"), SenceNo: "R-" + s.Now().Format("150405.000000"), PayPID: "2088702093900999"})
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RotateAlipayCert(key); err != nil {
		t.Fatal(err)
	}
	if err := decode(); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if err := s.RotateAlipayCertUnchained(nil); err != nil {
		t.Fatal(err)
	}
	if err := decode(); !errors.Is(err, alipay.ErrUnknownCert) {
		t.Fatalf("unchained certificate: got %v, want ErrUnknownCert", err)
	}
}

// TestReadyGatesTheSend: a request's Ready is called once, after signing and
// before sending; when it fails nothing reaches the gateway and the call
// fails with its error, as a final answer (nothing to retry).
func TestReadyGatesTheSend(t *testing.T) {
	s := alipaytest.NewServer()
	defer s.Close()
	c := clientFor(t, s)
	s.AddUser(alipaytest.User{UserID: "2088123412341234", Authorised: true})
	ctx := context.Background()
	notOnDisk := errors.New("sence_no not on disk")
	for _, tt := range []struct {
		name string
		err  error
		sent int
	}{
		{"ready", nil, 1},
		{"not ready", notOnDisk, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Requests())
			calls := 0
			ready := func() error {
				calls++
				if n := len(s.Requests()); n != before {
					t.Errorf("gateway had %d new requests before Ready returned", n-before)
				}
				return tt.err
			}
			r, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: s.IssueCode("2088123412341234"), SenceNo: "G-" + tt.name, PayPID: "2088702093900999", Ready: ready})
			if calls != 1 {
				t.Errorf("Ready called %d times, want once", calls)
			}
			if sent := len(s.Requests()) - before; sent != tt.sent {
				t.Errorf("gateway got %d requests, want %d", sent, tt.sent)
			}
			if tt.err == nil {
				if err != nil || r.UserID != "2088123412341234" {
					t.Fatalf("decode: %+v, %v", r, err)
				}
				return
			}
			if !errors.Is(err, tt.err) || alipay.Retryable(err) {
				t.Errorf("err = %v (retryable %v), want %v, final", err, alipay.Retryable(err), tt.err)
			}
		})
	}
}

// The gateway echoes the string it verified when a signature fails, and
// that string holds biz_content with the payment code: the error a caller
// logs must carry the code masked, never in full.
func TestSignatureErrorMasksPaymentCode(t *testing.T) {
	s := alipaytest.NewServer()
	defer s.Close()
	s.AddUser(alipaytest.User{UserID: "2088123412341234", Authorised: true})
	wrong, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client(func(c *alipay.Config) { c.PrivateKey = wrong })
	code := s.IssueCode("2088123412341234")
	_, err = c.TwostageCommonUse(context.Background(), alipay.TwostageRequest{DynamicID: code, SenceNo: "T1-S", PayPID: "2088702093900999"})
	var e *alipay.Error
	if !errors.As(err, &e) || e.SubCode != alipay.SubInvalidSignature {
		t.Fatalf("got %v, want %s", err, alipay.SubInvalidSignature)
	}
	if strings.Contains(err.Error(), code) || strings.Contains(e.SubMsg, code) {
		t.Fatalf("the error carries the full payment code: %v", err)
	}
	if strings.Contains(e.SubMsg, redact.Code(code)) {
		t.Fatalf("sub_msg still quotes the request, masked: %q", e.SubMsg)
	}
}

// For isv.invalid-signature the gateway echoes the whole string it verified,
// biz_content and app_auth_token included. Whatever the method, the *Error
// keeps the gateway's advice and leaves the echo out, so none of the
// request's secrets reach a log, an event or the screen.
func TestSignatureErrorLeavesOutTheEcho(t *testing.T) {
	const (
		userID    = "2088123412341234"
		authToken = "201510BBaabdb44d8fd04607abf8d5931ec75D84"
		smsCode   = "739105"
		token     = "APPLYTOKEN20261122abcdef"
	)
	s := alipaytest.NewServer()
	defer s.Close()
	s.AddUser(alipaytest.User{UserID: userID, Authorised: true})
	wrong, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client(func(c *alipay.Config) { c.PrivateKey, c.AppAuthToken = wrong, authToken })
	ctx := context.Background()
	code := s.IssueCode(userID)
	for _, tc := range []struct {
		method  string
		call    func() error
		secrets []string
	}{
		{alipay.MethodTwostageCommonUse, func() error {
			_, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: code, SenceNo: "T1-S", PayPID: "2088702093900999"})
			return err
		}, []string{code, authToken}},
		{alipay.MethodPassInstanceAdd, func() error {
			_, err := c.PassInstanceAdd(ctx, alipay.PassInstanceAddRequest{TplID: "tplA", TplParams: map[string]string{"who": userID, "serialNumber": "1"},
				RecognitionInfo: alipay.RecognitionInfo{PartnerID: "2088702093900999", OutTradeNo: "T1-S"}})
			return err
		}, []string{userID, authToken}},
		{alipay.MethodAgreementAuthConfirm, func() error {
			return c.AgreementAuthConfirm(ctx, alipay.AgreementAuthConfirmRequest{AgreementNo: "20261122000000000001", ApplyToken: token, AuthConfirmNo: smsCode})
		}, []string{smsCode, token, authToken}},
	} {
		t.Run(tc.method, func(t *testing.T) {
			err := tc.call()
			var e *alipay.Error
			if !errors.As(err, &e) || e.SubCode != alipay.SubInvalidSignature {
				t.Fatalf("got %v, want %s", err, alipay.SubInvalidSignature)
			}
			for _, secret := range tc.secrets {
				if strings.Contains(err.Error(), secret) || strings.Contains(e.Msg, secret) || strings.Contains(e.SubMsg, secret) {
					t.Errorf("the error quotes %q from the request: %v", secret, err)
				}
			}
			for _, want := range []string{"验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配", "left out", "customer data"} {
				if !strings.Contains(e.SubMsg, want) {
					t.Errorf("sub_msg %q lacks %q", e.SubMsg, want)
				}
			}
		})
	}
}
