package payment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/event"
	"posagent/internal/queue"
)

// An out_trade_no used again after its record was purged: Alipay refuses
// the new sale's pay (ACQ.TRADE_HAS_SUCCESS) and its query finds the old
// trade. The new sale fails, its customer is not charged, and the old
// trade is left alone: never "paid" with another sale's money.
func TestReusedOutTradeNoAfterPurge(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.decoded("S1")
	e.pay("S1", "o1", "1.00")
	if got := e.states("o1"); got[len(got)-1] != event.PaymentPaid {
		t.Fatalf("first sale: %v", got)
	}
	e.svc.o.Now = func() time.Time { return time.Now().Add(DefaultKeep + 48*time.Hour) }
	if n, err := e.svc.Purge(); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	e.svc.o.Now = time.Now
	e.decoded("S2")
	e.pay("S2", "o1", "500.00")
	if got := e.states("o1"); got[len(got)-1] != event.PaymentFailed {
		t.Fatalf("the new sale under a used out_trade_no: %v, want failed", got)
	}
	p, _ := e.svc.Get("o1")
	if !strings.Contains(p.Message, "already used by another sale") || !strings.Contains(p.Message, "500.00") || !strings.Contains(p.Action, "new out_trade_no") {
		t.Errorf("failed with %q / %q, want it to say the out_trade_no is another sale's", p.Message, p.Action)
	}
	if tr := e.trade("o1"); tr.AmountFen != 100 || tr.Charges != 1 || tr.Refunded || tr.CancelCalls != 0 || tr.Status != alipay.TradeSuccess {
		t.Errorf("the old trade was touched: %+v", tr)
	}
}

// The same customer, the same amount, the same out_trade_no again after the
// purge: the old trade was paid long before the new sale was asked for,
// so the new sale fails and is not taken for paid with the old money.
func TestReusedOutTradeNoSameCustomerSameAmount(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.decoded("S1")
	e.pay("S1", "o1", "1.00")
	if got := e.states("o1"); got[len(got)-1] != event.PaymentPaid {
		t.Fatalf("first sale: %v", got)
	}
	later := func() time.Time { return time.Now().Add(DefaultKeep + 48*time.Hour) }
	e.svc.o.Now = later
	if n, err := e.svc.Purge(); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	e.decoded("S2")
	e.pay("S2", "o1", "1.00")
	if got := e.states("o1"); got[len(got)-1] != event.PaymentFailed {
		t.Fatalf("the same customer and amount under a used out_trade_no: %v, want failed", got)
	}
	if p, _ := e.svc.Get("o1"); !strings.Contains(p.Message, "before this sale was asked for") {
		t.Errorf("failed with %q", p.Message)
	}
	if tr := e.trade("o1"); tr.Charges != 1 || tr.Refunded || tr.CancelCalls != 0 {
		t.Errorf("the old trade was touched: %+v", tr)
	}
}

// What tells another sale's trade from this payment's, and how sure it is.
func TestForeign(t *testing.T) {
	created := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	const me, other = "2088000000000001", "2088000000000002"
	for _, tc := range []struct {
		name    string
		tradeNo string // the one Alipay gave this payment
		q       alipay.TradeQueryResponse
		foreign bool
		sure    bool
	}{
		{"its own trade_no, whatever the buyer", "T1", alipay.TradeQueryResponse{TradeNo: "T1", BuyerUserID: other, TotalAmount: "12.50"}, false, false},
		{"another trade_no", "T1", alipay.TradeQueryResponse{TradeNo: "T2", TotalAmount: "12.50"}, true, true},
		{"another amount", "", alipay.TradeQueryResponse{TradeNo: "T2", TotalAmount: "500.00"}, true, true},
		{"an amount that does not read", "", alipay.TradeQueryResponse{TradeNo: "T2", TotalAmount: "12,50", BuyerUserID: me}, false, false},
		{"paid before the sale", "", alipay.TradeQueryResponse{TradeNo: "T2", TotalAmount: "12.50", BuyerUserID: me, SendPayDate: "2026-12-03 17:30:00"}, true, true},
		{"paid within the clock's tolerance", "", alipay.TradeQueryResponse{TradeNo: "T2", TotalAmount: "12.50", BuyerUserID: me, SendPayDate: "2026-12-03 17:50:00"}, false, false},
		{"another buyer", "", alipay.TradeQueryResponse{TradeNo: "T2", TotalAmount: "12.50", BuyerUserID: other}, true, false},
		{"this customer", "", alipay.TradeQueryResponse{TradeNo: "T2", TotalAmount: "12.50", BuyerUserID: me}, false, false},
	} {
		rec := &Record{OutTradeNo: "o1", TradeNo: tc.tradeNo, AmountFen: 1250, Created: created}
		why, sure := foreign(rec, me, &tc.q)
		if (why != "") != tc.foreign || sure != tc.sure {
			t.Errorf("%s: %q, sure %v; want foreign %v, sure %v", tc.name, why, sure, tc.foreign, tc.sure)
		}
	}
}

// Two tills that number their sales alike: the same out_trade_no and the
// same amount, another customer. The second till's sale is left for a
// person to check (someone may pay for another), and the first till's
// trade is not cancelled.
func TestOutTradeNoOfAnotherTill(t *testing.T) {
	const other = "2088000000000777"
	a := newEnv(t, envOpts{})
	a.srv.AddUser(alipaytest.User{UserID: other, Authorised: true})
	b := newEnv(t, envOpts{srv: a.srv})
	a.decoded("SA")
	a.pay("SA", "sale_1", "5.00")
	if got := a.states("sale_1"); got[len(got)-1] != event.PaymentPaid {
		t.Fatalf("till A: %v", got)
	}
	b.decodedFor("SB", other)
	b.pay("SB", "sale_1", "5.00")
	p := b.until("till B's payment unresolved", isPayment(event.PaymentUnknown, "Unresolved")).(event.Payment)
	if !strings.Contains(p.Message, "another buyer") || !strings.Contains(p.Action, "Check this sale with Alipay") {
		t.Errorf("till B's payment says %q / %q", p.Message, p.Action)
	}
	if got, _ := b.svc.Get("sale_1"); !got.Unresolved {
		t.Errorf("till B's payment is not marked unresolved: %+v", got)
	}
	if tr := a.trade("sale_1"); tr.UserID != userID || tr.Charges != 1 || tr.Refunded || tr.CancelCalls != 0 {
		t.Errorf("till A's trade was touched: %+v", tr)
	}
}

// A 40004 whose sub_code is the SDKs' "aop.ACQ.SYSTEM_ERROR" is no
// verdict: the trade is queried, and a buyer who was charged is paid,
// never failed.
func TestAopSystemErrorIsQueried(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.srv.SetFault(alipay.MethodTradePay, alipaytest.Fault{Processed: true, SubCode: "aop.ACQ.SYSTEM_ERROR", Count: 1})
	e.decoded("S1")
	e.pay("S1", "o1", "12.50")
	got := e.states("o1")
	if got[len(got)-1] != event.PaymentPaid {
		t.Fatalf("states %v, want the query to find it paid", got)
	}
	if tr := e.trade("o1"); tr.Charges != 1 || tr.Refunded {
		t.Errorf("trade %+v", tr)
	}
}

// A queue full of other work still takes a payment's cancel: a charge
// whose answer was lost is cancelled or found paid, never left
// cancelling with nobody on it.
func TestCancelQueuedWhenQueueFull(t *testing.T) {
	e := newEnv(t, envOpts{})
	js := make([]queue.Job, queue.DefaultMaxJobs)
	for i := range js {
		js[i] = queue.Job{Kind: "coupon", Key: fmt.Sprint("c", i), Payload: []byte("{}"),
			NextAt: time.Now().Add(time.Hour), Deadline: time.Now().Add(2 * time.Hour)}
	}
	if _, err := e.q.EnqueueAll(context.Background(), js); err != nil {
		t.Fatal(err)
	}
	if _, err := e.q.Enqueue(context.Background(), queue.Job{Kind: "coupon", Key: "one more"}); !errors.Is(err, queue.ErrFull) {
		t.Fatalf("the queue is not full: %v", err)
	}
	// Never answered: the pay is sent, no query answers, so it is cancelled.
	e.srv.SetFault(alipay.MethodTradePay, alipaytest.Fault{Drop: true, Count: 1})
	e.srv.SetFault(alipay.MethodTradeQuery, alipaytest.Fault{Drop: true, Count: DefaultQueryTries})
	e.decoded("S1")
	e.pay("S1", "o1", "12.50")
	if got := e.states("o1"); got[len(got)-1] != event.PaymentCancelled {
		t.Fatalf("states %v, want cancelled through the queue", got)
	}
}

// failingEnqueuer refuses every job, as a disk that fails would.
type failingEnqueuer struct{ Enqueuer }

func (failingEnqueuer) Enqueue(context.Context, queue.Job) (queue.Job, error) {
	return queue.Job{}, errors.New("write /data/posagent.db: input/output error")
}

// A cancel the queue cannot take marks its payment unresolved, saying so,
// rather than cancelling with nobody working on it.
func TestCancelNotQueuedIsUnresolved(t *testing.T) {
	e := newEnv(t, envOpts{enqueuer: func(q Enqueuer) Enqueuer { return failingEnqueuer{q} }})
	e.srv.SetFault(alipay.MethodTradePay, alipaytest.Fault{Drop: true, Count: 1})
	e.srv.SetFault(alipay.MethodTradeQuery, alipaytest.Fault{Drop: true, Count: DefaultQueryTries})
	e.decoded("S1")
	e.pay("S1", "o1", "12.50")
	e.until("an unresolved payment", isPayment(event.PaymentCancelling, "Unresolved"))
	p, err := e.svc.Get("o1")
	if err != nil || !p.Unresolved || !strings.Contains(p.Message, "input/output error") || !strings.Contains(p.Action, "next start") {
		t.Fatalf("payment %+v, %v; want unresolved, naming the error and what happens next", p, err)
	}
}

// Run lets Pay in before it reads what a previous run left open: a
// payment of this run is never taken for one of those, so it keeps its
// one driver.
func TestResumeLeavesThisRunsPayments(t *testing.T) {
	e := newEnv(t, envOpts{buyerWait: 5 * time.Second})
	e.srv.SetPayer(userID, alipaytest.Payer{Balance: 100000, Confirm: true, NeverConfirm: true})
	e.decoded("S1")
	e.pay("S1", "o1", "3.00")
	e.until("waiting for the buyer", isPayment(event.PaymentWaitingBuyer, ""))
	e.svc.mu.Lock()
	first := e.svc.active["o1"]
	e.svc.mu.Unlock()
	e.svc.runMu.Lock()
	rctx := e.svc.ctx
	e.svc.runMu.Unlock()
	if err := e.svc.resume(rctx); err != nil { // what Run reads right after letting Pay in
		t.Fatal(err)
	}
	e.svc.mu.Lock()
	second := e.svc.active["o1"]
	e.svc.mu.Unlock()
	if second != first {
		t.Fatal("resume started a second driver for a payment of this run")
	}
	if _, err := e.svc.Cancel(context.Background(), "o1"); err != nil {
		t.Fatal(err)
	}
	if got := e.states("o1"); got[len(got)-1] != event.PaymentCancelled {
		t.Fatalf("after the cashier's cancel: %v", got)
	}
}
