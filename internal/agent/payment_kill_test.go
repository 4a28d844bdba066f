package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/config"
	"posagent/internal/event"
	"posagent/internal/payment"
)

// payChildEnv names the configuration of a re-executed test binary that
// runs the agent headless on stdin commands: a line "pay SENCE OTN AMOUNT"
// asks for a payment as the POS would, any other line is a scanned code.
const payChildEnv = "POSAGENT_TEST_PAY_CONFIG"

func runPayChild(path string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := config.Load(path)
	if err != nil {
		return err
	}
	cs := &stdinScanner{r: os.Stdin}
	a, err := New(Options{Config: c, Scanner: cs, Queue: fastQueue, PaymentPoll: 50 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return err
	}
	cs.command = func(f []string) bool {
		if len(f) != 4 || f[0] != "pay" {
			return false
		}
		_, _, err := a.Payments.Pay(ctx, payment.Request{SenceNo: f[1], OutTradeNo: f[2], TotalAmount: f[3], Subject: "kill test"})
		if err != nil {
			fmt.Fprintln(os.Stderr, "pay:", err)
		}
		return true
	}
	return Headless(ctx, a, os.Stdout)
}

func startPayChild(t *testing.T, configPath string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), payChildEnv+"="+configPath)
	return runChildCmd(t, cmd)
}

func paymentOf(otn string, states ...string) func(map[string]any) bool {
	return func(e map[string]any) bool {
		if e["type"] != "payment" || e["out_trade_no"] != otn {
			return false
		}
		for _, s := range states {
			if e["state"] == s {
				return true
			}
		}
		return len(states) == 0
	}
}

// waitFor polls cond (a fake gateway's state, which has no events) until
// it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: timed out", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKillDuringPayment SIGKILLs the agent at each step of a payment and
// starts it again on the same data: every payment ends paid or cancelled,
// never both and never unknown, and the buyer is charged at most once.
func TestKillDuringPayment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs subprocesses")
	}
	final := []string{event.PaymentPaid, event.PaymentFailed, event.PaymentCancelled, event.PaymentRefunded}
	for _, tt := range []struct {
		name      string
		payer     *alipaytest.Payer
		buyerWait int
		// arm scripts the gateway before the payment; killAt is the state
		// the agent is killed in, once ready holds.
		arm      func(srv *alipaytest.Server)
		killAt   string
		ready    func(srv *alipaytest.Server, otn string) bool
		whileOff func(srv *alipaytest.Server, otn string)
		// keepFaults leaves the gateway's faults armed over the restart: a
		// request the killed agent had written may reach the gateway only
		// after the kill, and must meet the fault it was armed for, not a
		// healthy gateway that would charge it.
		keepFaults bool
		want       string
		charges    int
		recover    bool
	}{
		{name: "after the record commit", killAt: event.PaymentSending, keepFaults: true,
			arm: func(srv *alipaytest.Server) {
				srv.SetFault(alipay.MethodTradePay, alipaytest.Fault{Latency: time.Minute})
			},
			want: event.PaymentCancelled, recover: true},
		{name: "after the charge, before the answer", killAt: event.PaymentSending,
			arm: func(srv *alipaytest.Server) {
				srv.SetFault(alipay.MethodTradePay, alipaytest.Fault{Processed: true, Latency: time.Minute})
			},
			ready: func(srv *alipaytest.Server, otn string) bool {
				tr, ok := srv.TradeByOutTradeNo(otn)
				return ok && tr.Charges == 1
			},
			want: event.PaymentPaid, charges: 1, recover: true},
		{name: "waiting for a buyer who never confirms", killAt: event.PaymentWaitingBuyer, buyerWait: 1,
			payer: &alipaytest.Payer{Balance: 100000, Confirm: true, NeverConfirm: true},
			want:  event.PaymentCancelled, recover: true},
		{name: "waiting for a buyer who confirms meanwhile", killAt: event.PaymentWaitingBuyer, buyerWait: 60,
			payer:    &alipaytest.Payer{Balance: 100000, Confirm: true, NeverConfirm: true},
			whileOff: func(srv *alipaytest.Server, otn string) { srv.Confirm(otn) },
			want:     event.PaymentPaid, charges: 1, recover: true},
		{name: "during the cancel, sent", killAt: event.PaymentCancelling, buyerWait: 1,
			payer: &alipaytest.Payer{Balance: 100000, Confirm: true, NeverConfirm: true},
			arm: func(srv *alipaytest.Server) {
				srv.SetFault(alipay.MethodTradeCancel, alipaytest.Fault{Processed: true, Latency: time.Minute})
			},
			ready: func(srv *alipaytest.Server, otn string) bool {
				tr, _ := srv.TradeByOutTradeNo(otn)
				return tr.Status == alipay.TradeClosed
			},
			want: event.PaymentCancelled, recover: true},
		{name: "during the cancel, not sent", killAt: event.PaymentCancelling, buyerWait: 1,
			payer: &alipaytest.Payer{Balance: 100000, Confirm: true, NeverConfirm: true},
			arm: func(srv *alipaytest.Server) {
				srv.SetFault(alipay.MethodTradeCancel, alipaytest.Fault{Latency: time.Minute})
			},
			want: event.PaymentCancelled, recover: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			if tt.payer != nil {
				srv.SetPayer(plain.UserID, *tt.payer)
			}
			dir := t.TempDir()
			appKey, alipayPub, err := srv.WriteKeys(dir)
			if err != nil {
				t.Fatal(err)
			}
			c := testConfig(t, srv, filepath.Join(dir, "data"))
			c.AppPrivateKey, c.AlipayPublicKey, c.Coupons = appKey, alipayPub, nil
			if tt.buyerWait > 0 {
				c.Payment = &config.Payment{BuyerWaitSeconds: tt.buyerWait}
			}
			configPath := filepath.Join(dir, "posagent.json")
			if err := config.Save(configPath, c); err != nil {
				t.Fatal(err)
			}

			first := startPayChild(t, configPath)
			first.scan(srv.IssueCode(plain.UserID))
			sence := first.until("decoded", typed("decoded"))["sence_no"].(string)
			if tt.arm != nil {
				tt.arm(srv)
			}
			otn := "kill_" + strings.NewReplacer(" ", "_", "-", "_", ",", "").Replace(tt.name)
			otn = otn[:min(len(otn), 64)]
			fmt.Fprintf(first.stdin, "pay %s %s 10.00\n", sence, otn)
			first.until("state "+tt.killAt, paymentOf(otn, tt.killAt))
			if tt.ready != nil {
				waitFor(t, "the gateway's side of "+tt.killAt, func() bool { return tt.ready(srv, otn) })
			}
			if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			first.cmd.Wait()
			if !tt.keepFaults {
				srv.ClearFaults()
			}
			if tt.whileOff != nil {
				tt.whileOff(srv, otn)
			}

			second := startPayChild(t, configPath)
			end := second.until("a final state", paymentOf(otn, final...))
			if end["state"] != tt.want {
				t.Errorf("ended %v, want %s; events after the restart: %v", end["state"], tt.want, second.seen)
			}
			if end["recovered"] != tt.recover {
				t.Errorf("recovered %v, want %v", end["recovered"], tt.recover)
			}
			if end["sence_no"] != sence {
				t.Errorf("sence_no %v, want %v", end["sence_no"], sence)
			}
			// Never both, never unknown: one final state over both runs.
			finals := map[any]bool{}
			for _, e := range append(first.seen, second.seen...) {
				if paymentOf(otn, final...)(e) {
					finals[e["state"]] = true
				}
			}
			if len(finals) != 1 {
				t.Errorf("final states %v, want one", finals)
			}
			tr, _ := srv.TradeByOutTradeNo(otn)
			if tr.Charges != tt.charges || tr.Charges > 1 || tr.Refunded {
				t.Errorf("trade %+v: charged %d times (refunded %v), want %d", tr, tr.Charges, tr.Refunded, tt.charges)
			}
			pays := 0
			for _, r := range srv.Requests() {
				if r.Method == alipay.MethodTradePay {
					pays++
				}
			}
			if pays > 1 {
				t.Errorf("%d pay requests: a payment is never sent twice", pays)
			}
			second.cmd.Process.Signal(syscall.SIGTERM)
			for range second.events {
			}
			if err := second.cmd.Wait(); err != nil {
				t.Errorf("after SIGTERM: %v", err)
			}
		})
	}
}
