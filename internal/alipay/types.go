package alipay

import (
	"fmt"
)

// Method names of the gateway methods posagent calls.
const (
	MethodTwostageCommonUse    = "alipay.user.twostage.common.use"
	MethodPassInstanceAdd      = "alipay.pass.instance.add"
	MethodAgreementAuthConfirm = "alipay.user.agreement.auth.confirm"
	MethodTradeAppPay          = "alipay.trade.app.pay"
)

// Gateway codes (the response's "code").
const (
	CodeSuccess             = "10000"
	CodeServiceUnavailable  = "20000" // sub_code isp.unknow-error: retry
	CodeInsufficientAuth    = "20001"
	CodeMissingParameter    = "40001"
	CodeInvalidParameter    = "40002"
	CodeBusinessFailed      = "40004"
	CodeInsufficientPermits = "40006"
)

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

// Sub codes of alipay.pass.instance.add.
const (
	SubPassParamIsNull        = "KP.AE_ALIPASS_PARAME_IS_NULL"
	SubPassRecognitionType    = "KP.AE_ALIPASS_RECOGNITION_TYPE_NOSUPPORT"
	SubPassSystemError        = "KP.AE_SYSTEM_ERROR" // retry
	SubPassAppIDNotSupported  = "KP.AE_ALIPASS_APPID_NOSUPPORT"
	SubPassUserIDNotSupported = "KP.AE_ALIPASS_USERID_NOSUPPORT"
	SubPassParamsValueInvalid = "KP.AE_ALIPASS_PARAMS_VALUE_INVAILD"
	SubPassParamsFormatError  = "KP.AE_ALIPASS_PARAMS_FORMAT_ERROR"
	SubPassCharNotGBK         = "KP.AE_ALIPASS_CHAR_NOT_GBK"
	RecognitionTypeOrder      = "1" // the only recognition_type: order information
	PassOperateAdd            = "ADD"
	PassResultSuccess         = "SUCCESS"
)

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

// Gateway-wide sub codes.
const (
	SubUnknownError     = "isp.unknow-error" // sic: the gateway's spelling
	SubInvalidSignature = "isv.invalid-signature"
)

// Error is a failure reported by the gateway, or a transport failure on the
// way to it (then Code is empty and Err holds the cause). Match it with
// errors.As; tell retryable failures from final ones with Retryable.
type Error struct {
	Method     string
	HTTPStatus int // 0 when no HTTP response arrived
	Code       string
	Msg        string
	SubCode    string
	SubMsg     string
	Err        error // transport or decoding cause, if any
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s: %s %s (%s %s)", e.Method, e.Code, e.Msg, e.SubCode, e.SubMsg)
	}
	s := e.Method
	if e.HTTPStatus != 0 && e.HTTPStatus != 200 {
		s += fmt.Sprintf(": HTTP %d", e.HTTPStatus)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if s == e.Method {
		s += ": gateway error"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

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

// PassInstanceAddRequest is the biz_content of alipay.pass.instance.add.
// TplParams and RecognitionInfo travel as JSON strings inside biz_content, as
// the page requires; the client serializes them.
type PassInstanceAddRequest struct {
	TplID           string            // max 999
	TplParams       map[string]string // serialized max 99999
	RecognitionType string            // "1" (RecognitionTypeOrder), the default when empty
	RecognitionInfo RecognitionInfo   // serialized max 999
}

// RecognitionInfo identifies the customer through an order.
type RecognitionInfo struct {
	PartnerID  string `json:"partner_id"`
	OutTradeNo string `json:"out_trade_no"`
}

// PassInstanceAddResponse is the response of alipay.pass.instance.add.
type PassInstanceAddResponse struct {
	Success bool       // the "success" flag, "true" or "false" on the wire
	Result  PassResult // the "result" JSON string, parsed
}

// PassResult is the parsed "result" of alipay.pass.instance.add.
type PassResult struct {
	SerialNumber string `json:"serialNumber"`
	PassID       string `json:"passId"`
	Operate      string `json:"operate"` // or "operation", as the page's table names it
	ErrorCode    string `json:"errorCode"`
	ErrorMsg     string `json:"errorMsg"`
}

// AgreementAuthConfirmRequest is the biz_content of
// alipay.user.agreement.auth.confirm.
type AgreementAuthConfirmRequest struct {
	AgreementNo   string `json:"agreement_no"`    // max 64
	ApplyToken    string `json:"apply_token"`     // max 64
	AuthConfirmNo string `json:"auth_confirm_no"` // the SMS code, max 10
}
