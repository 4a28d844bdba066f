package alipay

import "context"

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
	biz, err := marshalBiz(req)
	if err != nil {
		return &Error{Method: method, Err: err}
	}
	_, err = c.call(ctx, method, biz, nil)
	return err
}
