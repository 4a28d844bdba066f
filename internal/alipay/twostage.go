package alipay

import (
	"context"
)

// MethodTwostageCommonUse decodes a scanned payment code.
const MethodTwostageCommonUse = "alipay.user.twostage.common.use"

// ProbeDynamicID is the dynamic_id of a probe: a decode that asks whether
// the gateway answers, signed, without touching any customer. It is no
// payment code (those start with 25 to 30), so the gateway answers
// ILLEGAL_CODE and decodes nothing. The agent's health probe and doctor's
// signed call both send it.
const ProbeDynamicID = "1000000000000000"

// Sub codes of alipay.user.twostage.common.use (the page's business codes).
const (
	SubInputIllegal   = "INPUT_ILLEGAL"    // a required parameter is missing
	SubDecodeFailed   = "DECODE_FAILED"    // unknown failure: call support
	SubIndexNotExist  = "INDEX_NOT_EXIST"  // no user for the code: customer refreshes the code
	SubSystemError    = "SYSTEM_ERROR"     // busy: retry
	SubIllegalCode    = "ILLEGAL_CODE"     // not an Alipay payment/member code
	SubCodeExpired    = "CODE_EXPIRED"     // customer refreshes the code
	SubUserUnAuth     = "USER_UN_AUTH"     // customer must authorise the merchant's mini program
	SubSenceNoUnMatch = "SENCENO_UN_MATCH" // decoded before with another sence_no: rescan after refresh
)

// TwostageRequest is the biz_content of alipay.user.twostage.common.use.
type TwostageRequest struct {
	DynamicID string `json:"dynamic_id"` // the scanned payment code, max 32
	SenceNo   string `json:"sence_no"`   // max 128; the same for every decode of one code
	PayPID    string `json:"pay_pid"`    // max 32

	// Ready, when set, holds the request between signing and sending: the
	// client builds and signs it, calls Ready once, and sends it only if
	// Ready returns nil; otherwise nothing is sent and the call fails with
	// Ready's error. The decode flow signs while its sence_no is still
	// being committed, and lets the request leave once it is on disk.
	Ready func() error `json:"-"`
}

// TwostageResponse is what a decode returns.
type TwostageResponse struct {
	UserID           string            `json:"user_id"`
	UserIdentityInfo *UserIdentityInfo `json:"user_identity_info,omitempty"`
}

// UserIdentityInfo is the identity parsed from the code.
type UserIdentityInfo struct {
	HSchoolInfo *HSchoolInfo `json:"h_school_info,omitempty"`
}

// HSchoolInfo is the campus identity of a student code.
type HSchoolInfo struct {
	SchoolStdCode string `json:"school_std_code"` // max 64
	CampusNo      string `json:"campus_no"`       // max 64
}

// School returns the campus identity, or nil for a user without one.
func (r *TwostageResponse) School() *HSchoolInfo {
	if r == nil || r.UserIdentityInfo == nil {
		return nil
	}
	return r.UserIdentityInfo.HSchoolInfo
}

// Validate checks the request against the limits of
// alipay.user.twostage.common.use.
func (r TwostageRequest) Validate() error {
	return firstProblem(
		checkRequired("dynamic_id", r.DynamicID, 32),
		checkRequired("sence_no", r.SenceNo, 128),
		checkRequired("pay_pid", r.PayPID, 32),
	)
}

// TwostageCommonUse decodes a scanned payment code into the customer's
// user_id and campus identity (alipay.user.twostage.common.use). Decoding the
// same code again must carry the same sence_no; the gateway answers
// SENCENO_UN_MATCH otherwise.
func (c *Client) TwostageCommonUse(ctx context.Context, req TwostageRequest) (*TwostageResponse, error) {
	const method = MethodTwostageCommonUse
	if err := req.Validate(); err != nil {
		return nil, &Error{Method: method, Err: err}
	}
	return send(ctx, c, method, req, req.Ready, decodeAs[TwostageResponse])
}
