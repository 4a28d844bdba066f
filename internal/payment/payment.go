// Package payment is stage two: it charges a decoded customer with the code
// just scanned (alipay.trade.pay, extend_params.DYNAMIC_TOKEN_OUT_BIZ_NO =
// the decode's sence_no) and sees every payment to a known end, across
// crashes.
//
// The rules, in the order they bite:
//   - the raw code stays in memory (Codes) for its life; never on disk;
//   - a record (never the code) is committed before the request leaves, so
//     that a crash at any instant leaves a payment the next start finds;
//   - an outcome is never guessed: 10000 is paid, 10003 is waited for by
//     query, anything without a verified answer is unknown and is queried,
//     then cancelled unless paid;
//   - a cancel is a durable queue job, sent until the gateway answers it
//     with retry_flag N, also after a restart;
//   - one out_trade_no pays at most once, and so does one sence_no.
package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/alipay"
	"posagent/internal/event"
	"posagent/internal/queue"
	"posagent/internal/redact"
)

// Defaults of Options.
const (
	DefaultBuyerWait = 30 * time.Second
	DefaultPollEvery = 3 * time.Second
	// DefaultQueryTries is how often an unknown outcome is queried, Poll
	// apart, while the gateway does not know the trade, before it is
	// cancelled: the pay may still be on its way to it.
	DefaultQueryTries  = 3
	DefaultFinishGrace = 5 * time.Second
	// CancelLife is how long a cancel job is retried: the gateway cancels
	// trades of the same day only.
	CancelLife = 24 * time.Hour
	// DefaultKeep is how long the record of a final payment is kept: long
	// enough for the merchant's monthly reconciliation and a customer's
	// query about last month's receipt, short enough that the records of a
	// busy till stay a few tens of thousands.
	DefaultKeep = 90 * 24 * time.Hour
)

// JobKind names payment cancels in the queue.
const JobKind = "payment_cancel"

// KeepCancels is for queue.Options.Keep: a payment's cancel may not be
// dropped, since nothing else would end the payment it cancels.
func KeepCancels(kind string) string {
	if kind == JobKind {
		return "it is a payment's cancel: without it the payment would stay cancelling with nobody working on it; " +
			"it is sent until Alipay answers (retry it if it is dead)"
	}
	return ""
}

// Gateway is the three trade methods of the gateway client.
type Gateway interface {
	TradePay(ctx context.Context, req alipay.TradePayRequest) (*alipay.TradePayResponse, error)
	TradeQuery(ctx context.Context, req alipay.TradeQueryRequest) (*alipay.TradeQueryResponse, error)
	TradeCancel(ctx context.Context, req alipay.TradeCancelRequest) (*alipay.TradeCancelResponse, error)
}

// Enqueuer stores a job durably, and runs a dead one again; *queue.Queue
// is one.
type Enqueuer interface {
	Enqueue(ctx context.Context, j queue.Job) (queue.Job, error)
	RetryDead(id string) error
}

// Publisher receives the payment events; *event.Bus is one.
type Publisher interface {
	Publish(event.Event)
}

// Options build a Service. DB, Gateway, Codes, Queue and Events are
// required.
type Options struct {
	DB      *bbolt.DB // the agent's database file: payments live in their own buckets
	Gateway Gateway
	Codes   *Codes
	Queue   Enqueuer // holds cancels; register Service.RunCancel for JobKind
	Events  Publisher
	// BuyerWait is how long a buyer who must confirm in the app is waited
	// for; PollEvery how often the trade is queried meanwhile.
	BuyerWait, PollEvery time.Duration
	QueryTries           int // DefaultQueryTries when zero
	// FinishGrace is how long a pay request in flight when Run's context
	// ends may take to be answered (DefaultFinishGrace when zero): an
	// answer that comes is recorded, so a clean stop does not turn a known
	// outcome into one the next start must resolve.
	FinishGrace time.Duration
	// Keep is how long Purge keeps the record of a final payment
	// (DefaultKeep when zero).
	Keep       time.Duration
	TerminalID string // sent as terminal_id
	StoreID    string // sent as store_id unless the request names one
	Log        *slog.Logger
	Now        func() time.Time
}

// Service takes payments. Call Run before Pay.
type Service struct {
	o  Options
	st store

	mu     sync.Mutex      // orders the checks of a new payment with its commit
	active map[string]*run // drivers by out_trade_no

	runMu   sync.Mutex
	ctx     context.Context // Run's; nil before Run
	stopped bool
	wg      sync.WaitGroup
}

// run is a payment being driven.
type run struct {
	cancel chan struct{} // closed when the cashier gives up
	once   sync.Once
	// buyer is the user_id the code decoded to, for telling this sale's
	// trade from another's (foreign); "" for a payment resumed after a
	// restart (never on disk).
	buyer string
}

func (r *run) requestCancel() { r.once.Do(func() { close(r.cancel) }) }

// New checks o and opens the payment buckets.
func New(o Options) (*Service, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("payment: no database")
	case o.Gateway == nil:
		return nil, errors.New("payment: no gateway")
	case o.Codes == nil:
		return nil, errors.New("payment: no code store")
	case o.Queue == nil:
		return nil, errors.New("payment: no queue")
	case o.Events == nil:
		return nil, errors.New("payment: no event publisher")
	case o.BuyerWait < 0 || o.PollEvery < 0 || o.QueryTries < 0 || o.FinishGrace < 0 || o.Keep < 0:
		return nil, errors.New("payment: BuyerWait, PollEvery, QueryTries, FinishGrace and Keep may not be negative")
	}
	if o.Keep == 0 {
		o.Keep = DefaultKeep
	}
	if o.FinishGrace == 0 {
		o.FinishGrace = DefaultFinishGrace
	}
	if o.BuyerWait == 0 {
		o.BuyerWait = DefaultBuyerWait
	}
	if o.PollEvery == 0 {
		o.PollEvery = DefaultPollEvery
	}
	if o.QueryTries == 0 {
		o.QueryTries = DefaultQueryTries
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{o: o, st: store{o.DB}, active: map[string]*run{}}
	if err := s.st.init(); err != nil {
		return nil, fmt.Errorf("payment: %s: %w", o.DB.Path(), err)
	}
	// Whatever is open now was left by an earlier run.
	if err := s.st.markRecovered(); err != nil {
		return nil, fmt.Errorf("payment: %s: %w", o.DB.Path(), err)
	}
	return s, nil
}

// Request asks for a payment: the POS's POST /v1/payments.
type Request struct {
	SenceNo     string `json:"sence_no"`
	OutTradeNo  string `json:"out_trade_no"`
	TotalAmount string `json:"total_amount"` // yuan, a string: "12.50"
	Subject     string `json:"subject"`
	StoreID     string `json:"store_id,omitempty"`
	OperatorID  string `json:"operator_id,omitempty"`
}

// Error is a payment refused before anything was sent, or a cancel
// refused: Status is the HTTP status, Code the API's word for it.
type Error struct {
	Status int
	Code   string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func refuse(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// check validates a request and returns its amount in fen.
func (r Request) check() (int64, *Error) {
	bad := func(format string, args ...any) (int64, *Error) {
		return 0, refuse(http.StatusBadRequest, "bad_request", format, args...)
	}
	if r.SenceNo == "" {
		return bad("sence_no: required (the decoded event's sence_no)")
	}
	fen, err := alipay.ParseYuan(r.TotalAmount)
	if err != nil {
		return bad("%v", err)
	}
	// The request as drive will send it, so that what the gateway would
	// refuse is refused here, before the code is used.
	req := alipay.TradePayRequest{
		OutTradeNo: r.OutTradeNo, AuthCode: "0", Subject: r.Subject, TotalAmount: alipay.TradeAmount(fen),
		StoreID: r.StoreID, OperatorID: r.OperatorID,
	}
	if err := req.Validate(); err != nil {
		return bad("%v", err)
	}
	return fen, nil
}

// differs names the first field of req (amount in fen) that differs from
// the payment r asked for, with both values; "" when none does.
func (r *Record) differs(req Request, fen int64) string {
	switch {
	case r.SenceNo != req.SenceNo:
		return fmt.Sprintf("sence_no (%s, now %s)", r.SenceNo, req.SenceNo)
	case r.AmountFen != fen:
		return fmt.Sprintf("total_amount (%s, now %s)", alipay.FormatFen(r.AmountFen), alipay.FormatFen(fen))
	case r.Subject != req.Subject:
		return fmt.Sprintf("subject (%q, now %q)", r.Subject, req.Subject)
	}
	return ""
}

// Pay starts a payment and returns it in state sending; created is false
// when the same request came before (then its payment is returned as it
// stands). A refusal is an *Error, and then nothing was stored or sent.
func (s *Service) Pay(ctx context.Context, req Request) (p Payment, created bool, err error) {
	fen, rerr := req.check()
	if rerr != nil {
		return Payment{}, false, rerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok, err := s.st.get(req.OutTradeNo)
	if err != nil {
		return Payment{}, false, err
	}
	if ok {
		if diff := old.differs(req, fen); diff != "" {
			return Payment{}, false, refuse(http.StatusConflict, "conflict",
				"out_trade_no %s was asked before with another %s: the same request again returns that payment; use a new out_trade_no for a new sale",
				req.OutTradeNo, diff)
		}
		return old.payment(), false, nil
	}
	var other string
	if err := s.o.DB.View(func(tx *bbolt.Tx) error { other = s.st.bySence(tx, req.SenceNo); return nil }); err != nil {
		return Payment{}, false, err
	}
	if other != "" {
		return Payment{}, false, refuse(http.StatusConflict, "conflict",
			"sence_no %s was already sent for payment %s, and a code pays once: ask the customer to show a fresh code", req.SenceNo, other)
	}
	code, buyer, state := s.o.Codes.peek(req.SenceNo)
	switch state {
	case codeUnknown:
		return Payment{}, false, refuse(http.StatusNotFound, "not_found",
			"no decoded customer has sence_no %s yet: wait for its decoded event (a decode may be waiting for Alipay); if there was none, or posagent restarted since, scan the customer's code", req.SenceNo)
	case codeFailed:
		return Payment{}, false, refuse(http.StatusConflict, "decode_failed",
			"the code of sence_no %s did not decode: ask the customer to show a fresh code", req.SenceNo)
	case codeExpired, codeTaken:
		return Payment{}, false, refuse(http.StatusConflict, "code_expired",
			"the code has expired: ask the customer to show a fresh code")
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()
	switch {
	case s.stopped:
		// As the local API answers every write while posagent stops.
		return Payment{}, false, refuse(http.StatusServiceUnavailable, "stopping", "posagent is stopping; nothing was done: send the request again once it is back")
	case s.ctx == nil:
		return Payment{}, false, refuse(http.StatusServiceUnavailable, "unavailable", "payments are not running yet (posagent is starting): try again")
	}
	storeID := req.StoreID
	if storeID == "" {
		storeID = s.o.StoreID
	}
	now := s.o.Now()
	rec := &Record{
		OutTradeNo: req.OutTradeNo, SenceNo: req.SenceNo, AmountFen: fen, Subject: req.Subject,
		StoreID: storeID, OperatorID: req.OperatorID, TerminalID: s.o.TerminalID,
		State: event.PaymentSending, Message: "Sending the payment to Alipay.", Action: "Wait.",
		Created: now, Updated: now,
	}
	// On disk before the request leaves: a crash from here on leaves a
	// payment the next start resolves.
	if err := s.st.put(rec); err != nil {
		return Payment{}, false, err
	}
	s.o.Codes.take(req.SenceNo)
	r := &run{cancel: make(chan struct{}), buyer: buyer}
	s.active[rec.OutTradeNo] = r
	s.publish(rec)
	s.wg.Add(1)
	go s.drive(s.ctx, r, *rec, code)
	return rec.payment(), true, nil
}

// Get returns a payment.
func (s *Service) Get(outTradeNo string) (Payment, error) {
	rec, ok, err := s.st.get(outTradeNo)
	if err != nil {
		return Payment{}, err
	}
	if !ok {
		return Payment{}, refuse(http.StatusNotFound, "not_found", "no payment has out_trade_no %s", outTradeNo)
	}
	return rec.payment(), nil
}

// MaxList is the most payments List returns.
const MaxList = 100

// StateOpen selects, in a Filter, every payment not in a final state:
// the ones still being worked on.
const StateOpen = "open"

// Filter selects payments for List; zero fields select all.
type Filter struct {
	SenceNo string
	State   string // an event.Payment* state, or StateOpen
	Limit   int    // at most MaxList; MaxList when zero
}

// List returns the payments f selects, newest first (by when they were
// asked for): a POS that lost its sale number finds the payment by the
// customer's sence_no, or the open ones by state.
func (s *Service) List(f Filter) ([]Payment, error) {
	if f.Limit <= 0 || f.Limit > MaxList {
		f.Limit = MaxList
	}
	out := []Payment{}
	var bad []error
	err := s.st.newest(func(r Record) bool {
		state := f.State == "" || r.State == f.State || (f.State == StateOpen && !r.Final())
		if (f.SenceNo == "" || r.SenceNo == f.SenceNo) && state {
			out = append(out, r.payment())
		}
		return len(out) < f.Limit
	}, &bad)
	if err != nil {
		return nil, fmt.Errorf("payment: list: %w", err)
	}
	s.reportUnreadable("payment list", bad)
	return out, nil
}

// Purge deletes the records of final payments asked for more than
// Options.Keep ago and returns how many. A payment not final is kept
// however old it is. An out_trade_no purged is no longer refused here if a
// POS uses it again; the gateway refuses it (ACQ.TRADE_HAS_SUCCESS or
// TRADE_HAS_CLOSE), and the old trade the query then finds is told from
// the new sale's by its amount, its buyer or its time (foreign), so the
// new sale fails or waits for a person, and is not taken for paid.
func (s *Service) Purge() (int, error) {
	return s.st.purge(s.o.Now().Add(-s.o.Keep))
}

// Unfinished counts the payments not in a final state: work a stopping
// demo must wait for. An unreadable payment is not counted: nothing works
// on it (resume reported it).
func (s *Service) Unfinished() (int, error) {
	open, _, err := s.st.open()
	return len(open), err
}

// reportUnreadable logs each stored payment that could not be read, with
// their count: they are skipped, never guessed at, and left for someone to
// look at.
func (s *Service) reportUnreadable(where string, bad []error) {
	for _, err := range bad {
		s.o.Log.Error(where+": stored payment unreadable, skipped: check it with Alipay", "err", err, "unreadable", len(bad))
	}
}

// Cancel gives up a payment whose buyer has not confirmed (the cashier's
// Cancel): it is cancelled with the gateway, unless it turns out paid. A
// payment in a final state is refused (409).
func (s *Service) Cancel(ctx context.Context, outTradeNo string) (Payment, error) {
	// s.mu through the cancel: resume registers a driver under it.
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok, err := s.st.get(outTradeNo)
	r := s.active[outTradeNo]
	switch {
	case err != nil:
		return Payment{}, err
	case !ok:
		return Payment{}, refuse(http.StatusNotFound, "not_found", "no payment has out_trade_no %s", outTradeNo)
	case rec.Final():
		return rec.payment(), refuse(http.StatusConflict, "conflict", "payment %s is %s already: it cannot be cancelled here", outTradeNo, rec.State)
	case r != nil:
		r.requestCancel()
	case rec.State != event.PaymentCancelling:
		s.cancel(ctx, &rec, "The cashier cancelled the payment.")
	}
	return rec.payment(), nil
}

// Run resolves the payments a previous run left open, then keeps the
// service taking payments until ctx is done; it returns once every payment
// being driven has stopped. A payment cut short stays as recorded and is
// resolved at the next Run.
func (s *Service) Run(ctx context.Context) error {
	s.runMu.Lock()
	s.ctx = ctx
	s.runMu.Unlock()
	err := s.resume(ctx)
	if err != nil {
		s.o.Log.Error("payments left open by the last run not resumed", "err", err)
	}
	<-ctx.Done()
	s.runMu.Lock()
	s.stopped = true
	s.runMu.Unlock()
	s.wg.Wait()
	return err
}

// resume picks up every payment not in a final state.
func (s *Service) resume(ctx context.Context) error {
	open, bad, err := s.st.open()
	if err != nil {
		return fmt.Errorf("payment: resume: %w", err)
	}
	s.reportUnreadable("payment resume", bad)
	for _, rec := range open {
		if !s.resumeOne(ctx, rec) {
			return nil
		}
	}
	return nil
}

// resumeOne picks up one payment read as open; false once the service is
// stopping. Queue.Run and the API already run, so a cancel job or the
// cashier may have moved the payment since it was read: what is on disk
// now, read under s.mu (which Cancel holds too), decides, and the driver is
// registered before the payment is told, so that a Cancel finds it. The
// payment is told as it stands (New stored it recovered), so that the POS
// sees it before it resolves (a query, a buyer's wait or a cancel may take
// a while); nothing is written back.
func (s *Service) resumeOne(ctx context.Context, read Record) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok, err := s.st.get(read.OutTradeNo)
	switch {
	case err != nil || !ok:
		s.o.Log.Error("payment left open not resumed", "out_trade_no", read.OutTradeNo, "sence_no", read.SenceNo, "err", err)
		return true
	case rec.Final():
		return true // finished since it was read
	case !rec.Recovered || s.active[rec.OutTradeNo] != nil:
		return true // this run's own (Pay took it after Run began): it has its driver
	case rec.State == event.PaymentCancelling:
		s.publish(&rec)
		s.enqueueCancel(ctx, &rec)
		return true
	}
	s.runMu.Lock()
	if s.stopped {
		s.runMu.Unlock()
		return false
	}
	r := &run{cancel: make(chan struct{})}
	s.active[rec.OutTradeNo] = r
	s.wg.Add(1)
	s.runMu.Unlock()
	s.publish(&rec)
	go func() {
		defer s.done(rec.OutTradeNo)
		if rec.State == event.PaymentWaitingBuyer {
			s.waitBuyer(ctx, r, &rec)
			return
		}
		// A state the disk did not take is no reason to stop: the
		// outcome must still be found (set logged it).
		if errors.Is(s.set(&rec, event.PaymentUnknown, "posagent restarted before Alipay's answer: checking whether the customer paid.", "Wait: do not charge again."), errFinal) {
			return
		}
		s.resolve(ctx, r, &rec)
	}()
	return true
}

func (s *Service) done(outTradeNo string) {
	s.mu.Lock()
	delete(s.active, outTradeNo)
	s.mu.Unlock()
	s.wg.Done()
}

// drive sends the pay and follows its answer to an end.
func (s *Service) drive(ctx context.Context, r *run, rec Record, code string) {
	defer s.done(rec.OutTradeNo)
	req := alipay.TradePayRequest{
		OutTradeNo: rec.OutTradeNo, AuthCode: code, Subject: rec.Subject, TotalAmount: alipay.TradeAmount(rec.AmountFen),
		ExtendParams: &alipay.TradePayExtendParams{DynamicTokenOutBizNo: rec.SenceNo},
		StoreID:      rec.StoreID, OperatorID: rec.OperatorID, TerminalID: rec.TerminalID,
	}
	pctx, stop := graceful(ctx, s.o.FinishGrace)
	resp, err := s.o.Gateway.TradePay(pctx, req)
	stop()
	if ctx.Err() != nil && err != nil && !definite(err) {
		return // stopping without an answer: the record says sending, and the next start resolves it
	}
	var ae *alipay.Error
	switch {
	case err == nil && resp.Paid():
		rec.TradeNo = resp.TradeNo
		s.paid(&rec)
	case err == nil:
		rec.TradeNo = resp.TradeNo
		s.waitBuyer(ctx, r, &rec)
	case definite(err) && errors.As(err, &ae) && ae.SubCode != alipay.SubTradeHasSuccess:
		s.set(&rec, event.PaymentFailed, redact.Line(firstNonEmpty(ae.SubMsg, ae.Msg, ae.SubCode)), alipay.TradeAdvice(ae.SubCode))
	default:
		// No verified answer (or "already paid", which needs its
		// trade_no): the trade may exist, paid or not.
		if errors.Is(s.set(&rec, event.PaymentUnknown, "No clear answer from Alipay: checking whether the customer paid.", "Wait: do not charge again."), errFinal) {
			return
		}
		s.resolve(ctx, r, &rec)
	}
}

// graceful returns a context that ends grace after parent does.
func graceful(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() { stop(); cancel() }
}

// definite reports whether err is the gateway's own verified verdict on the
// request (a business or parameter error), as opposed to no answer, an
// answer that did not verify, or "busy, try again".
func definite(err error) bool {
	var ae *alipay.Error
	return errors.As(err, &ae) && ae.Code != "" && ae.Err == nil && !alipay.Retryable(err)
}

func notExist(err error) bool {
	var ae *alipay.Error
	return errors.As(err, &ae) && ae.Err == nil && ae.SubCode == alipay.SubTradeNotExist
}

// clockSkew is how far the till's clock may be from the gateway's: the
// gateway refuses requests stamped further off (posagent doctor checks).
const clockSkew = 15 * time.Minute

// foreign says why the trade q, found under rec's out_trade_no, may not be
// this payment's ("" when nothing says so), and whether that is sure. The
// out_trade_no was then used by another sale: another till numbering
// alike, or a sale whose record was purged after payment.keep_days. Alipay
// takes one trade per out_trade_no, so this sale's code was refused, not
// charged (seed 002, ACQ.TRADE_HAS_SUCCESS: "确认该笔交易信息是否为当前买家的…
// 如果不是则更换商家订单号").
//
// Sure: another trade_no than the one Alipay gave this payment, another
// amount, or paid before this sale was asked for. Not sure: another buyer
// than the customer whose code this is (buyer, known while the code is):
// someone may pay for another (a family card), so that is for a person to
// check. The trade_no Alipay gave this payment settles it: ours.
func foreign(rec *Record, buyer string, q *alipay.TradeQueryResponse) (why string, sure bool) {
	if rec.TradeNo != "" && q.TradeNo != "" {
		if q.TradeNo != rec.TradeNo {
			return "Alipay's trade under this out_trade_no is another one than this payment's", true
		}
		return "", false
	}
	if fen, err := alipay.ParseYuan(q.TotalAmount); err == nil && fen != rec.AmountFen {
		return fmt.Sprintf("Alipay's trade under this out_trade_no is for %s yuan, this sale for %s", q.TotalAmount, alipay.FormatFen(rec.AmountFen)), true
	}
	if paid := q.PaidAt(); !paid.IsZero() && paid.Before(rec.Created.Add(-clockSkew)) {
		return "Alipay's trade under this out_trade_no was paid at " + q.SendPayDate + " (Beijing time), before this sale was asked for", true
	}
	if buyer != "" && q.BuyerUserID != "" && q.BuyerUserID != buyer {
		return "Alipay's trade under this out_trade_no names another buyer than the customer whose code this is", false
	}
	return "", false
}

// notOurs ends a payment whose out_trade_no Alipay holds for another sale:
// failed, since its code was refused, when that is sure; else unresolved,
// for a person to check. The other trade is left alone either way.
func (s *Service) notOurs(rec *Record, why string, sure bool) error {
	s.o.Log.Error("payment: out_trade_no may be another sale's", "out_trade_no", rec.OutTradeNo, "sence_no", rec.SenceNo, "why", why, "sure", sure)
	if !sure {
		rec.Unresolved = true
		return s.set(rec, event.PaymentUnknown, "Unresolved: "+why+"; the customer may or may not have paid this sale.",
			"Check this sale with Alipay before handing over the goods; do not charge again.")
	}
	return s.set(rec, event.PaymentFailed, "Not charged: out_trade_no "+rec.OutTradeNo+" is already used by another sale ("+why+").",
		"Take the payment again with a new out_trade_no.")
}

// resolve finds out what became of a pay without an answer: paid, waiting
// for the buyer, or neither (then it is cancelled).
func (s *Service) resolve(ctx context.Context, r *run, rec *Record) {
	for i := 0; ; i++ {
		q, err := s.o.Gateway.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: rec.OutTradeNo})
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			if why, sure := foreign(rec, r.buyer, q); why != "" {
				s.notOurs(rec, why, sure)
				return
			}
		}
		switch {
		case err == nil && q.Paid():
			rec.TradeNo = q.TradeNo
			s.paid(rec)
			return
		case err == nil && q.TradeStatus == alipay.TradeWaitBuyerPay:
			rec.TradeNo = q.TradeNo
			s.waitBuyer(ctx, r, rec)
			return
		case err == nil: // closed: the cancel says whether it was refunded
			s.cancel(ctx, rec, "Alipay closed the trade.")
			return
		}
		if i+1 >= s.o.QueryTries || !s.sleep(ctx, r, s.o.PollEvery) {
			break
		}
	}
	if ctx.Err() == nil {
		s.cancel(ctx, rec, "Alipay's answer never came: the payment is cancelled to be sure nobody is charged.")
	}
}

// sleep waits d; false when ctx ends or the cashier cancels first.
func (s *Service) sleep(ctx context.Context, r *run, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-r.cancel:
	}
	return false
}

// waitBuyer queries a trade waiting for its buyer every PollEvery until it
// is paid or closed, the wait ends, or the cashier gives up; then it
// cancels unless paid.
func (s *Service) waitBuyer(ctx context.Context, r *run, rec *Record) {
	if rec.WaitUntil.IsZero() {
		rec.WaitUntil = s.o.Now().Add(s.o.BuyerWait)
	}
	if rec.State != event.PaymentWaitingBuyer {
		if err := s.set(rec, event.PaymentWaitingBuyer, "The customer must confirm the payment in the Alipay app.",
			fmt.Sprintf("Ask the customer to confirm on their phone; it is cancelled after %s.", s.o.BuyerWait.Round(time.Second))); errors.Is(err, errFinal) {
			return
		}
	}
	reason := "The customer did not confirm in time."
	for {
		left := rec.WaitUntil.Sub(s.o.Now())
		if !s.sleep(ctx, r, max(min(s.o.PollEvery, left), 0)) {
			if ctx.Err() != nil {
				return // the record says waiting_buyer: the next start waits on
			}
			reason = "The cashier cancelled the payment."
			break
		}
		q, err := s.o.Gateway.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: rec.OutTradeNo})
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			if why, sure := foreign(rec, r.buyer, q); why != "" {
				s.notOurs(rec, why, sure)
				return
			}
		}
		if err == nil && q.Paid() {
			rec.TradeNo = q.TradeNo
			s.paid(rec)
			return
		}
		if err == nil && q.TradeStatus == alipay.TradeClosed {
			reason = "The customer declined the payment in the app."
			break
		}
		if !s.o.Now().Before(rec.WaitUntil) {
			break
		}
	}
	s.cancel(ctx, rec, reason)
}

// cancel records the payment as cancelling and queues its cancel, unless
// it has ended meanwhile. A cancelling state the disk did not take is
// still queued: the job's handler reads the record, which is not final.
func (s *Service) cancel(ctx context.Context, rec *Record, reason string) {
	if err := s.set(rec, event.PaymentCancelling, reason, "Wait: posagent is cancelling the payment with Alipay."); errors.Is(err, errFinal) {
		return
	}
	s.enqueueCancel(ctx, rec)
}

// cancelJob is the payload of a cancel job: the record has the rest.
type cancelJob struct {
	OutTradeNo string `json:"out_trade_no"`
}

// maxCancelJobs bounds the cancel jobs of one payment: the queue remembers
// a done job's key for a day, and each finished one takes a fresh key.
const maxCancelJobs = 100

// enqueueCancel queues the cancel of a payment that is not final. Its key
// is payment_cancel/<out_trade_no>, then /2, /3 …: the queue remembers the
// key of a finished job (a day long) and would answer with it, and nothing
// would run, while the payment is still cancelling (a cancel that finished
// with a write the disk lost, or before the state moved back).
func (s *Service) enqueueCancel(ctx context.Context, rec *Record) {
	payload, _ := json.Marshal(cancelJob{rec.OutTradeNo}) // a string: cannot fail
	key := JobKind + "/" + rec.OutTradeNo
	for n := 1; n <= maxCancelJobs; n++ {
		k := key
		if n > 1 {
			k = fmt.Sprintf("%s/%d", key, n)
		}
		// The job must land even while stopping.
		j, err := s.o.Queue.Enqueue(context.WithoutCancel(ctx), queue.Job{
			Kind: JobKind, Key: k, Payload: payload,
			Subject:  event.Subject{SenceNo: rec.SenceNo},
			Deadline: s.o.Now().Add(CancelLife),
		})
		if err != nil {
			s.notQueued(rec, err.Error())
			return
		}
		switch j.State {
		case queue.StateDone:
			continue // an earlier cancel finished, yet the payment is not final
		case queue.StateDead:
			// A cancel that died (its deadline passed, or Alipay refused
			// it) is sent again: the payment is not final.
			if err := s.o.Queue.RetryDead(j.ID); err != nil {
				s.notQueued(rec, "its dead cancel job "+j.ID+" could not be retried: "+err.Error())
				return
			}
			s.o.Log.Info("dead payment cancel queued again", "job", j.ID, "out_trade_no", rec.OutTradeNo, "sence_no", rec.SenceNo)
		}
		return
	}
	s.notQueued(rec, fmt.Sprintf("%d cancels finished without ending it", maxCancelJobs))
}

// notQueued marks a payment whose cancel could not be queued: the record
// says cancelling and the next start queues it again, but until then
// nobody works on it, and the payment says so.
func (s *Service) notQueued(rec *Record, why string) {
	s.o.Log.Error("payment cancel not queued", "out_trade_no", rec.OutTradeNo, "sence_no", rec.SenceNo, "why", why)
	s.cancelUnresolved(rec, "the cancel could not be queued ("+redact.Line(why)+")")
}

// cancelUnresolved leaves rec cancelling, marked unresolved with what
// went wrong, for the next start to send its cancel again.
func (s *Service) cancelUnresolved(rec *Record, what string) {
	rec.Unresolved = true
	s.set(rec, event.PaymentCancelling,
		"Unresolved: "+what+"; the customer may or may not have been charged.",
		"Check this sale with Alipay; posagent sends the cancel again at its next start.")
}

// CancelDied is told that the cancel job of the payment of senceNo died
// (event.Dead of JobKind): the payment stays cancelling, marked unresolved
// with the reason, until the next start sends the cancel again.
func (s *Service) CancelDied(senceNo, reason string) {
	var otn string
	if err := s.o.DB.View(func(tx *bbolt.Tx) error { otn = s.st.bySence(tx, senceNo); return nil }); err != nil || otn == "" {
		s.o.Log.Error("dead payment cancel: no payment for its sence_no", "sence_no", senceNo, "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok, err := s.st.get(otn)
	if err != nil || !ok || rec.Final() {
		return
	}
	s.cancelUnresolved(&rec, "the cancel could not be completed ("+redact.Line(reason)+")")
}

// RunCancel is the queue's handler for JobKind: it queries the trade and
// cancels it unless paid. It returns nil once the gateway answered the
// cancel with retry_flag N (or the trade turned out paid), an error to be
// retried otherwise, and a queue.Permanent error when the gateway refuses
// the cancel for good.
func (s *Service) RunCancel(ctx context.Context, payload []byte) error {
	var j cancelJob
	if err := json.Unmarshal(payload, &j); err != nil || j.OutTradeNo == "" {
		return queue.Permanent(fmt.Errorf("payment cancel: bad payload: %v", err))
	}
	rec, ok, err := s.st.get(j.OutTradeNo)
	switch {
	case err != nil:
		return queue.Permanent(err)
	case !ok:
		return queue.Permanent(fmt.Errorf("payment cancel: no payment %s", j.OutTradeNo))
	case rec.Final():
		return nil // done before a crash ate the acknowledgement
	}
	// Query before cancel: a buyer who confirmed at the last moment is
	// paid, not refunded.
	q, err := s.o.Gateway.TradeQuery(ctx, alipay.TradeQueryRequest{OutTradeNo: rec.OutTradeNo})
	if err == nil {
		if why, sure := foreign(&rec, "", q); why != "" {
			// Another sale's trade: cancelling it would close or refund
			// that sale.
			return recorded(s.notOurs(&rec, why, sure))
		}
	}
	switch {
	case err == nil && q.Paid():
		rec.TradeNo = q.TradeNo
		return recorded(s.paid(&rec))
	case err != nil && !notExist(err):
		return fmt.Errorf("payment %s: query before cancel: %w", rec.OutTradeNo, err)
	}
	c, err := s.o.Gateway.TradeCancel(ctx, alipay.TradeCancelRequest{OutTradeNo: rec.OutTradeNo})
	var ae *alipay.Error
	switch {
	case err != nil && definite(err) && errors.As(err, &ae):
		if errors.Is(s.set(&rec, event.PaymentCancelling, "Alipay refused the cancel: "+redact.Line(firstNonEmpty(ae.SubMsg, ae.Msg, ae.SubCode)), alipay.TradeAdvice(ae.SubCode)), errFinal) {
			return nil // it ended otherwise meanwhile: nothing left to cancel
		}
		return queue.Permanent(fmt.Errorf("payment %s: cancel refused: %w", rec.OutTradeNo, err))
	case err != nil:
		return fmt.Errorf("payment %s: cancel: %w", rec.OutTradeNo, err)
	case c.Retry():
		return fmt.Errorf("payment %s: cancel: the gateway asks to send it again (retry_flag Y)", rec.OutTradeNo)
	case c.Action == alipay.CancelActionRefund:
		if c.TradeNo != "" {
			rec.TradeNo = c.TradeNo
		}
		return recorded(s.set(&rec, event.PaymentRefunded, "Cancelled after the customer had paid: the money went back to the customer.",
			"Take the payment again with a fresh code, or another way."))
	default:
		return recorded(s.set(&rec, event.PaymentCancelled, "Cancelled: the customer was not charged.",
			"Take the payment again with a fresh code, or another way."))
	}
}

// recorded is RunCancel's answer once the gateway's is known: nil when the
// outcome is on disk (or the payment ended otherwise meanwhile), else set's
// error, for the job to be sent again: acknowledged with the record still
// cancelling, nothing would end the payment. A cancel sent again is
// answered alike (Alipay's cancel is idempotent), and its query comes first.
func recorded(err error) error {
	if err == nil || errors.Is(err, errFinal) {
		return nil
	}
	return err
}

func (s *Service) paid(rec *Record) error {
	return s.set(rec, event.PaymentPaid, "Paid.", "Hand over the goods and the receipt.")
}

// errFinal is wrapped by set's error for a payment whose stored state is
// final: a final state is never left, whatever a late driver or job says.
var errFinal = errors.New("payment is final already")

// set moves rec to state and commits it in one transaction that re-reads
// the stored record, then publishes it. A stored final state is not left:
// set then returns an error wrapping errFinal, publishes nothing, and rec
// becomes the stored record. A failed write is returned too, and still
// published: the event tells what the gateway said, and the next start
// resolves the payment again from what is on disk.
func (s *Service) set(rec *Record, state, message, action string) error {
	next := *rec
	next.State, next.Message, next.Action, next.Updated = state, message, action, s.o.Now()
	if next.Final() {
		next.Unresolved = false
	}
	stored, err := s.st.update(&next)
	if errors.Is(err, errFinal) {
		s.o.Log.Info("payment final already: not moved", "out_trade_no", rec.OutTradeNo, "state", stored.State, "not", state)
		*rec = stored
		return err
	}
	*rec = next
	if err != nil {
		s.o.Log.Error("payment state not recorded", "out_trade_no", rec.OutTradeNo, "state", state, "err", err)
	}
	s.publish(rec)
	return err
}

func (s *Service) publish(rec *Record) {
	s.o.Log.Info("payment", "out_trade_no", rec.OutTradeNo, "sence_no", rec.SenceNo, "state", rec.State,
		"amount", alipay.FormatFen(rec.AmountFen), "recovered", rec.Recovered)
	// The event's time is when it is told: a payment a restart resumes is
	// told again, and its record's time is older than the run.
	ev := rec.event()
	ev.Time = s.o.Now()
	s.o.Events.Publish(ev)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
