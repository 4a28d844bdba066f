package decode

import (
	"errors"

	"posagent/internal/alipay"
)

// Action is what the screen tells the cashier after a decode failed: a short
// Message saying what happened and the Action to take, both in plain words.
type Action struct {
	Message, Action string
}

// What the cashier can do, phrased once so every screen says it alike.
const (
	doRefresh   = "Ask the customer to refresh the payment code, then scan again."
	doAuthorise = "Ask the customer to authorise the merchant's mini program in Alipay, then scan again."
	doAlipay    = "Ask the customer to show an Alipay payment code (or Taobao member code)."
	doRetry     = "Retrying by itself until the code expires; the customer may also pay another way."
	doSupport   = "Call support; the customer may pay another way."
	doConfig    = "Call support: the terminal's configuration needs fixing."
)

// byCode holds the sub codes of alipay.user.twostage.common.use and the
// gateway-wide ones, with the page's advice turned into cashier words.
var byCode = map[string]Action{
	alipay.SubInputIllegal:     {"Alipay refused the request as incomplete.", doConfig},
	alipay.SubDecodeFailed:     {"Alipay could not decode the code.", doSupport},
	alipay.SubIndexNotExist:    {"Alipay found no customer for this code.", doRefresh},
	alipay.SubSystemError:      {"Alipay is busy.", doRetry},
	alipay.SubIllegalCode:      {"This is not an Alipay payment code.", doAlipay},
	alipay.SubCodeExpired:      {"The payment code has expired.", doRefresh},
	alipay.SubUserUnAuth:       {"The customer has not authorised this merchant.", doAuthorise},
	alipay.SubSenceNoUnMatch:   {"This code was already decoded elsewhere.", "Check the customer was not scanned by mistake, ask them to refresh the code, then scan again."},
	alipay.SubUnknownError:     {"Alipay is temporarily unavailable.", doRetry},
	alipay.SubInvalidSignature: {"Alipay rejected this terminal's signature.", "Call support: check app_id and app_private_key."},
}

// byGatewayCode covers failures whose sub code is not listed above.
var byGatewayCode = map[string]Action{
	alipay.CodeServiceUnavailable:  {"Alipay is temporarily unavailable.", doRetry},
	alipay.CodeInsufficientAuth:    {"Alipay refused this terminal's authorisation.", "Call support: check app_auth_token."},
	alipay.CodeMissingParameter:    {"Alipay refused the request as incomplete.", doConfig},
	alipay.CodeInvalidParameter:    {"Alipay refused a parameter of the request.", doConfig},
	alipay.CodeInsufficientPermits: {"This app may not decode payment codes.", "Call support: the app lacks the permission for alipay.user.twostage.common.use."},
}

// NotQueued is the action when a retryable failure could not be queued.
var NotQueued = Action{"Alipay did not answer and the terminal cannot queue a retry.", "Scan the code again; if it keeps failing, call support."}

// Expired is the action once retries ran out of the code's life.
var Expired = Action{"The payment code expired before Alipay answered.", doRefresh}

// ActionFor says what the cashier should do about err, a failure of
// alipay.user.twostage.common.use. Sub codes the page does not list fall back
// to the gateway code, then to "call support" with the gateway's own words.
func ActionFor(err error) Action {
	var ae *alipay.Error
	var fe *alipay.FieldError
	switch {
	case errors.Is(err, ErrExpired):
		return Expired
	case errors.As(err, &fe) && fe.Field == "dynamic_id":
		return Action{"The scanned code is too long for a payment code; nothing was sent.", doAlipay}
	case errors.As(err, &fe):
		return Action{"The request breaks a limit (" + fe.Field + "); nothing was sent.", doConfig}
	case errors.Is(err, alipay.ErrSignature), errors.Is(err, alipay.ErrUnsigned):
		// Never show what such an answer says: it is not Alipay's.
		return Action{"An answer failed Alipay's signature check and was ignored.", "Call support: check alipay_public_key (or the certificates) and the network."}
	case errors.Is(err, alipay.ErrMalformed):
		return Action{"The gateway's answer was unreadable.", "Call support: check gateway_url."}
	case !errors.As(err, &ae):
		return Action{"Alipay cannot be reached.", doRetry}
	case ae.SubCode != "" && byCode[ae.SubCode] != (Action{}):
		return byCode[ae.SubCode]
	case byGatewayCode[ae.Code] != (Action{}):
		return byGatewayCode[ae.Code]
	case ae.Code == "" && ae.HTTPStatus >= 500:
		return Action{"Alipay is temporarily unavailable.", doRetry}
	case ae.Code == "" && ae.HTTPStatus == 0:
		return Action{"Alipay cannot be reached.", doRetry}
	case ae.SubMsg != "":
		return Action{"Alipay: " + ae.SubMsg, doSupport}
	}
	return Action{"Alipay refused the code.", doSupport}
}
