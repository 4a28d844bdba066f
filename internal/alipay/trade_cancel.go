package alipay

import (
	"context"
	"encoding/json"
)

// MethodTradeCancel cancels a trade whose outcome is unknown or whose buyer
// did not confirm: an unpaid trade is closed, a paid one refunded.
const MethodTradeCancel = "alipay.trade.cancel"

// Actions a cancel took.
const (
	CancelActionClose  = "close"  // the trade was unpaid: it is closed, nobody was charged
	CancelActionRefund = "refund" // the trade was paid: the money went back to the buyer
)

// TradeCancelRequest is the biz_content of alipay.trade.cancel: one of the
// two numbers.
type TradeCancelRequest struct {
	OutTradeNo string `json:"out_trade_no,omitempty"` // max 64
	TradeNo    string `json:"trade_no,omitempty"`     // max 64
}

// TradeCancelResponse is alipay.trade.cancel's answer. RetryFlag "Y" means
// the cancel is not done and must be sent again; "N" that it is final.
// Action is empty when there was nothing to close (no such trade).
type TradeCancelResponse struct {
	TradeNo    string `json:"trade_no"`
	OutTradeNo string `json:"out_trade_no"`
	RetryFlag  string `json:"retry_flag"`
	Action     string `json:"action"`
}

// Retry reports whether the gateway asks for the cancel to be sent again.
func (r *TradeCancelResponse) Retry() bool { return r.RetryFlag == "Y" }

// Validate checks the request against the limits of alipay.trade.cancel.
func (r TradeCancelRequest) Validate() error {
	if r.OutTradeNo == "" && r.TradeNo == "" {
		return invalid("out_trade_no", "required (or trade_no)")
	}
	return firstProblem(checkLen("out_trade_no", r.OutTradeNo, 64), checkLen("trade_no", r.TradeNo, 64))
}

// TradeCancel cancels a trade (alipay.trade.cancel). Sending it again is
// safe: a closed trade stays closed, a refund is not made twice.
func (c *Client) TradeCancel(ctx context.Context, req TradeCancelRequest) (*TradeCancelResponse, error) {
	const method = MethodTradeCancel
	if err := req.Validate(); err != nil {
		return nil, &Error{Method: method, Err: err}
	}
	return send(ctx, c, method, req, nil, func(obj []byte) (*TradeCancelResponse, error) { return parseTradeCancel(obj, req) })
}

// parseTradeCancel reads a verified cancel answer. Without a retry_flag of
// Y or N nobody can tell whether the cancel is done: that is no answer.
func parseTradeCancel(obj []byte, req TradeCancelRequest) (*TradeCancelResponse, error) {
	var r TradeCancelResponse
	if err := json.Unmarshal(obj, &r); err != nil {
		return nil, malformedAnswer(MethodTradeCancel, "%v", err)
	}
	switch {
	case r.RetryFlag != "Y" && r.RetryFlag != "N":
		return nil, malformedAnswer(MethodTradeCancel, "retry_flag %q, want Y or N", r.RetryFlag)
	case r.Action != "" && r.Action != CancelActionClose && r.Action != CancelActionRefund:
		return nil, malformedAnswer(MethodTradeCancel, "action %q, want close or refund", r.Action)
	case req.OutTradeNo != "" && r.OutTradeNo != "" && r.OutTradeNo != req.OutTradeNo:
		return nil, malformedAnswer(MethodTradeCancel, "out_trade_no %q answers another trade than %q", r.OutTradeNo, req.OutTradeNo)
	}
	return &r, nil
}
