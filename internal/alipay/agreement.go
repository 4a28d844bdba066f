package alipay

import "context"

// MethodAgreementAuthConfirm confirms a deduction agreement's SMS code.
const MethodAgreementAuthConfirm = "alipay.user.agreement.auth.confirm"

// Sub codes of alipay.user.agreement.auth.confirm.
const (
	SubValidateCodeTimesLimit   = "VALIDATECODE_TIMES_LIMIT"
	SubValidateCodeNotExist     = "VALIDATECODE_IS_NOT_EXIST"
	SubValidateCodeExpired      = "VALIDATECODE_EXPIRED"
	SubValidateCodeAnswerError  = "VALIDATECODE_ANSWER_ERROR"
	SubMerchantAgreementMissing = "MERCHANT_AGREEMENT_IS_NOT_EXIST"
	SubMerchantStatusNotNormal  = "MERCHANT_STATUS_IS_NOT_NORMAL"
	SubMerchantAgreementExpired = "MERCHANT_AGREEMENT_OUT_OF_DATE"
	SubUserAgreementNotNormal   = "USER_AGREEMENT_STATUS_NOT_NORMAL"
	SubUserAgreementExpired     = "USER_AGREEMENT_IS_OUT_OF_DATE"
	SubRiskBalancePayClosed     = "ERROR_RISK_BLANCE_PAY_CLOSE"
	SubRiskAccountFrozen        = "ERROR_RISK_ACCOUNT_FROZEN"
	SubInvalidParameter         = "INVALID_PARAMETER"
	SubAgreementNotExist        = "AGREEMENT_NOT_EXIST"
	SubAuthTokenNotExist        = "AUTH_TOKEN_IS_NOT_EXIST"
	// SYSTEM_ERROR is shared with twostage: SubSystemError.
)

// AgreementAuthConfirmRequest is the biz_content of
// alipay.user.agreement.auth.confirm.
type AgreementAuthConfirmRequest struct {
	AgreementNo   string `json:"agreement_no"`    // max 64
	ApplyToken    string `json:"apply_token"`     // max 64
	AuthConfirmNo string `json:"auth_confirm_no"` // the SMS code, max 10
}

// Validate checks the request against the limits of
// alipay.user.agreement.auth.confirm.
func (r AgreementAuthConfirmRequest) Validate() error {
	return firstProblem(
		checkRequired("agreement_no", r.AgreementNo, 64),
		checkRequired("apply_token", r.ApplyToken, 64),
		checkRequired("auth_confirm_no", r.AuthConfirmNo, 10),
	)
}

// AgreementAuthConfirm confirms the SMS code a customer received for a
// deduction agreement (alipay.user.agreement.auth.confirm). A wrong, expired
// or exhausted code comes back as *Error with the VALIDATECODE_* sub codes.
func (c *Client) AgreementAuthConfirm(ctx context.Context, req AgreementAuthConfirmRequest) error {
	const method = MethodAgreementAuthConfirm
	if err := req.Validate(); err != nil {
		return &Error{Method: method, Err: err}
	}
	_, err := send(ctx, c, method, req, nil, ignore)
	return err
}
