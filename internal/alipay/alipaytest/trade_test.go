package alipaytest

import (
	"context"
	"errors"
	"testing"
	"time"

	"posagent/internal/alipay"
)

// tradeSetup is a server with a decoded code for a user, and the client.
func tradeSetup(t *testing.T, payer *Payer) (*Server, *alipay.Client, *fakeClock, string) {
	t.Helper()
	clock := newClock()
	s := newServer(t, WithClock(clock.Now))
	s.AddUser(User{UserID: "2088000000000001", Authorised: true})
	if payer != nil {
		s.SetPayer("2088000000000001", *payer)
	}
	return s, s.Client(), clock, s.IssueCode("2088000000000001")
}

func decodeWith(t *testing.T, c *alipay.Client, code, sence string) {
	t.Helper()
	if _, err := c.TwostageCommonUse(context.Background(), alipay.TwostageRequest{DynamicID: code, SenceNo: sence, PayPID: payPID}); err != nil {
		t.Fatal(err)
	}
}

func payReq(otn, code, sence, amount string) alipay.TradePayRequest {
	return alipay.TradePayRequest{OutTradeNo: otn, AuthCode: code, Subject: "lunch", TotalAmount: amount,
		ExtendParams: &alipay.TradePayExtendParams{DynamicTokenOutBizNo: sence}, TerminalID: "till1"}
}

func TestTradePayRules(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		payer  *Payer
		change func(s *Server, c *alipay.Client, clock *fakeClock, code string) alipay.TradePayRequest
		sub    string // "" paid
		code   string // 10000 or 10003 when sub is ""
	}{
		{"paid", nil, func(s *Server, c *alipay.Client, _ *fakeClock, code string) alipay.TradePayRequest {
			return payReq("o1", code, "S1", "12.50")
		}, "", alipay.CodeSuccess},
		{"wrong sence_no", nil, func(s *Server, c *alipay.Client, _ *fakeClock, code string) alipay.TradePayRequest {
			return payReq("o1", code, "S2", "12.50")
		}, alipay.SubTradeDynamicTokenUnMatch, ""},
		{"no sence_no for a decoded code", nil, func(s *Server, c *alipay.Client, _ *fakeClock, code string) alipay.TradePayRequest {
			r := payReq("o1", code, "", "12.50")
			r.ExtendParams = nil
			return r
		}, alipay.SubTradeDynamicTokenUnMatch, ""},
		{"expired", nil, func(s *Server, c *alipay.Client, clock *fakeClock, code string) alipay.TradePayRequest {
			clock.Add(DefaultCodeTTL)
			return payReq("o1", code, "S1", "12.50")
		}, alipay.SubAuthCodeInvalid, ""},
		{"unknown code", nil, func(s *Server, c *alipay.Client, _ *fakeClock, code string) alipay.TradePayRequest {
			return payReq("o1", "280000000000000001", "S1", "12.50")
		}, alipay.SubAuthCodeInvalid, ""},
		{"balance", &Payer{Balance: 1000}, func(s *Server, c *alipay.Client, _ *fakeClock, code string) alipay.TradePayRequest {
			return payReq("o1", code, "S1", "10.01")
		}, alipay.SubBuyerBalanceNotEnough, ""},
		{"balance enough", &Payer{Balance: 1001}, func(s *Server, c *alipay.Client, _ *fakeClock, code string) alipay.TradePayRequest {
			return payReq("o1", code, "S1", "10.01")
		}, "", alipay.CodeSuccess},
		{"buyer confirms", &Payer{Balance: 5000, Confirm: true, ConfirmAfter: 5 * time.Second}, func(s *Server, c *alipay.Client, _ *fakeClock, code string) alipay.TradePayRequest {
			return payReq("o1", code, "S1", "10.00")
		}, "", alipay.CodeWaitBuyerPay},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, c, clock, code := tradeSetup(t, tt.payer)
			decodeWith(t, c, code, "S1")
			r, err := c.TradePay(ctx, tt.change(s, c, clock, code))
			if tt.sub != "" {
				if subCode(err) != tt.sub {
					t.Fatalf("got %v, %v; want %s", r, err, tt.sub)
				}
				if alipay.TradeAdvice(tt.sub) == "" {
					t.Fatal("no advice")
				}
				return
			}
			if err != nil || r.Code != tt.code || r.TradeNo == "" || r.OutTradeNo != "o1" {
				t.Fatalf("got %+v, %v; want code %s", r, err, tt.code)
			}
		})
	}
}

func TestTradePayOnce(t *testing.T) {
	ctx := context.Background()
	s, c, _, code := tradeSetup(t, &Payer{Balance: 10000})
	decodeWith(t, c, code, "S1")
	if _, err := c.TradePay(ctx, payReq("o1", code, "S1", "30.00")); err != nil {
		t.Fatal(err)
	}
	// The same out_trade_no again: already paid, no second charge.
	if _, err := c.TradePay(ctx, payReq("o1", code, "S1", "30.00")); subCode(err) != alipay.SubTradeHasSuccess {
		t.Fatalf("repeat: %v", err)
	}
	// The same code for another sale: single-use.
	if _, err := c.TradePay(ctx, payReq("o2", code, "S1", "30.00")); subCode(err) != alipay.SubAuthCodeInvalid {
		t.Fatalf("code reused: %v", err)
	}
	if b, _ := s.Balance("2088000000000001"); b != 7000 {
		t.Fatalf("balance %d, want 7000", b)
	}
	tr, _ := s.TradeByOutTradeNo("o1")
	if tr.Charges != 1 || tr.PayCalls != 2 || tr.SenceNo != "S1" {
		t.Fatalf("trade %+v", tr)
	}
}

func TestTradeConfirmQueryCancel(t *testing.T) {
	ctx := context.Background()
	s, c, clock, code := tradeSetup(t, &Payer{Balance: 10000, Confirm: true, ConfirmAfter: 10 * time.Second})
	decodeWith(t, c, code, "S1")
	r, err := c.TradePay(ctx, payReq("o1", code, "S1", "20.00"))
	if err != nil || r.Code != alipay.CodeWaitBuyerPay {
		t.Fatalf("pay: %+v %v", r, err)
	}
	q, err := c.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "o1"})
	if err != nil || q.TradeStatus != alipay.TradeWaitBuyerPay || q.Paid() {
		t.Fatalf("query while waiting: %+v %v", q, err)
	}
	clock.Add(10 * time.Second)
	q, err = c.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "o1"})
	if err != nil || !q.Paid() || q.TradeNo != r.TradeNo {
		t.Fatalf("query after confirming: %+v %v", q, err)
	}
	// A cancel of a paid trade refunds it.
	cr, err := c.TradeCancel(ctx, alipay.TradeCancelRequest{OutTradeNo: "o1"})
	if err != nil || cr.Retry() || cr.Action != alipay.CancelActionRefund {
		t.Fatalf("cancel paid: %+v %v", cr, err)
	}
	if b, _ := s.Balance("2088000000000001"); b != 10000 {
		t.Fatalf("balance after refund %d", b)
	}
	q, err = c.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "o1"})
	if err != nil || q.TradeStatus != alipay.TradeClosed {
		t.Fatalf("query after refund: %+v %v", q, err)
	}

	if _, err := c.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "nope"}); subCode(err) != alipay.SubTradeNotExist {
		t.Fatalf("query unknown: %v", err)
	}
	// A cancel of a trade not there yet closes it for good: a pay that
	// arrives late finds it closed.
	cr, err = c.TradeCancel(ctx, alipay.TradeCancelRequest{OutTradeNo: "late"})
	if err != nil || cr.Retry() || cr.Action != "" {
		t.Fatalf("cancel unknown: %+v %v", cr, err)
	}
	code2 := s.IssueCode("2088000000000001")
	decodeWith(t, c, code2, "S2")
	if _, err := c.TradePay(ctx, payReq("late", code2, "S2", "1.00")); subCode(err) != alipay.SubTradeHasClose {
		t.Fatalf("late pay: %v", err)
	}
	s.CancelRetries(1)
	cr, err = c.TradeCancel(ctx, alipay.TradeCancelRequest{OutTradeNo: "late"})
	if err != nil || !cr.Retry() {
		t.Fatalf("retry_flag Y: %+v %v", cr, err)
	}
}

func TestTradeNeverConfirms(t *testing.T) {
	ctx := context.Background()
	s, c, clock, code := tradeSetup(t, &Payer{Balance: 10000, Confirm: true, NeverConfirm: true})
	decodeWith(t, c, code, "S1")
	if r, err := c.TradePay(ctx, payReq("o1", code, "S1", "20.00")); err != nil || r.Code != alipay.CodeWaitBuyerPay {
		t.Fatalf("pay: %+v %v", r, err)
	}
	clock.Add(time.Hour)
	cr, err := c.TradeCancel(ctx, alipay.TradeCancelRequest{OutTradeNo: "o1"})
	if err != nil || cr.Action != alipay.CancelActionClose {
		t.Fatalf("cancel: %+v %v", cr, err)
	}
	if tr, _ := s.TradeByOutTradeNo("o1"); tr.Charges != 0 || tr.Status != alipay.TradeClosed {
		t.Fatalf("trade %+v", tr)
	}
}

func TestTradeFaults(t *testing.T) {
	ctx := context.Background()
	s, c, _, code := tradeSetup(t, nil)
	decodeWith(t, c, code, "S1")
	// The charge is made, the answer lost: the client sees a transport
	// error, and the query finds the trade paid.
	s.SetFault(alipay.MethodTradePay, Fault{Processed: true, Drop: true, Count: 1})
	_, err := c.TradePay(ctx, payReq("o1", code, "S1", "5.00"))
	if !alipay.Unreachable(err) {
		t.Fatalf("lost answer: %v", err)
	}
	q, err := c.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "o1"})
	if err != nil || !q.Paid() {
		t.Fatalf("query: %+v %v", q, err)
	}
	s.SetFault(alipay.MethodTradeQuery, Fault{Code20000: true, Count: 1})
	if _, err := c.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "o1"}); !alipay.Retryable(err) {
		t.Fatalf("20000: %v", err)
	}
	s.SetFault(alipay.MethodTradeQuery, Fault{Latency: time.Second, Count: 1})
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := c.TradeQuery(short, alipay.TradeQueryRequest{OutTradeNo: "o1"}); !errors.Is(err, context.DeadlineExceeded) && !alipay.Retryable(err) {
		t.Fatalf("slow: %v", err)
	}
}

func TestTradePayValidation(t *testing.T) {
	_, c, _, code := tradeSetup(t, nil)
	for _, tt := range []struct {
		name, field string
		change      func(r *alipay.TradePayRequest)
	}{
		{"amount abc", "total_amount", func(r *alipay.TradePayRequest) { r.TotalAmount = "abc" }},
		{"amount 0", "total_amount", func(r *alipay.TradePayRequest) { r.TotalAmount = "0" }},
		{"amount 3 decimals", "total_amount", func(r *alipay.TradePayRequest) { r.TotalAmount = "1.001" }},
		{"amount negative", "total_amount", func(r *alipay.TradePayRequest) { r.TotalAmount = "-1.00" }},
		{"amount over", "total_amount", func(r *alipay.TradePayRequest) { r.TotalAmount = "100000000.01" }},
		{"no subject", "subject", func(r *alipay.TradePayRequest) { r.Subject = "" }},
		{"out_trade_no 65", "out_trade_no", func(r *alipay.TradePayRequest) { r.OutTradeNo = string(make([]byte, 65)) + "x" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := payReq("o1", code, "S1", "1.00")
			tt.change(&r)
			_, err := c.TradePay(context.Background(), r)
			var fe *alipay.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("got %v, want a field error on %s", err, tt.field)
			}
		})
	}
}

// An amount rule decides how a payment of that amount goes, whoever pays:
// waiting for the buyer, too little balance, or carried out with the
// answer lost (the query then finds it paid).
func TestAmountRules(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		rule   AmountRule
		code   string // the pay's answer code; "" for no answer
		sub    string
		status string // the trade's status by query afterwards
	}{
		{"buyer confirms later", AmountRule{Payer: Payer{Balance: 1 << 40, Confirm: true, ConfirmAfter: time.Hour}}, alipay.CodeWaitBuyerPay, "", alipay.TradeWaitBuyerPay},
		{"balance too low", AmountRule{Payer: Payer{Balance: 0}}, "", alipay.SubBuyerBalanceNotEnough, ""},
		{"answer lost", AmountRule{Payer: Payer{Balance: 1 << 40}, LoseAnswer: true}, "", "", alipay.TradeSuccess},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, c, _, code := tradeSetup(t, nil)
			s.SetAmountRule(91, tt.rule)
			decodeWith(t, c, code, "S1")
			resp, err := c.TradePay(ctx, payReq("o1", code, "S1", "0.91"))
			var ae *alipay.Error
			switch {
			case tt.code != "":
				if err != nil || resp.Code != tt.code {
					t.Fatalf("pay: %+v, %v; want code %s", resp, err, tt.code)
				}
			case tt.sub != "":
				if !errors.As(err, &ae) || ae.SubCode != tt.sub {
					t.Fatalf("pay: %v; want %s", err, tt.sub)
				}
			default:
				if err == nil || !alipay.Unreachable(err) {
					t.Fatalf("pay: %+v, %v; want no answer", resp, err)
				}
			}
			q, err := c.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: "o1"})
			if tt.status == "" {
				if !errors.As(err, &ae) || ae.SubCode != alipay.SubTradeNotExist {
					t.Fatalf("query: %+v, %v; want no trade", q, err)
				}
				return
			}
			if err != nil || q.TradeStatus != tt.status {
				t.Fatalf("query: %+v, %v; want %s", q, err, tt.status)
			}
		})
	}
	// Other amounts pay as the buyer does.
	s, c, _, code := tradeSetup(t, nil)
	s.SetAmountRule(91, AmountRule{LoseAnswer: true})
	decodeWith(t, c, code, "S1")
	if resp, err := c.TradePay(ctx, payReq("o2", code, "S1", "0.90")); err != nil || !resp.Paid() {
		t.Fatalf("another amount: %+v, %v", resp, err)
	}
}
