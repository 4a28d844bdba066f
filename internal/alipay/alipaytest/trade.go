package alipaytest

import (
	"time"

	"posagent/internal/alipay"
)

// Payer is how a user pays at the till; SetPayer gives one to a user.
// A user without one pays at once from a balance without limit.
type Payer struct {
	// Balance is what the user can pay, in fen; a payment above it fails
	// with ACQ.BUYER_BALANCE_NOT_ENOUGH.
	Balance int64
	// Confirm makes the buyer confirm every payment in the app (10003):
	// ConfirmAfter later on the server's clock, or never with NeverConfirm.
	Confirm      bool
	ConfirmAfter time.Duration
	NeverConfirm bool
}

// Trade is a trade (alipay.trade.pay) the server holds.
type Trade struct {
	OutTradeNo string
	TradeNo    string
	UserID     string
	SenceNo    string // the DYNAMIC_TOKEN_OUT_BIZ_NO it was paid with
	Subject    string
	AmountFen  int64
	Status     string // alipay.TradeWaitBuyerPay, TradeSuccess or TradeClosed
	Created    time.Time
	PaidAt     time.Time // zero while unpaid
	Refunded   bool      // paid, then refunded by a cancel
	// Charges counts the times the buyer's money was taken: never more than
	// one for a correct client, whatever it retries.
	Charges     int
	PayCalls    int // alipay.trade.pay requests that reached this trade
	CancelCalls int // alipay.trade.cancel requests for it

	authCode  string
	confirmAt time.Time // zero: the buyer never confirms
}

// payState is the server's state of stage two. Its zero value is ready;
// the server's mu guards it.
type payState struct {
	payers      map[string]Payer
	byAmount    map[int64]AmountRule
	trades      map[string]*Trade // by out_trade_no
	byTradeNo   map[string]*Trade
	used        map[string]string // payment code -> out_trade_no that used it
	cancelRetry int               // cancels still to answer retry_flag Y
	seq         int
}

func (p *payState) init() {
	if p.trades == nil {
		p.payers = map[string]Payer{}
		p.byAmount = map[int64]AmountRule{}
		p.trades = map[string]*Trade{}
		p.byTradeNo = map[string]*Trade{}
		p.used = map[string]string{}
	}
}

// AmountRule is how a payment of one amount goes, whoever pays: a sandbox
// where any code decodes to the same customer (WithAnyCode) still lets a
// POS try every outcome, by the amount it charges.
type AmountRule struct {
	Payer // in place of the buyer's own
	// LoseAnswer carries the payment out and drops the connection before
	// the answer: the client cannot know whether the buyer paid.
	LoseAnswer bool
}

// SetAmountRule makes every payment of fen go as r says.
func (s *Server) SetAmountRule(fen int64, r AmountRule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pay.init()
	s.pay.byAmount[fen] = r
}

// SetPayer sets how a user pays.
func (s *Server) SetPayer(userID string, p Payer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pay.init()
	s.pay.payers[userID] = p
}

// Balance is a user's balance in fen, and whether the user has one (a
// Payer).
func (s *Server) Balance(userID string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pay.init()
	p, ok := s.pay.payers[userID]
	return p.Balance, ok
}

// CancelRetries makes the next n cancels answer retry_flag Y without doing
// anything, as the gateway does when it could not cancel this time.
func (s *Server) CancelRetries(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pay.cancelRetry = n
}

// Trades returns the trades, with buyers' confirmations that are due
// carried out.
func (s *Server) Trades() []Trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pay.init()
	out := make([]Trade, 0, len(s.pay.trades))
	for _, t := range s.pay.trades {
		s.settleLocked(t)
		out = append(out, *t)
	}
	return out
}

// TradeByOutTradeNo returns one trade.
func (s *Server) TradeByOutTradeNo(outTradeNo string) (Trade, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pay.init()
	t, ok := s.pay.trades[outTradeNo]
	if !ok {
		return Trade{}, false
	}
	s.settleLocked(t)
	return *t, true
}

// settleLocked carries out a confirmation that fell due: the buyer
// confirmed in the app at confirmAt, and pays if the balance allows.
func (s *Server) settleLocked(t *Trade) {
	if t.Status != alipay.TradeWaitBuyerPay || t.confirmAt.IsZero() || s.now().Before(t.confirmAt) {
		return
	}
	if !s.chargeLocked(t) {
		t.Status = alipay.TradeClosed
	}
}

// chargeLocked takes the money of t from its buyer; false when the balance
// is too low.
func (s *Server) chargeLocked(t *Trade) bool {
	if p, ok := s.pay.payers[t.UserID]; ok {
		if p.Balance < t.AmountFen {
			return false
		}
		p.Balance -= t.AmountFen
		s.pay.payers[t.UserID] = p
	}
	t.Status = alipay.TradeSuccess
	t.PaidAt = s.now()
	t.Charges++
	return true
}

// payFields are the fields a trade answers with.
func (t *Trade) payFields() []field {
	f := []field{
		{"trade_no", t.TradeNo},
		{"out_trade_no", t.OutTradeNo},
		{"buyer_logon_id", "159****5620"},
		{"buyer_user_id", t.UserID},
		{"total_amount", alipay.FormatFen(t.AmountFen)},
	}
	if t.Status == alipay.TradeSuccess {
		f = append(f,
			field{"receipt_amount", alipay.FormatFen(t.AmountFen)},
			field{"buyer_pay_amount", alipay.FormatFen(t.AmountFen)},
			field{"gmt_payment", t.PaidAt.In(beijing).Format(timestampLayout)},
			field{"fund_bill_list", []map[string]string{{"fund_channel": "ALIPAYACCOUNT", "amount": alipay.FormatFen(t.AmountFen)}}},
		)
	}
	return f
}

// tradeMsgs are the gateway's texts for the trade sub codes it answers.
var tradeMsgs = map[string]string{
	alipay.SubTradeSystemError:         "系统错误",
	alipay.SubTradeInvalidParameter:    "参数无效",
	alipay.SubAuthCodeInvalid:          "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款",
	alipay.SubBuyerBalanceNotEnough:    "买家余额不足",
	alipay.SubTradeHasSuccess:          "交易已被支付",
	alipay.SubTradeHasClose:            "交易已经关闭",
	alipay.SubContextInconsistent:      "交易信息被篡改",
	alipay.SubTradeDynamicTokenUnMatch: "DYNAMIC_TOKEN_OUT_BIZ_NO与解码时传递的sence_no不匹配",
	alipay.SubTradeNotExist:            "交易不存在",
}

func tradeFailure(method, sub, detail string) *reply {
	m := tradeMsgs[sub]
	if detail != "" {
		m += ": " + detail
	}
	return failure(method, alipay.CodeBusinessFailed, sub, m)
}

// Confirm is the buyer confirming a trade that waits for them in the app,
// now: it is paid if the balance allows, closed otherwise. It reports
// whether there was such a trade.
func (s *Server) Confirm(outTradeNo string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pay.init()
	t, ok := s.pay.trades[outTradeNo]
	if !ok || t.Status != alipay.TradeWaitBuyerPay {
		return false
	}
	if !s.chargeLocked(t) {
		t.Status = alipay.TradeClosed
	}
	return true
}
