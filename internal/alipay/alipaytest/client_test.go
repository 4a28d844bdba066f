package alipaytest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"posagent/internal/alipay"
)

// These tests drive the fake through the real client of package alipay, the
// way posagent uses it.

func subCode(err error) string {
	var e *alipay.Error
	if errors.As(err, &e) {
		return e.SubCode
	}
	return ""
}

func TestClientTwostage(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := newServer(t, WithClock(clock.Now))
	c := s.Client()
	s.AddUser(User{UserID: "2088123412341234", Authorised: true, School: &alipay.HSchoolInfo{SchoolStdCode: "41/36013432", CampusNo: "2019021208"}})
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	s.AddUser(User{UserID: "2088000000000002"})
	code := s.IssueCode("2088123412341234")

	r, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: code, SenceNo: "T1-1", PayPID: payPID})
	if err != nil {
		t.Fatal(err)
	}
	if r.UserID != "2088123412341234" || r.School() == nil || *r.School() != (alipay.HSchoolInfo{SchoolStdCode: "41/36013432", CampusNo: "2019021208"}) {
		t.Fatalf("decoded %+v", r)
	}
	if _, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: code, SenceNo: "T1-1", PayPID: payPID}); err != nil {
		t.Fatalf("same sence_no again: %v", err)
	}
	r, err = c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: s.IssueCode("2088000000000001"), SenceNo: "T1-2", PayPID: payPID})
	if err != nil || r.School() != nil {
		t.Fatalf("plain user: %+v %v", r, err)
	}

	for _, tt := range []struct {
		name, code, sence, sub string
		retry                  bool
	}{
		{"another sence_no", code, "T1-3", alipay.SubSenceNoUnMatch, false},
		{"not authorised", s.IssueCode("2088000000000002"), "T1-4", alipay.SubUserUnAuth, false},
		{"expired", s.ExpiredCode("2088000000000001"), "T1-5", alipay.SubCodeExpired, false},
		{"illegal", s.IllegalCode(), "T1-6", alipay.SubIllegalCode, false},
		{"unknown", "280000000000000001", "T1-7", alipay.SubIndexNotExist, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: tt.code, SenceNo: tt.sence, PayPID: payPID})
			if subCode(err) != tt.sub || alipay.Retryable(err) != tt.retry || alipay.Unreachable(err) {
				t.Fatalf("got %v (retryable %v)", err, alipay.Retryable(err))
			}
		})
	}

	// Codes expire on the server's clock, which the client shares.
	code = s.IssueCode("2088000000000001")
	clock.Add(DefaultCodeTTL)
	if _, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: code, SenceNo: "T1-8", PayPID: payPID}); subCode(err) != alipay.SubCodeExpired {
		t.Fatalf("after the TTL: %v", err)
	}
}

func TestClientFaults(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	c := s.Client()
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	n := 0
	decode := func() error {
		n++
		_, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: s.IssueCode("2088000000000001"), SenceNo: fmt.Sprint("F-", n), PayPID: payPID})
		return err
	}
	for _, tt := range []struct {
		name                   string
		fault                  Fault
		retryable, unreachable bool
		is                     error
	}{
		{"drop", Fault{Drop: true}, true, true, nil},
		{"HTTP 502", Fault{HTTPStatus: 502}, true, true, nil},
		{"HTML 200", Fault{HTML: true}, true, true, nil},
		{"HTML 503", Fault{HTML: true, HTTPStatus: 503}, true, true, nil},
		{"bad sign", Fault{BadSign: true}, true, true, alipay.ErrSignature},
		{"code 20000", Fault{Code20000: true}, true, false, nil},
		{"SYSTEM_ERROR", Fault{SubCode: alipay.SubSystemError}, true, false, nil},
		{"DECODE_FAILED", Fault{SubCode: alipay.SubDecodeFailed}, false, false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.fault
			f.Count = 1
			s.SetFault(alipay.MethodTwostageCommonUse, f)
			err := decode()
			if err == nil || alipay.Retryable(err) != tt.retryable || alipay.Unreachable(err) != tt.unreachable || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("%v: retryable %v unreachable %v", err, alipay.Retryable(err), alipay.Unreachable(err))
			}
			if err := decode(); err != nil {
				t.Fatalf("after the fault: %v", err)
			}
		})
	}

	t.Run("latency past the client's deadline", func(t *testing.T) {
		s.SetFault("", Fault{Latency: time.Minute, Count: 1})
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: s.IssueCode("2088000000000001"), SenceNo: "F-late", PayPID: payPID})
		if !alipay.Retryable(err) || !alipay.Unreachable(err) {
			t.Fatalf("%v", err)
		}
	})

	t.Run("down", func(t *testing.T) {
		if err := s.SetDown(true); err != nil {
			t.Fatal(err)
		}
		err := decode()
		if !alipay.Unreachable(err) || !alipay.Retryable(err) {
			t.Fatalf("%v", err)
		}
		if err := s.SetDown(false); err != nil {
			t.Fatal(err)
		}
		if err := decode(); err != nil {
			t.Fatalf("back up: %v", err)
		}
	})
}

func TestClientPassExactlyOnce(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, WithCharset("GBK"))
	c := s.Client()
	s.AddTemplate("tpl-coupon", "title")
	req := alipay.PassInstanceAddRequest{
		TplID:           "tpl-coupon",
		TplParams:       map[string]string{"title": "满10元减2元", "serialNumber": "T1-20260301-0001"},
		RecognitionInfo: alipay.RecognitionInfo{PartnerID: "2088102114633762", OutTradeNo: "1234567"},
	}
	// The pass is issued, the answer lost: the client sees the gateway as unreachable.
	s.SetFault(alipay.MethodPassInstanceAdd, Fault{Drop: true, Processed: true, Count: 1})
	if _, err := c.PassInstanceAdd(ctx, req); !alipay.Unreachable(err) {
		t.Fatalf("lost answer: %v", err)
	}
	r, err := c.PassInstanceAdd(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	ps := s.Passes()
	if !r.Success || len(ps) != 1 || r.Result.PassID != ps[0].PassID || ps[0].Requests != 2 || ps[0].TplParams["title"] != "满10元减2元" {
		t.Fatalf("result %+v passes %+v", r, ps)
	}
	if got := s.Requests()[0].Charset; got != "GBK" {
		t.Fatalf("charset %s", got)
	}

	req.TplParams = map[string]string{"serialNumber": "T1-20260301-0002"}
	if _, err := c.PassInstanceAdd(ctx, req); subCode(err) != alipay.SubPassParamIsNull {
		t.Fatalf("missing variable: %v", err)
	}
}

func TestClientPassErrorsInResult(t *testing.T) {
	s := newServer(t, WithPassErrorsInResult())
	c := s.Client()
	s.AddTemplate("tpl", "title")
	_, err := c.PassInstanceAdd(context.Background(), alipay.PassInstanceAddRequest{
		TplID: "tpl", TplParams: map[string]string{"serialNumber": "S"},
		RecognitionInfo: alipay.RecognitionInfo{PartnerID: "2088102114633762", OutTradeNo: "1"},
	})
	if subCode(err) != alipay.SubPassParamIsNull {
		t.Fatalf("%v", err)
	}
}

func TestClientAgreement(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	c := s.Client()
	s.AddAgreement(Agreement{AgreementNo: "20170502000610755993", ApplyToken: "TOKEN", SMSCode: "423979"})
	confirm := func(code string) error {
		return c.AgreementAuthConfirm(ctx, alipay.AgreementAuthConfirmRequest{AgreementNo: "20170502000610755993", ApplyToken: "TOKEN", AuthConfirmNo: code})
	}
	if err := confirm("000000"); subCode(err) != alipay.SubValidateCodeAnswerError || alipay.Retryable(err) {
		t.Fatalf("wrong code: %v", err)
	}
	if err := confirm("423979"); err != nil {
		t.Fatal(err)
	}
	if !s.Confirmed("20170502000610755993") {
		t.Fatal("not confirmed")
	}
}

func TestClientCertMode(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, WithCertMode(), WithEncryptKey(aesKey))
	c := s.Client()
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	decode := func(sence string) error {
		_, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: s.IssueCode("2088000000000001"), SenceNo: sence, PayPID: payPID})
		return err
	}
	if err := decode("C1"); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if r := reqs[len(reqs)-1]; r.Params.Get("encrypt_type") != "AES" || r.Biz["sence_no"] != "C1" {
		t.Fatalf("recorded %+v", r)
	}
	// Alipay rotates its certificate: the client fetches the new one, which chains to the root.
	if err := s.RotateAlipayCert(rootKey); err != nil {
		t.Fatal(err)
	}
	if err := decode("C2"); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	// A certificate that does not chain to the root is refused, and so is its answer.
	if err := s.RotateAlipayCertUnchained(appKey); err != nil {
		t.Fatal(err)
	}
	if err := decode("C3"); err == nil {
		t.Fatal("answer under an unchained certificate accepted")
	}
}

func TestClientSignTypeRSA(t *testing.T) {
	s := newServer(t, WithSignType(alipay.RSA))
	c := s.Client()
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	if _, err := c.TwostageCommonUse(context.Background(), alipay.TwostageRequest{DynamicID: s.IssueCode("2088000000000001"), SenceNo: "R1", PayPID: payPID}); err != nil {
		t.Fatal(err)
	}
}

func TestClientWrongKey(t *testing.T) {
	s := newServer(t)
	cfg := s.ClientConfig()
	cfg.PrivateKey = rootKey // not the app key the gateway knows
	c, err := alipay.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	_, err = c.TwostageCommonUse(context.Background(), alipay.TwostageRequest{DynamicID: s.IssueCode("2088000000000001"), SenceNo: "W1", PayPID: payPID})
	if subCode(err) != alipay.SubInvalidSignature || alipay.Retryable(err) {
		t.Fatalf("%v", err)
	}
}

// TestClientUnsignedErrorResponse checks that the unsigned error_response
// the gateway gives an unknown app reaches the client with its codes, but
// as no verdict (gateway unreachable): anyone on the path could have
// written it.
func TestClientUnsignedErrorResponse(t *testing.T) {
	s := newServer(t)
	cfg := s.ClientConfig()
	cfg.AppID = "2021000000000999"
	c, err := alipay.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = c.AgreementAuthConfirm(context.Background(), alipay.AgreementAuthConfirmRequest{AgreementNo: "A", ApplyToken: "T", AuthConfirmNo: "1"})
	var e *alipay.Error
	if !errors.As(err, &e) || e.Code != alipay.CodeInvalidParameter || e.SubCode != "isv.invalid-app-id" || !alipay.Unreachable(err) || !errors.Is(err, alipay.ErrUnsigned) {
		t.Fatalf("%v", err)
	}
}

func TestClientVerifiesNotify(t *testing.T) {
	for _, tt := range []struct {
		name, charset string
		opts          []Option
	}{
		{"utf-8", "utf-8", nil},
		{"GBK", "GBK", nil},
		{"GBK to a utf-8 client, RSA", "GBK", []Option{WithSignType(alipay.RSA)}},
		{"cert mode", "utf-8", []Option{WithCertMode()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.opts...)
			c := s.Client()
			body, err := s.Notify(tradeFields, tt.charset)
			if err != nil {
				t.Fatal(err)
			}
			n, err := c.VerifyNotification(body)
			if err != nil {
				t.Fatal(err)
			}
			if n.Subject != "大乐透" || n.FundBillList != tradeFields["fund_bill_list"] || n.TotalAmount != "9.00" ||
				n.TradeStatus != "TRADE_SUCCESS" || n.AppID != s.AppID() || n.NotifyType != "trade_status_sync" {
				t.Fatalf("notification %+v", n)
			}
			// One flipped byte in a signed value: refused.
			bad := []byte(strings.Replace(string(body), "total_amount=9.00", "total_amount=9.01", 1))
			if _, err := c.VerifyNotification(bad); !errors.Is(err, alipay.ErrSignature) {
				t.Fatalf("tampered notification: %v", err)
			}
		})
	}
}
