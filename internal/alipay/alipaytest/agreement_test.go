package alipaytest

import (
	"strings"
	"testing"
	"time"

	"posagent/internal/alipay"
)

func confirm(t testing.TB, s *Server, no, token, code string) *answer {
	t.Helper()
	return s.do(t, call{method: alipay.MethodAgreementAuthConfirm,
		biz: bizJSON(t, map[string]string{"agreement_no": no, "apply_token": token, "auth_confirm_no": code})})
}

func TestAgreementConfirm(t *testing.T) {
	clock := newClock()
	s := newServer(t, WithClock(clock.Now))
	const tok = "MDEDUCT0068292ca377d1d44b65fa24ec9cd89132f"
	s.AddAgreement(Agreement{AgreementNo: "20170502000610755993", ApplyToken: tok, SMSCode: "423979"})
	s.AddAgreement(Agreement{AgreementNo: "A-LIMIT", ApplyToken: "T", SMSCode: "111111"})
	s.AddAgreement(Agreement{AgreementNo: "A-EXPIRES", ApplyToken: "T", SMSCode: "111111", Expires: clock.Now().Add(time.Minute)})
	s.AddAgreement(Agreement{AgreementNo: "A-NOCODE", ApplyToken: "T"})
	s.AddAgreement(Agreement{AgreementNo: "A-FROZEN", ApplyToken: "T", SMSCode: "1", Fail: alipay.SubRiskAccountFrozen})

	type step struct {
		no, token, code, sub string
	}
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"confirm, and again", []step{
			{"20170502000610755993", tok, "423979", ""},
			{"20170502000610755993", tok, "423979", ""},
		}},
		{"wrong codes up to the limit", []step{
			{"A-LIMIT", "T", "000000", alipay.SubValidateCodeAnswerError},
			{"A-LIMIT", "T", "000001", alipay.SubValidateCodeAnswerError},
			{"A-LIMIT", "T", "000002", alipay.SubValidateCodeTimesLimit},
			{"A-LIMIT", "T", "111111", alipay.SubValidateCodeTimesLimit},
		}},
		{"unknown agreement", []step{{"A-NONE", "T", "1", alipay.SubAgreementNotExist}}},
		{"unknown token", []step{{"A-EXPIRES", "OTHER", "111111", alipay.SubAuthTokenNotExist}}},
		{"no code sent", []step{{"A-NOCODE", "T", "1", alipay.SubValidateCodeNotExist}}},
		{"scripted failure", []step{{"A-FROZEN", "T", "1", alipay.SubRiskAccountFrozen}}},
		{"missing agreement_no", []step{{"", "T", "1", alipay.SubInvalidParameter}}},
		{"agreement_no 65", []step{{strings.Repeat("1", 65), "T", "1", alipay.SubInvalidParameter}}},
		{"apply_token 65", []step{{"A-EXPIRES", strings.Repeat("t", 65), "1", alipay.SubInvalidParameter}}},
		{"auth_confirm_no 11", []step{{"A-EXPIRES", "T", "12345678901", alipay.SubInvalidParameter}}},
		{"auth_confirm_no 10, wrong", []step{{"A-EXPIRES", "T", "1234567890", alipay.SubValidateCodeAnswerError}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i, st := range tt.steps {
				a := confirm(t, s, st.no, st.token, st.code)
				code := alipay.CodeSuccess
				if st.sub != "" {
					code = alipay.CodeBusinessFailed
				}
				if a.str("sub_code") != st.sub {
					t.Fatalf("step %d: got %s (%s), want %s", i, a.str("sub_code"), a.str("sub_msg"), st.sub)
				}
				s.business(t, a, code, st.sub)
			}
		})
	}
	if !s.Confirmed("20170502000610755993") || s.Confirmed("A-LIMIT") {
		t.Fatal("Confirmed wrong")
	}

	clock.Add(time.Minute)
	s.business(t, confirm(t, s, "A-EXPIRES", "T", "111111"), alipay.CodeBusinessFailed, alipay.SubValidateCodeExpired)
}
