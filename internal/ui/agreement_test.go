package ui

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
)

// fakeConfirmer answers each AgreementAuthConfirm with the next error the
// test sends on answers, and records the requests.
type fakeConfirmer struct {
	mu      sync.Mutex
	reqs    []alipay.AgreementAuthConfirmRequest
	called  chan struct{}
	answers chan error
}

func newFakeConfirmer() *fakeConfirmer {
	return &fakeConfirmer{called: make(chan struct{}, 16), answers: make(chan error)}
}

func (f *fakeConfirmer) AgreementAuthConfirm(ctx context.Context, req alipay.AgreementAuthConfirmRequest) error {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	f.called <- struct{}{}
	select {
	case err := <-f.answers:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func bizErr(sub string) error {
	return &alipay.Error{Method: alipay.MethodAgreementAuthConfirm, Code: alipay.CodeBusinessFailed, Msg: "Business Failed", SubCode: sub}
}

func TestAgreementDialogSaysWhatHappened(t *testing.T) {
	fc := newFakeConfirmer()
	h := start(t, Deps{Agreements: fc}, 100, 30)
	h.key(tcell.KeyF5, 0, tcell.ModNone)
	h.waitFor(t, "agreement_no", "apply_token", "SMS code")
	h.typeText("20170502000610755993")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("MDEDUCT0068292ca377d1d44b65fa24ec9cd89132f")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("423979")
	h.waitFor(t, "423979")

	cases := []struct {
		err  error
		want string
	}{
		{bizErr(alipay.SubValidateCodeAnswerError), "The SMS code is wrong"},
		{bizErr(alipay.SubValidateCodeExpired), "The SMS code has expired"},
		{bizErr(alipay.SubValidateCodeTimesLimit), "Too many tries"},
		{bizErr(alipay.SubAgreementNotExist), "Agreement not found"},
		{bizErr(alipay.SubAuthTokenNotExist), "apply token was not found"},
		{bizErr(alipay.SubMerchantAgreementMissing), "merchant has no deduction contract"},
		{bizErr(alipay.SubUserAgreementExpired), "customer's agreement has expired"},
		{bizErr(alipay.SubRiskAccountFrozen), "account is frozen"},
		{&alipay.Error{Method: alipay.MethodAgreementAuthConfirm, Err: errors.New("connection refused")}, "Could not reach Alipay"},
		{nil, "CONFIRMED: the customer's agreement 20170502000610755993 is confirmed"},
	}
	for _, c := range cases {
		h.key(tcell.KeyF9, 0, tcell.ModNone)
		select {
		case <-fc.called:
		case <-time.After(waitLimit):
			t.Fatal("F9 did not call AgreementAuthConfirm")
		}
		// While the gateway is slow the screen still answers keys.
		h.key(tcell.KeyF1, 0, tcell.ModNone)
		h.waitFor(t, "Help — keys of every screen")
		h.key(tcell.KeyF5, 0, tcell.ModNone)
		h.waitFor(t, "Sending")
		fc.answers <- c.err
		h.waitFor(t, c.want)
	}
	want := alipay.AgreementAuthConfirmRequest{AgreementNo: "20170502000610755993",
		ApplyToken: "MDEDUCT0068292ca377d1d44b65fa24ec9cd89132f", AuthConfirmNo: "423979"}
	if fc.reqs[0] != want {
		t.Fatalf("request %+v, want %+v", fc.reqs[0], want)
	}
}

func TestAgreementWordsCoverEverySubCode(t *testing.T) {
	subs := []string{
		alipay.SubValidateCodeTimesLimit, alipay.SubValidateCodeNotExist, alipay.SubValidateCodeExpired,
		alipay.SubValidateCodeAnswerError, alipay.SubMerchantAgreementMissing, alipay.SubMerchantStatusNotNormal,
		alipay.SubMerchantAgreementExpired, alipay.SubUserAgreementNotNormal, alipay.SubUserAgreementExpired,
		alipay.SubRiskBalancePayClosed, alipay.SubRiskAccountFrozen, alipay.SubInvalidParameter,
		alipay.SubSystemError, alipay.SubAgreementNotExist, alipay.SubAuthTokenNotExist,
	}
	seen := map[string]string{}
	for _, sub := range subs {
		w := agreementWords(bizErr(sub))
		if w == agreementWords(bizErr("SOMETHING_NEW")) {
			t.Errorf("%s falls through to the generic text %q", sub, w)
		}
		if prev, dup := seen[w]; dup {
			t.Errorf("%s and %s read the same: %q", sub, prev, w)
		}
		seen[w] = sub
	}
}

// TestAgreementDialogOnFakeGateway goes through the real client and the
// fake gateway on 127.0.0.1: a wrong code, then the right one.
func TestAgreementDialogOnFakeGateway(t *testing.T) {
	srv := alipaytest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddAgreement(alipaytest.Agreement{AgreementNo: "20170502000610755993", ApplyToken: "MDEDUCT0068", SMSCode: "423979"})
	h := start(t, Deps{Agreements: srv.Client()}, 100, 30)
	h.key(tcell.KeyRune, 'a', tcell.ModAlt)
	h.waitFor(t, "agreement_no")
	h.typeText("20170502000610755993")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("MDEDUCT0068")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.typeText("111111")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "NOT CONFIRMED: The SMS code is wrong")
	h.key(tcell.KeyCtrlU, 0, tcell.ModCtrl)
	h.typeText("423979")
	h.key(tcell.KeyRune, 'w', tcell.ModAlt)
	h.waitFor(t, "CONFIRMED: the customer's agreement 20170502000610755993 is confirmed")
	if !srv.Confirmed("20170502000610755993") {
		t.Fatal("the gateway did not confirm the agreement")
	}
}

// Errors of the terminal's setup read as a fixed instruction, never as the
// gateway's text: for a bad signature that text quotes the signed request,
// SMS code and apply token included.
func TestAgreementWordsForConfigurationErrors(t *testing.T) {
	const echo = "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：app_id=2021&amp;biz_content={&quot;apply_token&quot;:&quot;MDEDUCT0068&quot;,&quot;auth_confirm_no&quot;:&quot;423979&quot;}"
	gw := func(code, sub, msg string) error {
		return &alipay.Error{Method: alipay.MethodAgreementAuthConfirm, HTTPStatus: 200, Code: code, Msg: "Invalid Arguments", SubCode: sub, SubMsg: msg}
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"invalid signature", gw(alipay.CodeInvalidParameter, alipay.SubInvalidSignature, echo),
			"The terminal's key does not match the app's public key on Alipay: call support."},
		{"no key configured", gw(alipay.CodeInvalidParameter, "isv.missing-signature-config", "验签出错, 未配置对应签名算法的公钥或者证书"),
			"The terminal's key does not match the app's public key on Alipay: call support."},
		{"other gateway error", gw(alipay.CodeInvalidParameter, "isv.invalid-app-id", "无效的AppID参数"),
			"Alipay refused the terminal's configuration (isv.invalid-app-id): call support."},
		{"unknown business code masks numbers", gw(alipay.CodeBusinessFailed, "SOMETHING_NEW", "user 2088123412341234"),
			"Alipay refused: 40004 Invalid Arguments SOMETHING_NEW user 2088********1234"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := agreementWords(tc.err)
			if got != tc.want {
				t.Errorf("agreementWords = %q, want %q", got, tc.want)
			}
			for _, secret := range []string{"423979", "MDEDUCT0068", "2088123412341234"} {
				if strings.Contains(got, secret) {
					t.Errorf("%q shows %s", got, secret)
				}
			}
		})
	}
}
