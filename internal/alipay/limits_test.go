package alipay

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// expectField checks that err is an *Error wrapping a FieldError on field.
func expectField(t *testing.T, err error, field string) {
	t.Helper()
	var e *Error
	var fe *FieldError
	switch {
	case field == "" && err != nil:
		t.Fatalf("unexpected error %v", err)
	case field == "":
	case !errors.As(err, &e) || !errors.As(err, &fe):
		t.Fatalf("got %v (%T), want *Error wrapping a FieldError on %s", err, err, field)
	case fe.Field != field:
		t.Fatalf("got a FieldError on %s (%v), want one on %s", fe.Field, err, field)
	case Retryable(err):
		t.Fatalf("a bad request is retryable: %v", err)
	}
}

// TestGatewayMethodLimits checks every limit of the three gateway methods'
// pages, and that a request breaking one is never sent.
func TestGatewayMethodLimits(t *testing.T) {
	g := newTestGateway(t)
	g.handle(func(r gotRequest) (int, []byte) {
		return 200, signedBody(t, g.key, r.Form.Get("method"), `{"code":"10000","msg":"Success","success":"true","result":"{}"}`)
	})
	c := g.client()
	ctx := context.Background()
	long := func(n int) string { return strings.Repeat("9", n) }
	han := func(n int) string { return strings.Repeat("券", n) }

	twostage := []struct {
		name  string
		mod   func(*TwostageRequest)
		field string
	}{
		{"page example", func(*TwostageRequest) {}, ""},
		{"dynamic_id missing", func(r *TwostageRequest) { r.DynamicID = "" }, "dynamic_id"},
		{"dynamic_id blank", func(r *TwostageRequest) { r.DynamicID = "  " }, "dynamic_id"},
		{"dynamic_id 32", func(r *TwostageRequest) { r.DynamicID = long(32) }, ""},
		{"dynamic_id 33", func(r *TwostageRequest) { r.DynamicID = long(33) }, "dynamic_id"},
		{"sence_no missing", func(r *TwostageRequest) { r.SenceNo = "" }, "sence_no"},
		{"sence_no 128", func(r *TwostageRequest) { r.SenceNo = long(128) }, ""},
		{"sence_no 129", func(r *TwostageRequest) { r.SenceNo = long(129) }, "sence_no"},
		{"pay_pid missing", func(r *TwostageRequest) { r.PayPID = "" }, "pay_pid"},
		{"pay_pid 33", func(r *TwostageRequest) { r.PayPID = long(33) }, "pay_pid"},
	}
	for _, tt := range twostage {
		t.Run("twostage/"+tt.name, func(t *testing.T) {
			req := pageTwostage
			tt.mod(&req)
			before := len(g.requests())
			_, err := c.TwostageCommonUse(ctx, req)
			expectField(t, err, tt.field)
			if sent := len(g.requests()) - before; (tt.field == "") != (sent == 1) {
				t.Fatalf("%d requests sent", sent)
			}
		})
	}

	agreement := []struct {
		name  string
		mod   func(*AgreementAuthConfirmRequest)
		field string
	}{
		{"page example", func(*AgreementAuthConfirmRequest) {}, ""},
		{"agreement_no missing", func(r *AgreementAuthConfirmRequest) { r.AgreementNo = "" }, "agreement_no"},
		{"agreement_no 64", func(r *AgreementAuthConfirmRequest) { r.AgreementNo = long(64) }, ""},
		{"agreement_no 65", func(r *AgreementAuthConfirmRequest) { r.AgreementNo = long(65) }, "agreement_no"},
		{"apply_token missing", func(r *AgreementAuthConfirmRequest) { r.ApplyToken = "" }, "apply_token"},
		{"apply_token 65", func(r *AgreementAuthConfirmRequest) { r.ApplyToken = long(65) }, "apply_token"},
		{"auth_confirm_no missing", func(r *AgreementAuthConfirmRequest) { r.AuthConfirmNo = "" }, "auth_confirm_no"},
		{"auth_confirm_no 10", func(r *AgreementAuthConfirmRequest) { r.AuthConfirmNo = long(10) }, ""},
		{"auth_confirm_no 11", func(r *AgreementAuthConfirmRequest) { r.AuthConfirmNo = long(11) }, "auth_confirm_no"},
	}
	for _, tt := range agreement {
		t.Run("agreement/"+tt.name, func(t *testing.T) {
			req := AgreementAuthConfirmRequest{AgreementNo: "20170502000610755993", ApplyToken: "MDEDUCT0068292ca377d1d44b65fa24ec9cd89132f", AuthConfirmNo: "423979"}
			tt.mod(&req)
			before := len(g.requests())
			expectField(t, c.AgreementAuthConfirm(ctx, req), tt.field)
			if sent := len(g.requests()) - before; (tt.field == "") != (sent == 1) {
				t.Fatalf("%d requests sent", sent)
			}
		})
	}

	pass := []struct {
		name  string
		mod   func(*PassInstanceAddRequest)
		field string
	}{
		{"page example", func(*PassInstanceAddRequest) {}, ""},
		// The page's example spells it serialNumer; its table, and the
		// gateway, want serialNumber.
		{"serialNumber missing", func(r *PassInstanceAddRequest) { delete(r.TplParams, "serialNumber") }, "tpl_params.serialNumber"},
		{"tpl_id missing", func(r *PassInstanceAddRequest) { r.TplID = "" }, "tpl_id"},
		{"tpl_id 999", func(r *PassInstanceAddRequest) { r.TplID = long(999) }, ""},
		{"tpl_id 1000", func(r *PassInstanceAddRequest) { r.TplID = long(1000) }, "tpl_id"},
		{"tpl_params missing", func(r *PassInstanceAddRequest) { r.TplParams = nil }, "tpl_params"},
		{"tpl_params nameless variable", func(r *PassInstanceAddRequest) { r.TplParams[""] = "x" }, "tpl_params"},
		// {"serialNumber":"1","title":"…"} is 31 characters around the value.
		{"tpl_params 99999", func(r *PassInstanceAddRequest) {
			r.TplParams = map[string]string{"serialNumber": "1", "title": han(99999 - 31)}
		}, ""},
		{"tpl_params 100000", func(r *PassInstanceAddRequest) {
			r.TplParams = map[string]string{"serialNumber": "1", "title": han(99999 - 30)}
		}, "tpl_params"},
		{"tpl_params not GBK", func(r *PassInstanceAddRequest) { r.TplParams["channelID"] = "x\u20ac\U0001F600" }, "tpl_params.channelID"},
		{"recognition_type 1", func(r *PassInstanceAddRequest) { r.RecognitionType = "1" }, ""},
		{"recognition_type 2", func(r *PassInstanceAddRequest) { r.RecognitionType = "2" }, "recognition_type"},
		{"partner_id missing", func(r *PassInstanceAddRequest) { r.RecognitionInfo.PartnerID = "" }, "recognition_info.partner_id"},
		{"out_trade_no missing", func(r *PassInstanceAddRequest) { r.RecognitionInfo.OutTradeNo = "" }, "recognition_info.out_trade_no"},
		// {"partner_id":"","out_trade_no":""} is 35 characters.
		{"recognition_info 999", func(r *PassInstanceAddRequest) {
			r.RecognitionInfo = RecognitionInfo{PartnerID: "1", OutTradeNo: long(999 - 36)}
		}, ""},
		{"recognition_info 1000", func(r *PassInstanceAddRequest) {
			r.RecognitionInfo = RecognitionInfo{PartnerID: "1", OutTradeNo: long(999 - 35)}
		}, "recognition_info"},
	}
	for _, tt := range pass {
		t.Run("pass/"+tt.name, func(t *testing.T) {
			req := PassInstanceAddRequest{
				TplID:           "f038871a4b1151e8038bb9277c3d52e3",
				TplParams:       map[string]string{"title": "券标题", "channelID": "xxx", "serialNumer": "xxxx", "serialNumber": "xxxx"},
				RecognitionInfo: RecognitionInfo{PartnerID: "2088102114633762", OutTradeNo: "1234567"},
			}
			tt.mod(&req)
			before := len(g.requests())
			_, err := c.PassInstanceAdd(ctx, req)
			expectField(t, err, tt.field)
			if sent := len(g.requests()) - before; (tt.field == "") != (sent == 1) {
				t.Fatalf("%d requests sent", sent)
			}
		})
	}
}
