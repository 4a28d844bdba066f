package demo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/event"
	"posagent/internal/payment"
	"posagent/internal/scanner"
)

// recordingPayments records the sales the demo asks for.
type recordingPayments struct {
	mu    sync.Mutex
	sales []payment.Request
	asked chan struct{}
}

func (p *recordingPayments) Pay(_ context.Context, req payment.Request) (payment.Payment, bool, error) {
	p.mu.Lock()
	p.sales = append(p.sales, req)
	p.mu.Unlock()
	p.asked <- struct{}{}
	return payment.Payment{}, true, nil
}

// The demo charges the customers its script scanned, and never one whose
// code came from elsewhere (a POS through the API, a real scanner): those
// are the POS's to charge.
func TestPlayChargesOnlyTheScript(t *testing.T) {
	d, err := Setup(t.TempDir(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pays := &recordingPayments{asked: make(chan struct{}, 4)}
	d.Payments = pays
	bus := event.NewBus()
	defer bus.Close()
	sub := bus.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Play(ctx, sub, func() bool { return false })
	}()
	for _, c := range []struct{ sence, source string }{
		{"till1-api", "api"},
		{"till1-wedge", "wedge"},
		{"till1-script", scanner.KindSim},
	} {
		bus.Publish(event.Scan{SenceNo: c.sence, Source: c.source})
		bus.Publish(event.Decoded{SenceNo: c.sence, UserID: Student.UserID})
	}
	select {
	case <-pays.asked:
	case <-time.After(10 * time.Second):
		t.Fatal("the script's customer was not charged")
	}
	cancel()
	<-done
	pays.mu.Lock()
	defer pays.mu.Unlock()
	if len(pays.sales) != 1 || pays.sales[0].SenceNo != "till1-script" {
		t.Fatalf("charged %+v, want only till1-script", pays.sales)
	}
}

// The sandbox amounts give a POS every outcome from the demo's gateway.
func TestSandboxAmounts(t *testing.T) {
	d, err := Setup(t.TempDir(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := d.Server.Client()
	ctx := context.Background()
	for i, tt := range []struct {
		amount string
		code   string // the pay's answer; "" none
		sub    string
	}{
		{AmountConfirms, alipay.CodeWaitBuyerPay, ""},
		{AmountNeverConfirms, alipay.CodeWaitBuyerPay, ""},
		{AmountBalanceLow, "", alipay.SubBuyerBalanceNotEnough},
		{AmountAnswerLost, "", ""},
		{"12.50", alipay.CodeSuccess, ""},
	} {
		code, sence := d.Server.IssueCode(Student.UserID), fmt.Sprint("S", i)
		if _, err := c.TwostageCommonUse(ctx, alipay.TwostageRequest{DynamicID: code, SenceNo: sence, PayPID: d.Config.PayPID}); err != nil {
			t.Fatal(err)
		}
		resp, err := c.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: fmt.Sprint("o", i), AuthCode: code, Subject: "x", TotalAmount: tt.amount,
			ExtendParams: &alipay.TradePayExtendParams{DynamicTokenOutBizNo: sence}})
		var ae *alipay.Error
		switch {
		case tt.code != "" && (err != nil || resp.Code != tt.code):
			t.Errorf("%s: %+v, %v; want code %s", tt.amount, resp, err, tt.code)
		case tt.sub != "" && (!errors.As(err, &ae) || ae.SubCode != tt.sub):
			t.Errorf("%s: %v; want %s", tt.amount, err, tt.sub)
		case tt.code == "" && tt.sub == "" && !alipay.Unreachable(err):
			t.Errorf("%s: %+v, %v; want no answer", tt.amount, resp, err)
		}
	}
}
