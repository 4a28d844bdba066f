package payment

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/dbfile"
	"posagent/internal/event"
	"posagent/internal/queue"
)

const userID = "2088000000000001"

var (
	keysOnce          sync.Once
	appKey, alipayKey *rsa.PrivateKey
	keysErr           error
)

func loadKey(name string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "keys", name))
	if err != nil {
		return nil, err
	}
	return alipay.ParsePrivateKey(b)
}

// env is a payment service on a real bbolt file and a real queue, talking
// to the fake gateway through the real client.
type env struct {
	t      *testing.T
	srv    *alipaytest.Server
	client *alipay.Client
	db     *bbolt.DB
	q      *queue.Queue
	bus    *event.Bus
	sub    *event.Subscription
	codes  *Codes
	svc    *Service
	stop   context.CancelFunc
	done   chan struct{}
	dbPath string
}

type envOpts struct {
	// enqueuer wraps the queue as the service sees it (a disk that fails).
	enqueuer  func(Enqueuer) Enqueuer
	buyerWait time.Duration
	timeout   time.Duration // the client's HTTP timeout
	srv       *alipaytest.Server
	dbPath    string
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	keysOnce.Do(func() {
		if appKey, keysErr = loadKey("app_private_pkcs1.pem"); keysErr == nil {
			alipayKey, keysErr = loadKey("alipay_private_pkcs1.pem")
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	e := &env{t: t, srv: o.srv}
	if e.srv == nil {
		e.srv = alipaytest.NewServer(alipaytest.WithAppKey(appKey), alipaytest.WithAlipayKey(alipayKey))
		t.Cleanup(e.srv.Close)
		e.srv.AddUser(alipaytest.User{UserID: userID, Authorised: true})
	}
	cfg := e.srv.ClientConfig()
	if o.timeout > 0 {
		cfg.HTTPClient = &http.Client{Timeout: o.timeout}
	}
	var err error
	if e.client, err = alipay.NewClient(cfg); err != nil {
		t.Fatal(err)
	}
	e.dbPath = o.dbPath
	if e.dbPath == "" {
		e.dbPath = filepath.Join(t.TempDir(), "posagent.db")
	}
	e.start(o)
	return e
}

func (e *env) start(o envOpts) {
	t := e.t
	var err error
	if e.db, err = dbfile.Open(e.dbPath, dbfile.Options{}); err != nil {
		t.Fatal(err)
	}
	e.bus = event.NewBus()
	e.sub = e.bus.Subscribe()
	// Died as the agent wires it: a dead cancel marks its payment.
	died := func(d event.Dead) {
		if d.Kind == JobKind {
			e.svc.CancelDied(d.SenceNo, d.Reason)
		}
	}
	e.q, err = queue.New(e.db, queue.Options{BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
		MaxProbeDelay: 50 * time.Millisecond, Events: e.bus, Keep: KeepCancels, Died: died})
	if err != nil {
		t.Fatal(err)
	}
	if e.codes == nil {
		e.codes = NewCodes(nil)
	}
	bw := o.buyerWait
	if bw == 0 {
		bw = time.Second
	}
	var enq Enqueuer = e.q
	if o.enqueuer != nil {
		enq = o.enqueuer(enq)
	}
	e.svc, err = New(Options{DB: e.db, Gateway: e.client, Codes: e.codes, Queue: enq, Events: e.bus,
		BuyerWait: bw, PollEvery: 20 * time.Millisecond, TerminalID: "till1",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.q.Handle(JobKind, func(ctx context.Context, j queue.Job) error { return e.svc.RunCancel(ctx, j.Payload) })
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.done = make(chan struct{})
	go func() {
		defer close(e.done)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); e.q.Run(ctx) }()
		go func() { defer wg.Done(); e.svc.Run(ctx) }()
		wg.Wait()
	}()
	t.Cleanup(e.close)
	// Pay refuses until Run has started.
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.svc.runMu.Lock()
		ready := e.svc.ctx != nil
		e.svc.runMu.Unlock()
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the payment service's Run did not start within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// seed stores records in the stopped env's database file, as a run that
// died left them; start the env again to resume them.
func (e *env) seed(recs ...Record) {
	e.t.Helper()
	db, err := bbolt.Open(e.dbPath, 0o600, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	for i := range recs {
		if err := (store{db}).put(&recs[i]); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) close() {
	if e.stop == nil {
		return
	}
	e.stop()
	<-e.done
	e.bus.Close()
	e.db.Close()
	e.stop = nil
}

// decoded issues a code for the user, decodes it at the gateway with
// sence and hands it to the code store, as the decode flow does.
func (e *env) decoded(sence string) string {
	e.t.Helper()
	return e.decodedFor(sence, userID)
}

// decodedFor is decoded with a code of the customer user.
func (e *env) decodedFor(sence, user string) string {
	e.t.Helper()
	code := e.srv.IssueCode(user)
	resp, err := e.client.TwostageCommonUse(context.Background(), alipay.TwostageRequest{DynamicID: code, SenceNo: sence, PayPID: "2088702093900999"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.codes.Decoded(sence, code, resp.UserID, time.Now().Add(time.Minute))
	return code
}

func (e *env) pay(sence, otn, amount string) Payment {
	e.t.Helper()
	p, created, err := e.svc.Pay(context.Background(), Request{SenceNo: sence, OutTradeNo: otn, TotalAmount: amount, Subject: "lunch"})
	if err != nil || !created || p.State != event.PaymentSending {
		e.t.Fatalf("pay: %+v created=%v %v", p, created, err)
	}
	return p
}

// until returns the next event ok accepts, or fails the test naming what
// it waited for.
func (e *env) until(what string, ok func(event.Event) bool) event.Event {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		ev, err := e.sub.Next(ctx)
		if err != nil {
			e.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok(ev) {
			return ev
		}
	}
}

// isPayment accepts the payment events in state whose message holds msg.
func isPayment(state, msg string) func(event.Event) bool {
	return func(ev event.Event) bool {
		p, ok := ev.(event.Payment)
		return ok && p.State == state && strings.Contains(p.Message, msg)
	}
}

// states waits for otn's payment events until one in a final state and
// returns the states seen.
func (e *env) states(otn string) []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var seen []string
	for {
		ev, err := e.sub.Next(ctx)
		if err != nil {
			e.t.Fatalf("payment %s: no final state; saw %v: %v", otn, seen, err)
		}
		p, ok := ev.(event.Payment)
		if !ok || p.OutTradeNo != otn {
			continue
		}
		seen = append(seen, p.State)
		switch p.State {
		case event.PaymentPaid, event.PaymentFailed, event.PaymentCancelled, event.PaymentRefunded:
			return seen
		}
	}
}

func (e *env) trade(otn string) alipaytest.Trade {
	tr, _ := e.srv.TradeByOutTradeNo(otn)
	return tr
}

// payRequests counts the alipay.trade.pay requests the gateway saw.
func (e *env) payRequests() int {
	n := 0
	for _, r := range e.srv.Requests() {
		if r.Method == alipay.MethodTradePay {
			n++
		}
	}
	return n
}

func str(v any) string { return fmt.Sprint(v) }
