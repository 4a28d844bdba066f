package alipay

import (
	"context"
	"encoding/json"
)

// MethodTradePay takes a payment with the code the cashier scanned
// (face-to-face payment, scene bar_code).
const MethodTradePay = "alipay.trade.pay"

// CodeWaitBuyerPay is alipay.trade.pay's answer while the buyer must still
// confirm the payment in the Alipay app (a large amount, a risk check):
// the trade exists and is neither paid nor closed. Query until it is one
// or the other; cancel if the wait ends.
const CodeWaitBuyerPay = "10003"

// Values of alipay.trade.pay for a scanned payment code.
const (
	SceneBarCode           = "bar_code"
	ProductFaceToFace      = "FACE_TO_FACE_PAYMENT"
	ExtendDynamicTokenName = "DYNAMIC_TOKEN_OUT_BIZ_NO"
)

// Sub codes of alipay.trade.pay (40004 Business Failed), and of query and
// cancel where they share them.
const (
	SubTradeSystemError         = "ACQ.SYSTEM_ERROR" // busy: the outcome is unknown
	SubTradeInvalidParameter    = "ACQ.INVALID_PARAMETER"
	SubTradeAccessForbidden     = "ACQ.ACCESS_FORBIDDEN"
	SubAuthCodeInvalid          = "ACQ.PAYMENT_AUTH_CODE_INVALID"
	SubBuyerBalanceNotEnough    = "ACQ.BUYER_BALANCE_NOT_ENOUGH"
	SubBuyerBankcardNotEnough   = "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH"
	SubTradeHasSuccess          = "ACQ.TRADE_HAS_SUCCESS"
	SubTradeHasClose            = "ACQ.TRADE_HAS_CLOSE"
	SubTotalFeeExceed           = "ACQ.TOTAL_FEE_EXCEED"
	SubBuyerDayLimit            = "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR"
	SubBuyerMonthLimit          = "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR"
	SubBeyondPayRestriction     = "ACQ.BEYOND_PAY_RESTRICTION"
	SubBeyondPerReceipt         = "ACQ.BEYOND_PER_RECEIPT_RESTRICTION"
	SubContextInconsistent      = "ACQ.CONTEXT_INCONSISTENT"
	SubDiscordantRepeatRequest  = "ACQ.DISCORDANT_REPEAT_REQUEST"
	SubTradeBuyerNotMatch       = "ACQ.TRADE_BUYER_NOT_MATCH"
	SubBuyerSellerEqual         = "ACQ.BUYER_SELLER_EQUAL"
	SubBuyerEnableStatusForbid  = "ACQ.BUYER_ENABLE_STATUS_FORBID"
	SubPaymentFail              = "ACQ.PAYMENT_FAIL"
	SubPaymentRequestHasRisk    = "ACQ.PAYMENT_REQUEST_HAS_RISK"
	SubNoPaymentInstruments     = "ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE"
	SubErrorBalancePayDisable   = "ACQ.ERROR_BALANCE_PAYMENT_DISABLE"
	SubTradeDynamicTokenUnMatch = "ACQ.DYNAMIC_TOKEN_OUT_BIZ_NO_UN_MATCH"
	SubTradeNotExist            = "ACQ.TRADE_NOT_EXIST"
	SubSellerBalanceNotEnough   = "ACQ.SELLER_BALANCE_NOT_ENOUGH"
	SubReasonTradeBeenFreezen   = "ACQ.REASON_TRADE_BEEN_FREEZEN"
)

// TradePayRequest is the biz_content of alipay.trade.pay for a scanned
// payment code. TotalAmount is yuan as a string ("12.50"): it is signed as
// written and never passes through a float.
type TradePayRequest struct {
	OutTradeNo   string                `json:"out_trade_no"`            // required, max 64
	Scene        string                `json:"scene"`                   // "bar_code" (the default)
	AuthCode     string                `json:"auth_code"`               // the scanned code, max 32
	ProductCode  string                `json:"product_code"`            // "FACE_TO_FACE_PAYMENT" (the default)
	Subject      string                `json:"subject"`                 // required, max 256
	TotalAmount  string                `json:"total_amount"`            // required: yuan in [0.01, 100000000], at most two decimals
	ExtendParams *TradePayExtendParams `json:"extend_params,omitempty"` // carries the decode's sence_no
	StoreID      string                `json:"store_id,omitempty"`      // max 32
	OperatorID   string                `json:"operator_id,omitempty"`   // max 28
	TerminalID   string                `json:"terminal_id,omitempty"`   // max 32
}

// TradePayExtendParams are alipay.trade.pay's extensions. A payment code
// decoded by alipay.user.twostage.common.use must be paid with the decode's
// sence_no here (seed 000).
type TradePayExtendParams struct {
	DynamicTokenOutBizNo string `json:"DYNAMIC_TOKEN_OUT_BIZ_NO,omitempty"` // max 128
}

// TradePayResponse is alipay.trade.pay's answer: Code is CodeSuccess (paid)
// or CodeWaitBuyerPay (the buyer must confirm in the app). Every other code
// arrives as *Error.
type TradePayResponse struct {
	Code           string     `json:"code"`
	TradeNo        string     `json:"trade_no"`
	OutTradeNo     string     `json:"out_trade_no"`
	BuyerLogonID   string     `json:"buyer_logon_id"` // masked by the gateway
	BuyerUserID    string     `json:"buyer_user_id"`  // the 2088… id of who pays
	TotalAmount    string     `json:"total_amount"`
	ReceiptAmount  string     `json:"receipt_amount"`
	BuyerPayAmount string     `json:"buyer_pay_amount"`
	GmtPayment     string     `json:"gmt_payment"`
	FundBillList   []FundBill `json:"fund_bill_list"`
}

// FundBill is one channel a payment was paid from.
type FundBill struct {
	FundChannel string `json:"fund_channel"`
	Amount      string `json:"amount"`
}

// Paid reports whether the answer says the buyer paid.
func (r *TradePayResponse) Paid() bool { return r.Code == CodeSuccess }

// Validate checks the request against the limits of alipay.trade.pay.
func (r TradePayRequest) Validate() error {
	if err := firstProblem(
		checkTradeNo("out_trade_no", r.OutTradeNo),
		checkEnum("scene", r.Scene, SceneBarCode),
		checkRequired("auth_code", r.AuthCode, 32),
		checkEnum("product_code", r.ProductCode, ProductFaceToFace),
		checkRequired("subject", r.Subject, 256),
		checkAmount("total_amount", r.TotalAmount, true),
		checkLen("total_amount", r.TotalAmount, MaxAmountLen),
		checkLen("store_id", r.StoreID, 32),
		checkLen("operator_id", r.OperatorID, 28),
		checkLen("terminal_id", r.TerminalID, 32),
	); err != nil {
		return err
	}
	if e := r.ExtendParams; e != nil {
		return firstProblem(checkLen("extend_params."+ExtendDynamicTokenName, e.DynamicTokenOutBizNo, 128))
	}
	return nil
}

// TradePay charges the buyer with the scanned code (alipay.trade.pay). It
// returns a response for 10000 (paid) and 10003 (waiting for the buyer),
// and *Error for everything else. An error for which Retryable or
// Unreachable holds, or one whose answer did not verify, leaves the outcome
// unknown: the trade may exist and be paid. Never send the same request
// again then (the code is single-use): query it, and cancel it unless paid.
func (c *Client) TradePay(ctx context.Context, req TradePayRequest) (*TradePayResponse, error) {
	const method = MethodTradePay
	if req.Scene == "" {
		req.Scene = SceneBarCode
	}
	if req.ProductCode == "" {
		req.ProductCode = ProductFaceToFace
	}
	if err := req.Validate(); err != nil {
		return nil, &Error{Method: method, Err: err}
	}
	return send(ctx, c, method, req, nil, func(obj []byte) (*TradePayResponse, error) { return parseTradePay(obj, req.OutTradeNo) })
}

// parseTradePay reads the verified answer of a pay for outTradeNo. A paid
// answer without a trade_no, or one for another out_trade_no, is not an
// answer to this request.
func parseTradePay(obj []byte, outTradeNo string) (*TradePayResponse, error) {
	var r TradePayResponse
	if err := json.Unmarshal(obj, &r); err != nil {
		return nil, malformedAnswer(MethodTradePay, "%v", err)
	}
	switch {
	case r.Code != CodeSuccess && r.Code != CodeWaitBuyerPay:
		return nil, malformedAnswer(MethodTradePay, "code %q", r.Code)
	case r.OutTradeNo != "" && r.OutTradeNo != outTradeNo:
		return nil, malformedAnswer(MethodTradePay, "out_trade_no %q answers another trade than %q", r.OutTradeNo, outTradeNo)
	case r.Code == CodeSuccess && r.TradeNo == "":
		return nil, malformedAnswer(MethodTradePay, "paid without a trade_no")
	}
	return &r, nil
}

// tradeWords are the trade sub codes in words a cashier can act on.
var tradeWords = map[string]string{
	SubAuthCodeInvalid:          "The payment code is not valid any more: ask the customer to refresh the code in the Alipay app and scan it again.",
	SubBuyerBalanceNotEnough:    "The customer's balance is too low: ask them to choose another payment method in the app, or to pay another way.",
	SubBuyerBankcardNotEnough:   "The customer's bank card has too little money: ask them to choose another card in the app, or to pay another way.",
	SubTradeHasSuccess:          "This sale is already paid: do not charge again.",
	SubTradeHasClose:            "This sale was closed: start a new sale (a new order number) and scan a fresh code.",
	SubTotalFeeExceed:           "The amount is over the limit for this kind of payment: check the amount, or take another payment method.",
	SubBuyerDayLimit:            "The customer has reached their daily payment limit: ask them to pay another way.",
	SubBuyerMonthLimit:          "The customer has reached their monthly payment limit: ask them to pay another way.",
	SubBeyondPayRestriction:     "The amount is over the customer's payment limit: ask them to pay another way.",
	SubBeyondPerReceipt:         "The amount is over the limit for one payment: split the sale or take another payment method.",
	SubContextInconsistent:      "The sale changed since it was first sent: start a new sale with a new order number.",
	SubDiscordantRepeatRequest:  "This order number was sent before with other details: start a new sale with a new order number.",
	SubTradeBuyerNotMatch:       "This sale belongs to another customer: start a new sale with a new order number.",
	SubBuyerSellerEqual:         "The customer's account is the shop's own: they cannot pay themselves.",
	SubBuyerEnableStatusForbid:  "The customer's account cannot pay right now: ask them to pay another way.",
	SubPaymentFail:              "The payment failed: ask the customer to pay again with a fresh code, or another way.",
	SubPaymentRequestHasRisk:    "Alipay refused the payment as risky: ask the customer to pay another way.",
	SubNoPaymentInstruments:     "The customer has no way to pay in Alipay right now: ask them to pay another way.",
	SubErrorBalancePayDisable:   "The customer's balance payments are switched off: ask them to choose another method in the app.",
	SubTradeDynamicTokenUnMatch: "The code was decoded for another sale: scan the customer's fresh code again.",
	SubSenceNoUnMatch:           "The code was decoded for another sale: scan the customer's fresh code again.",
	SubTradeInvalidParameter:    "The terminal sent a bad request: call support.",
	SubTradeAccessForbidden:     "The shop's account may not take this payment: call support.",
	SubTradeNotExist:            "Alipay has no such sale.",
	SubSellerBalanceNotEnough:   "The shop's balance is too low to give the money back: call support.",
	SubReasonTradeBeenFreezen:   "The sale is frozen at Alipay: call support.",
}

// TradeAdvice is what the cashier should do after a trade method failed
// with sub code sub; a general sentence for codes without their own.
func TradeAdvice(sub string) string {
	if w, ok := tradeWords[sub]; ok {
		return w
	}
	return "Alipay refused the payment: ask the customer to pay another way, or call support if it happens again."
}
