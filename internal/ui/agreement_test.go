package ui

import (
	"context"
	"errors"
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
	client, err := alipay.NewClient(alipay.Config{GatewayURL: srv.URL(), AppID: srv.AppID(), PrivateKey: srv.AppKey(),
		SignType: srv.SignType(), Charset: srv.Charset(), AlipayPublicKey: srv.AlipayPublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, Deps{Agreements: client}, 100, 30)
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
