package payment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/event"
)

// TestBranches drives one payment through each branch of the flow and
// checks the states it passed, how it ended at the gateway, and that the
// buyer was charged at most once.
func TestBranches(t *testing.T) {
	for _, tt := range []struct {
		name    string
		payer   *alipaytest.Payer
		fault   *alipaytest.Fault // on alipay.trade.pay
		timeout time.Duration
		setup   func(e *env)
		states  []string
		charges int
		refund  bool
	}{
		{name: "paid", states: []string{"sending", "paid"}, charges: 1},
		{name: "buyer confirms", payer: &alipaytest.Payer{Balance: 100000, Confirm: true, ConfirmAfter: 200 * time.Millisecond},
			states: []string{"sending", "waiting_buyer", "paid"}, charges: 1},
		{name: "buyer never confirms", payer: &alipaytest.Payer{Balance: 100000, Confirm: true, NeverConfirm: true},
			states: []string{"sending", "waiting_buyer", "cancelling", "cancelled"}},
		{name: "balance too low", payer: &alipaytest.Payer{Balance: 100},
			states: []string{"sending", "failed"}},
		{name: "code invalid", fault: &alipaytest.Fault{SubCode: alipay.SubAuthCodeInvalid, Count: 1},
			states: []string{"sending", "failed"}},
		{name: "ACQ.SYSTEM_ERROR", fault: &alipaytest.Fault{SubCode: alipay.SubTradeSystemError, Count: 1},
			states: []string{"sending", "unknown", "cancelling", "cancelled"}},
		{name: "already paid", fault: &alipaytest.Fault{Processed: true, SubCode: alipay.SubTradeHasSuccess, Count: 1},
			states: []string{"sending", "unknown", "paid"}, charges: 1},
		{name: "answer lost after the charge", fault: &alipaytest.Fault{Processed: true, Drop: true, Count: 1},
			states: []string{"sending", "unknown", "paid"}, charges: 1},
		{name: "20000 after the charge", fault: &alipaytest.Fault{Processed: true, Code20000: true, Count: 1},
			states: []string{"sending", "unknown", "paid"}, charges: 1},
		{name: "20000 before the charge", fault: &alipaytest.Fault{Code20000: true, Count: 1},
			states: []string{"sending", "unknown", "cancelling", "cancelled"}},
		{name: "no answer at all", fault: &alipaytest.Fault{Drop: true, Count: 1},
			states: []string{"sending", "unknown", "cancelling", "cancelled"}},
		{name: "slow answer after the charge", fault: &alipaytest.Fault{Processed: true, Latency: time.Second, Count: 1}, timeout: 200 * time.Millisecond,
			states: []string{"sending", "unknown", "paid"}, charges: 1},
		{name: "answer that does not verify", fault: &alipaytest.Fault{Processed: true, BadSign: true, Count: 1},
			states: []string{"sending", "unknown", "paid"}, charges: 1},
		{name: "cancel unreachable, then sent", payer: &alipaytest.Payer{Balance: 100000, Confirm: true, NeverConfirm: true},
			setup: func(e *env) {
				e.srv.SetFault(alipay.MethodTradeCancel, alipaytest.Fault{Drop: true, Count: 3})
			},
			states: []string{"sending", "waiting_buyer", "cancelling", "cancelled"}},
		{name: "buyer confirms as the cancel goes out", payer: &alipaytest.Payer{Balance: 100000, Confirm: true, ConfirmAfter: time.Second},
			// The wait (300ms) ends, the query finds the trade unpaid, and
			// the buyer confirms while the cancel is on its way: the cancel
			// refunds.
			setup: func(e *env) {
				e.srv.SetFault(alipay.MethodTradeCancel, alipaytest.Fault{Latency: 2 * time.Second, Count: 1})
			},
			states: []string{"sending", "waiting_buyer", "cancelling", "refunded"}, charges: 1, refund: true},
		{name: "cancel retry_flag Y", payer: &alipaytest.Payer{Balance: 100000, Confirm: true, NeverConfirm: true},
			setup:  func(e *env) { e.srv.CancelRetries(2) },
			states: []string{"sending", "waiting_buyer", "cancelling", "cancelled"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{buyerWait: 300 * time.Millisecond, timeout: tt.timeout})
			if tt.payer != nil {
				e.srv.SetPayer(userID, *tt.payer)
			}
			if tt.fault != nil {
				e.srv.SetFault(alipay.MethodTradePay, *tt.fault)
			}
			if tt.setup != nil {
				tt.setup(e)
			}
			code := e.decoded("S1")
			e.pay("S1", "o1", "12.50")
			got := e.states("o1")
			if !slices.Equal(got, tt.states) {
				t.Fatalf("states %v, want %v", got, tt.states)
			}
			tr := e.trade("o1")
			if tr.Charges != tt.charges || tr.Refunded != tt.refund {
				t.Fatalf("trade %+v: charges %d refunded %v, want %d %v", tr, tr.Charges, tr.Refunded, tt.charges, tt.refund)
			}
			if e.payRequests() != 1 {
				t.Fatalf("%d pay requests, want 1: a code is sent once", e.payRequests())
			}
			if tr.SenceNo != "" && tr.SenceNo != "S1" {
				t.Fatalf("DYNAMIC_TOKEN_OUT_BIZ_NO %q", tr.SenceNo)
			}
			p, err := e.svc.Get("o1")
			if err != nil || p.State != tt.states[len(tt.states)-1] || p.TotalAmount != "12.50" || p.SenceNo != "S1" {
				t.Fatalf("stored %+v %v", p, err)
			}
			if p.State == event.PaymentPaid && p.TradeNo == "" {
				t.Fatal("paid without trade_no")
			}
			if p.Action == "" || p.Message == "" {
				t.Fatalf("no words for the cashier: %+v", p)
			}
			// The code was never written: not in the records, not in a
			// cancel job.
			if raw, err := os.ReadFile(e.dbPath); err != nil || bytes.Contains(raw, []byte(code)) {
				t.Fatalf("the database file holds the payment code (%v)", err)
			}
		})
	}
}

func TestCashierCancels(t *testing.T) {
	e := newEnv(t, envOpts{buyerWait: time.Minute})
	e.srv.SetPayer(userID, alipaytest.Payer{Balance: 100000, Confirm: true, NeverConfirm: true})
	e.decoded("S1")
	e.pay("S1", "o1", "3.00")
	e.until("waiting for the buyer", isPayment(event.PaymentWaitingBuyer, ""))
	ctx := context.Background()
	if _, err := e.svc.Cancel(ctx, "o1"); err != nil {
		t.Fatal(err)
	}
	if got := e.states("o1"); !slices.Equal(got, []string{"cancelling", "cancelled"}) {
		t.Fatalf("states %v", got)
	}
	var pe *Error
	if _, err := e.svc.Cancel(ctx, "o1"); !errors.As(err, &pe) || pe.Status != http.StatusConflict {
		t.Fatalf("cancel of a cancelled payment: %v", err)
	}
	if _, err := e.svc.Cancel(ctx, "nope"); !errors.As(err, &pe) || pe.Status != http.StatusNotFound {
		t.Fatalf("cancel of no payment: %v", err)
	}
}

func TestOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.decoded("S1")
	first := e.pay("S1", "o1", "12.50")
	e.states("o1")
	// The same request again: the same payment, nothing sent.
	p, created, err := e.svc.Pay(context.Background(), Request{SenceNo: "S1", OutTradeNo: "o1", TotalAmount: "12.50", Subject: "lunch"})
	if err != nil || created || p.OutTradeNo != first.OutTradeNo || p.State != event.PaymentPaid {
		t.Fatalf("repeat: %+v %v %v", p, created, err)
	}
	var pe *Error
	// The same out_trade_no for something else.
	if _, _, err := e.svc.Pay(context.Background(), Request{SenceNo: "S1", OutTradeNo: "o1", TotalAmount: "13.00", Subject: "lunch"}); !errors.As(err, &pe) || pe.Status != http.StatusConflict {
		t.Fatalf("same out_trade_no, other amount: %v", err)
	}
	// The same customer's code for another sale.
	if _, _, err := e.svc.Pay(context.Background(), Request{SenceNo: "S1", OutTradeNo: "o2", TotalAmount: "12.50", Subject: "lunch"}); !errors.As(err, &pe) || pe.Status != http.StatusConflict {
		t.Fatalf("second out_trade_no for a sence_no: %v", err)
	}
	if e.payRequests() != 1 {
		t.Fatalf("%d pay requests", e.payRequests())
	}
}

// TestBadRequests goes through the HTTP handler: each is refused with the
// status and a message naming the reason, and nothing reaches the gateway.
func TestBadRequests(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.decoded("S1")
	e.codes.Failed("S-failed")
	e.codes.Decoded("S-old", "281234567890123456", "", time.Now().Add(-time.Second))
	h := e.svc.Handler()
	long := strings.Repeat("x", 65)
	for _, tt := range []struct {
		name   string
		body   string
		status int
		word   string
	}{
		{"amount abc", `{"sence_no":"S1","out_trade_no":"b1","total_amount":"abc","subject":"x"}`, 400, "total_amount"},
		{"amount 0", `{"sence_no":"S1","out_trade_no":"b1","total_amount":"0","subject":"x"}`, 400, "at least 0.01"},
		{"amount 1.001", `{"sence_no":"S1","out_trade_no":"b1","total_amount":"1.001","subject":"x"}`, 400, "two decimals"},
		{"amount negative", `{"sence_no":"S1","out_trade_no":"b1","total_amount":"-5.00","subject":"x"}`, 400, "total_amount"},
		{"amount over the limit", `{"sence_no":"S1","out_trade_no":"b1","total_amount":"100000000.01","subject":"x"}`, 400, "100000000"},
		{"amount a number", `{"sence_no":"S1","out_trade_no":"b1","total_amount":12.5,"subject":"x"}`, 400, "total_amount"},
		{"no subject", `{"sence_no":"S1","out_trade_no":"b1","total_amount":"1.00"}`, 400, "subject"},
		{"no sence_no", `{"out_trade_no":"b1","total_amount":"1.00","subject":"x"}`, 400, "sence_no"},
		{"out_trade_no over 64", `{"sence_no":"S1","out_trade_no":"` + long + `","total_amount":"1.00","subject":"x"}`, 400, "out_trade_no"},
		{"unknown field", `{"sence_no":"S1","out_trade_no":"b1","total_amount":"1.00","subject":"x","tip":"1"}`, 400, "tip"},
		{"unknown sence_no", `{"sence_no":"no-such","out_trade_no":"b1","total_amount":"1.00","subject":"x"}`, 404, "no-such"},
		{"failed decode", `{"sence_no":"S-failed","out_trade_no":"b1","total_amount":"1.00","subject":"x"}`, 409, "did not decode"},
		{"expired code", `{"sence_no":"S-old","out_trade_no":"b1","total_amount":"1.00","subject":"x"}`, 409, "the code has expired: ask the customer to show a fresh code"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/v1/payments", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(w, r)
			var body struct {
				Error struct{ Code, Message string }
			}
			json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != tt.status || !strings.Contains(body.Error.Message, tt.word) {
				t.Fatalf("%d %s; want %d naming %q", w.Code, w.Body, tt.status, tt.word)
			}
		})
	}
	if n := e.payRequests(); n != 0 {
		t.Fatalf("%d pay requests sent for bad requests", n)
	}
	var n int
	e.db.View(func(tx *bbolt.Tx) error { n = tx.Bucket(bucketPayments).Stats().KeyN; return nil })
	if n != 0 {
		t.Fatalf("%d payments stored for bad requests", n)
	}
}

func TestHTTP(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.decoded("S1")
	srv := httptest.NewServer(e.svc.Handler())
	defer srv.Close()
	body := `{"sence_no":"S1","out_trade_no":"h1","total_amount":"9.90","subject":"coffee","operator_id":"op7"}`
	post := func() (int, Payment) {
		resp, err := http.Post(srv.URL+"/v1/payments", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p Payment
		json.NewDecoder(resp.Body).Decode(&p)
		return resp.StatusCode, p
	}
	if st, p := post(); st != http.StatusAccepted || p.State != "sending" || p.TotalAmount != "9.90" {
		t.Fatalf("first POST: %d %+v", st, p)
	}
	e.states("h1")
	if st, p := post(); st != http.StatusOK || p.State != "paid" {
		t.Fatalf("second POST: %d %+v", st, p)
	}
	resp, err := http.Get(srv.URL + "/v1/payments/h1")
	if err != nil {
		t.Fatal(err)
	}
	var p Payment
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != 200 || p.State != "paid" || p.TradeNo == "" || p.SenceNo != "S1" {
		t.Fatalf("GET: %d %+v", resp.StatusCode, p)
	}
	resp, _ = http.Get(srv.URL + "/v1/payments/none")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("GET unknown: %d", resp.StatusCode)
	}
	resp, _ = http.Post(srv.URL+"/v1/payments/h1/cancel", "application/json", nil)
	resp.Body.Close()
	if resp.StatusCode != 409 {
		t.Fatalf("cancel of a paid payment: %d", resp.StatusCode)
	}
	if tr := e.trade("h1"); tr.Charges != 1 {
		t.Fatalf("charges %d", tr.Charges)
	}
	for _, r := range e.srv.Requests() {
		if r.Method == alipay.MethodTradePay {
			ext, _ := r.Biz["extend_params"].(map[string]any)
			if ext["DYNAMIC_TOKEN_OUT_BIZ_NO"] != "S1" || r.Biz["operator_id"] != "op7" || r.Biz["terminal_id"] != "till1" ||
				r.Biz["scene"] != "bar_code" || r.Biz["product_code"] != "FACE_TO_FACE_PAYMENT" || str(r.Biz["total_amount"]) != "9.90" {
				t.Fatalf("pay biz_content %v", r.Biz)
			}
		}
	}
}

// TestResume leaves records as a crash would, then starts again: every one
// ends paid or cancelled, those found paid are reported recovered.
func TestResume(t *testing.T) {
	e := newEnv(t, envOpts{buyerWait: 200 * time.Millisecond})
	// Charged at the gateway, but the process died before the answer:
	// the record says sending.
	codeA := e.decoded("SA")
	codeB := e.decoded("SB")
	e.close()
	ctx := context.Background()
	if _, err := e.client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: "oa", AuthCode: codeA, Subject: "x", TotalAmount: "1.00",
		ExtendParams: &alipay.TradePayExtendParams{DynamicTokenOutBizNo: "SA"}}); err != nil {
		t.Fatal(err)
	}
	_ = codeB // never sent: the process died after the commit
	now := time.Now()
	e.seed(
		Record{OutTradeNo: "oa", SenceNo: "SA", AmountFen: 100, Subject: "x", State: event.PaymentSending, Created: now, Updated: now},
		Record{OutTradeNo: "ob", SenceNo: "SB", AmountFen: 100, Subject: "x", State: event.PaymentSending, Created: now, Updated: now},
		Record{OutTradeNo: "oc", SenceNo: "SC", AmountFen: 100, Subject: "x", State: event.PaymentCancelling, Created: now, Updated: now},
	)
	e.start(envOpts{buyerWait: 200 * time.Millisecond})
	want := map[string]string{"oa": "paid", "ob": "cancelled", "oc": "cancelled"}
	got := map[string]event.Payment{}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for len(got) < len(want) {
		ev, err := e.sub.Next(wctx)
		if err != nil {
			t.Fatalf("got %v: %v", got, err)
		}
		if p, ok := ev.(event.Payment); ok && (p.State == "paid" || p.State == "cancelled" || p.State == "refunded") {
			got[p.OutTradeNo] = p
		}
	}
	for otn, st := range want {
		if got[otn].State != st {
			t.Errorf("%s: %s, want %s", otn, got[otn].State, st)
		}
	}
	if !got["oa"].Recovered || got["oa"].TradeNo == "" {
		t.Errorf("oa not reported recovered: %+v", got["oa"])
	}
	if e.trade("oa").Charges != 1 || e.trade("ob").Charges != 0 {
		t.Errorf("charges: %+v %+v", e.trade("oa"), e.trade("ob"))
	}
	// ob was closed before its pay could arrive: a late pay is refused.
	if _, err := e.client.TradePay(ctx, alipay.TradePayRequest{OutTradeNo: "ob", AuthCode: codeB, Subject: "x", TotalAmount: "1.00",
		ExtendParams: &alipay.TradePayExtendParams{DynamicTokenOutBizNo: "SB"}}); err == nil {
		t.Error("a late pay of a cancelled payment went through")
	}
}

func TestRecordChecksum(t *testing.T) {
	r := Record{OutTradeNo: "o1", SenceNo: "S1", AmountFen: 1250, State: "paid"}
	v, err := encodeRecord(&r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord([]byte("o1"), v)
	if err != nil || got.AmountFen != 1250 {
		t.Fatalf("%+v %v", got, err)
	}
	v[len(v)-3] ^= 1
	if _, err := decodeRecord([]byte("o1"), v); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flipped bit: %v", err)
	}
	if _, err := decodeRecord([]byte("o1"), []byte{2, 0}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("other version: %v", err)
	}
	if strings.Contains(string(v), "28") && strings.Contains(string(v), "auth_code") {
		t.Fatal("a record holds a code")
	}
}

func TestCodes(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	c := NewCodes(clock)
	c.Decoded("S1", "281234567890123456", "", now.Add(time.Minute))
	if code, _, st := c.peek("S1"); st != codeReady || code != "281234567890123456" {
		t.Fatal("not ready")
	}
	c.take("S1")
	if _, _, st := c.peek("S1"); st != codeTaken {
		t.Fatal("taken code still there")
	}
	c.Decoded("S1", "281234567890123456", "", now.Add(time.Minute)) // a rescan
	if _, _, st := c.peek("S1"); st != codeTaken {
		t.Fatal("a rescan revived a used code")
	}
	c.Failed("S2")
	if _, _, st := c.peek("S2"); st != codeFailed {
		t.Fatal("failed")
	}
	c.Decoded("S3", "281234567890123457", "", now.Add(time.Minute))
	now = now.Add(time.Minute)
	if _, _, st := c.peek("S3"); st != codeExpired {
		t.Fatal("expired")
	}
	now = now.Add(DefaultForget + time.Minute)
	if _, _, st := c.peek("S3"); st != codeUnknown {
		t.Fatal("not forgotten")
	}
}

// A clean stop while the pay is on its way waits for the answer (within
// FinishGrace) and records it: the next start has nothing to resolve.
func TestCleanStopKeepsTheAnswer(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.srv.SetFault(alipay.MethodTradePay, alipaytest.Fault{Processed: true, Latency: 300 * time.Millisecond, Count: 1})
	e.decoded("S1")
	e.pay("S1", "o1", "4.00")
	e.close() // returns once the driver has
	db, err := bbolt.Open(e.dbPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, ok, err := store{db}.get("o1")
	if err != nil || !ok || r.State != event.PaymentPaid || r.TradeNo == "" {
		t.Fatalf("after a clean stop: %+v %v %v", r, ok, err)
	}
}

// A cancel that waits in the queue names its customer in the queue's events.
func TestQueuedCancelNamesTheCustomer(t *testing.T) {
	e := newEnv(t, envOpts{buyerWait: 100 * time.Millisecond})
	e.srv.SetPayer(userID, alipaytest.Payer{Balance: 100000, Confirm: true, NeverConfirm: true})
	e.srv.SetFault(alipay.MethodTradeCancel, alipaytest.Fault{Drop: true, Count: 1})
	e.decoded("S1")
	e.pay("S1", "o1", "2.00")
	ev := e.until("the cancel queued", func(ev event.Event) bool { q, ok := ev.(event.Queued); return ok && q.Kind == JobKind })
	if q := ev.(event.Queued); q.SenceNo != "S1" {
		t.Fatalf("queued %+v", q)
	}
	if got := e.states("o1"); got[len(got)-1] != event.PaymentCancelled {
		t.Fatalf("states %v", got)
	}
}

// A payment asked for once Run has stopped is refused as every write is
// while posagent stops: 503 stopping, with Retry-After, and nothing done.
func TestPayWhileStopping(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.decoded("S1")
	e.stop()
	<-e.done
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/payments", strings.NewReader(`{"sence_no":"S1","out_trade_no":"o1","total_amount":"1.00","subject":"x"}`))
	r.Header.Set("Content-Type", "application/json")
	e.svc.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"stopping"`) || w.Header().Get("Retry-After") == "" {
		t.Fatalf("POST /v1/payments while stopping: %d %s (Retry-After %q)", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
	if _, err := e.svc.Get("o1"); err == nil {
		t.Error("a payment was recorded while stopping")
	}
	if n := e.payRequests(); n != 0 {
		t.Errorf("%d pay requests sent", n)
	}
}
