package alipaytest

import (
	"fmt"
	"time"

	"posagent/internal/alipay"
)

// Agreement is a deduction agreement waiting for the SMS code its user
// received (alipay.user.agreement.auth.confirm).
type Agreement struct {
	AgreementNo string
	ApplyToken  string    // the token of the authentication application
	SMSCode     string    // the code sent to the user; empty answers VALIDATECODE_IS_NOT_EXIST
	Expires     time.Time // when the SMS code stops working; zero: DefaultAgreeTTL from AddAgreement
	// Fail, when set, is the sub code every confirm answers: one of the
	// page's MERCHANT_*, USER_*, ERROR_RISK_* codes.
	Fail string
}

type agreement struct {
	Agreement
	wrong     int  // wrong codes so far
	confirmed bool // confirmed: the same code again answers success again
}

// AddAgreement registers an agreement to confirm. A confirm with the wrong
// code answers VALIDATECODE_ANSWER_ERROR; the MaxConfirmAttempts-th wrong
// code, and every confirm after it, VALIDATECODE_TIMES_LIMIT.
func (s *Server) AddAgreement(a Agreement) {
	if a.Expires.IsZero() {
		a.Expires = s.now().Add(DefaultAgreeTTL)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agreements[a.AgreementNo] = &agreement{Agreement: a}
}

// Confirmed reports whether an agreement has been confirmed.
func (s *Server) Confirmed(agreementNo string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agreements[agreementNo]
	return ok && a.confirmed
}

// agreementConfirm is alipay.user.agreement.auth.confirm.
func (s *Server) agreementConfirm(obj map[string]any, bizErr error) *reply {
	const method = alipay.MethodAgreementAuthConfirm
	fail := func(sub, detail string) *reply {
		return failure(method, alipay.CodeBusinessFailed, sub, subMsg(sub, detail))
	}
	if bizErr != nil {
		return fail(alipay.SubInvalidParameter, bizErr.Error())
	}
	fields := map[string]string{}
	for _, p := range []struct {
		name string
		max  int
	}{{"agreement_no", 64}, {"apply_token", 64}, {"auth_confirm_no", 10}} {
		v, problem := bizString(obj, p.name)
		if problem != "" {
			return fail(alipay.SubInvalidParameter, problem)
		}
		if n := runes(v); n > p.max {
			return fail(alipay.SubInvalidParameter, fmt.Sprintf("%s is %d characters, at most %d", p.name, n, p.max))
		}
		fields[p.name] = v
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agreements[fields["agreement_no"]]
	switch {
	case !ok:
		return fail(alipay.SubAgreementNotExist, "")
	case a.ApplyToken != fields["apply_token"]:
		return fail(alipay.SubAuthTokenNotExist, "")
	case a.Fail != "":
		return fail(a.Fail, "")
	case a.confirmed && a.SMSCode == fields["auth_confirm_no"]:
		return success(method)
	case a.SMSCode == "":
		return fail(alipay.SubValidateCodeNotExist, "")
	case a.wrong >= MaxConfirmAttempts:
		return fail(alipay.SubValidateCodeTimesLimit, "")
	case !s.now().Before(a.Expires):
		return fail(alipay.SubValidateCodeExpired, "")
	case a.SMSCode != fields["auth_confirm_no"]:
		a.wrong++
		if a.wrong >= MaxConfirmAttempts {
			return fail(alipay.SubValidateCodeTimesLimit, "")
		}
		return fail(alipay.SubValidateCodeAnswerError, fmt.Sprintf("%d of %d attempts left", MaxConfirmAttempts-a.wrong, MaxConfirmAttempts))
	}
	a.confirmed = true
	return success(method)
}
