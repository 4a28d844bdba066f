package alipay

import (
	"context"
	"encoding/json"
	"time"
)

// MethodTradeQuery reads a trade's state.
const MethodTradeQuery = "alipay.trade.query"

// TradeQueryRequest is the biz_content of alipay.trade.query: one of the
// two numbers.
type TradeQueryRequest struct {
	OutTradeNo string `json:"out_trade_no,omitempty"` // max 64
	TradeNo    string `json:"trade_no,omitempty"`     // max 64
}

// TradeQueryResponse is alipay.trade.query's answer. A trade the gateway
// does not know arrives as *Error with SubCode SubTradeNotExist.
type TradeQueryResponse struct {
	TradeNo       string `json:"trade_no"`
	OutTradeNo    string `json:"out_trade_no"`
	BuyerLogonID  string `json:"buyer_logon_id"`
	BuyerUserID   string `json:"buyer_user_id"` // the 2088… id of who pays
	TradeStatus   string `json:"trade_status"`
	TotalAmount   string `json:"total_amount"`
	ReceiptAmount string `json:"receipt_amount"`
	SendPayDate   string `json:"send_pay_date"`
}

// PaidAt is send_pay_date, when the buyer paid, read in the gateway's zone;
// zero when the answer has none (or one that does not read).
func (r *TradeQueryResponse) PaidAt() time.Time {
	t, err := time.ParseInLocation(timestampLayout, r.SendPayDate, beijing)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Paid reports whether the trade's money was taken.
func (r *TradeQueryResponse) Paid() bool {
	return r.TradeStatus == TradeSuccess || r.TradeStatus == TradeFinished
}

// Validate checks the request against the limits of alipay.trade.query.
func (r TradeQueryRequest) Validate() error {
	if r.OutTradeNo == "" && r.TradeNo == "" {
		return invalid("out_trade_no", "required (or trade_no)")
	}
	return firstProblem(checkLen("out_trade_no", r.OutTradeNo, 64), checkLen("trade_no", r.TradeNo, 64))
}

// TradeQuery reads a trade's state (alipay.trade.query).
func (c *Client) TradeQuery(ctx context.Context, req TradeQueryRequest) (*TradeQueryResponse, error) {
	const method = MethodTradeQuery
	if err := req.Validate(); err != nil {
		return nil, &Error{Method: method, Err: err}
	}
	return send(ctx, c, method, req, nil, func(obj []byte) (*TradeQueryResponse, error) { return parseTradeQuery(obj, req) })
}

// parseTradeQuery reads a verified query answer: a state the page does not
// list, or an answer about another trade, is no answer.
func parseTradeQuery(obj []byte, req TradeQueryRequest) (*TradeQueryResponse, error) {
	var r TradeQueryResponse
	if err := json.Unmarshal(obj, &r); err != nil {
		return nil, malformedAnswer(MethodTradeQuery, "%v", err)
	}
	switch r.TradeStatus {
	case TradeWaitBuyerPay, TradeSuccess, TradeFinished, TradeClosed:
	default:
		return nil, malformedAnswer(MethodTradeQuery, "trade_status %q", r.TradeStatus)
	}
	if req.OutTradeNo != "" && r.OutTradeNo != "" && r.OutTradeNo != req.OutTradeNo {
		return nil, malformedAnswer(MethodTradeQuery, "out_trade_no %q answers another trade than %q", r.OutTradeNo, req.OutTradeNo)
	}
	if r.Paid() && r.TradeNo == "" {
		return nil, malformedAnswer(MethodTradeQuery, "paid without a trade_no")
	}
	return &r, nil
}
