// Package decode turns a scanned payment code into a customer: it gives the
// code its sence_no (see Ledger), calls alipay.user.twostage.common.use, tells
// the cashier what to do when that fails, and hands retryable failures to the
// durable queue until the code expires.
package decode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/event"
	"posagent/internal/redact"
)

// Gateway is the one gateway method the decode flow calls. It must call the
// request's Ready, when set, before the request leaves, and not send it
// unless Ready returns nil: the flow's promise that a sence_no is on disk
// before it leaves rests on that.
type Gateway interface {
	TwostageCommonUse(ctx context.Context, req alipay.TwostageRequest) (*alipay.TwostageResponse, error)
}

// Publisher receives the flow's events; *event.Bus is one.
type Publisher interface {
	Publish(event.Event)
}

// Deferrer keeps work for later, durably: the queue in the product. It must
// hold the work on return, and hold one job per key. subj names the
// customer, for the queue's events.
//
// live reports whether the job now held under key will still run (it was
// stored, or one under key is pending or running). false means key names
// work that is over (done, or dead) and nothing was stored: the queue still
// remembers finished keys for a while, and a retry keyed on one would never run.
type Deferrer interface {
	Defer(ctx context.Context, kind, key string, subj event.Subject, payload []byte, deadline time.Time) (live bool, err error)
}

// maxDecodeKeys bounds the keys one sence_no's decode retries try: each is
// one rescan that failed retryably after an earlier retry had ended, within
// the code's minute.
const maxDecodeKeys = 64

// CodeKeeper holds each decoded customer's payment code in memory for the
// code's life, so that stage two (alipay.trade.pay) can charge it: the code
// is never written anywhere. It hears of failed decodes too, so that a
// payment asked for one is refused with the reason.
type CodeKeeper interface {
	Decoded(senceNo, code, userID string, expires time.Time)
	Failed(senceNo string)
}

// JobKind names decode retries in the queue.
const JobKind = "decode"

// DefaultCodeTTL is how long a payment code stays valid after its scan.
const DefaultCodeTTL = time.Minute

// retryGrace is how long after a code's deadline the queue keeps its decode
// job, so that the queue runs it once more and it ends quietly as done
// rather than in the dead list (which would keep its payment code).
const retryGrace = time.Minute

// lastTry is how long before its code expires a queued decode is tried a
// last time, whatever backoff the queue drew: time for the request and its
// answer.
const lastTry = 2 * time.Second

// retryBy is a queued decode's failure, to be retried by the time the
// queue reads with errors.As (queue.RetryBy): lastTry before its code
// expires.
type retryBy struct {
	err error
	by  time.Time
}

func (r *retryBy) Error() string      { return r.err.Error() }
func (r *retryBy) Unwrap() error      { return r.err }
func (r *retryBy) RetryBy() time.Time { return r.by }

// ErrExpired: the code's life ended before a decode succeeded.
var ErrExpired = errors.New("payment code expired")

// ErrQueued: the decode failed for now and waits in the queue for a retry.
var ErrQueued = errors.New("decode queued for retry")

// Identity is a decoded customer. UserID is in clear: it goes to the coupon
// issuer, never to a log or an event.
type Identity struct {
	SenceNo       string
	UserID        string
	SchoolStdCode string // empty for a customer without campus identity
	CampusNo      string
	At            time.Time
}

// Scan is a payment code read by a scanner.
type Scan struct {
	Code   string
	Source string
	Time   time.Time
	// Assigned, when set, is told the code's sence_no as soon as it is
	// assigned ("" when the ledger could not record it), before the
	// decode request: a code entered through the local API answers its
	// caller with it.
	Assigned func(senceNo string)
}

// Failure is a decode that ended without a customer and will not be retried.
type Failure struct {
	SenceNo       string
	Code, SubCode string // the gateway's, when it answered
	Action        Action
	Err           error
}

func (f *Failure) Error() string {
	return fmt.Sprintf("decode %s: %v", f.SenceNo, f.Err)
}

func (f *Failure) Unwrap() error { return f.Err }

// Config is what a Flow needs.
type Config struct {
	Gateway Gateway
	Ledger  *Ledger
	Events  Publisher
	// Later holds retries. Without it a retryable failure fails at once.
	Later Deferrer
	// Retryable tells failures worth retrying (alipay.Retryable).
	Retryable func(error) bool
	PayPID    string
	CodeTTL   time.Duration // DefaultCodeTTL when zero
	// FirstWait, when set, says how long a scan's own request (attempt 1)
	// may take before it goes to the queue as if the gateway were
	// unreachable, with the same sence_no; asked at each scan. Without
	// it only ctx and the client's timeout bound it.
	FirstWait func() time.Duration
	// Decoded is told of every customer before the decoded event, which
	// waits for it: the coupon issuer makes its plan durable here.
	Decoded func(ctx context.Context, id Identity)
	// Codes, when set, is handed every decoded code before the decoded
	// event goes out (a POS that pays at once finds it), and told of
	// every decode that failed.
	Codes CodeKeeper
	Now   func() time.Time
}

// Flow decodes scans.
type Flow struct {
	c Config

	mu sync.Mutex
	// open holds the decodes waiting in the queue, each with a timer that
	// ends it as expired at the code's deadline: the queue's backoff, or
	// its probing while the gateway is down, must not keep the cashier
	// waiting past the code's life.
	open map[string]*time.Timer
}

// New checks c and returns a flow.
func New(c Config) (*Flow, error) {
	switch {
	case c.Gateway == nil:
		return nil, errors.New("decode: no gateway")
	case c.Ledger == nil:
		return nil, errors.New("decode: no sence ledger")
	case c.Events == nil:
		return nil, errors.New("decode: no event publisher")
	case c.Retryable == nil:
		return nil, errors.New("decode: no Retryable")
	case c.PayPID == "":
		return nil, errors.New("decode: empty pay_pid")
	}
	if c.CodeTTL <= 0 {
		c.CodeTTL = DefaultCodeTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Flow{c: c, open: map[string]*time.Timer{}}, nil
}

// retry is a decode that may be retried.
type retry struct {
	Code     string
	SenceNo  string
	Deadline time.Time
}

// queued is the queued form of a retry. It holds the payment code sealed
// with the local key (Ledger.Seal), as a retry needs it and no file may hold
// it in clear; Code is read from jobs queued by versions before that.
type queued struct {
	Code     string    `json:"code,omitempty"`
	Sealed   []byte    `json:"code_sealed,omitempty"`
	SenceNo  string    `json:"sence_no"`
	Deadline time.Time `json:"deadline"`
}

// payload returns r as a queue job's payload.
func (f *Flow) payload(r retry) []byte {
	b, _ := json.Marshal(queued{Sealed: f.c.Ledger.Seal(r.Code, r.SenceNo), SenceNo: r.SenceNo, Deadline: r.Deadline}) // bytes, strings and a time: cannot fail
	return b
}

// unqueue reads a queue job's payload; the code is opened only if withCode.
func (f *Flow) unqueue(payload []byte, withCode bool) (retry, error) {
	var q queued
	if err := json.Unmarshal(payload, &q); err != nil {
		return retry{}, err
	}
	if q.SenceNo == "" {
		return retry{}, errors.New("no sence_no")
	}
	r := retry{Code: q.Code, SenceNo: q.SenceNo, Deadline: q.Deadline}
	if withCode && len(q.Sealed) > 0 {
		var err error
		if r.Code, err = f.c.Ledger.Unseal(q.Sealed, q.SenceNo); err != nil {
			return retry{}, err
		}
	}
	if withCode && r.Code == "" {
		return retry{}, errors.New("no code")
	}
	return r, nil
}

// Scan decodes a scanned code. It publishes a scan event, then decoding, then
// decoded or decode_failed; a retryable failure goes to the queue instead
// (ErrQueued) and ends later in decoded or decode_failed.
func (f *Flow) Scan(ctx context.Context, s Scan) (Identity, error) {
	if s.Time.IsZero() {
		s.Time = f.c.Now()
	}
	// The request is built and signed while a new sence_no is committed,
	// and leaves only once it is on disk. The scan event carries the
	// sence_no, so it follows the reservation (not its commit).
	e, _, durable, err := f.c.Ledger.Reserve(s.Code, s.Time)
	f.c.Events.Publish(event.Scan{Stamp: f.stamp(), SenceNo: e.SenceNo, CodeMasked: redact.Code(s.Code), Source: s.Source})
	if s.Assigned != nil {
		s.Assigned(e.SenceNo)
	}
	if err != nil {
		return Identity{}, f.fail(unrecorded(e.SenceNo, err))
	}
	r := retry{Code: s.Code, SenceNo: e.SenceNo, Deadline: e.FirstSeen.Add(f.c.CodeTTL)}
	var wait time.Duration
	if f.c.FirstWait != nil {
		wait = f.c.FirstWait()
	}
	id, err := f.attempt(ctx, r, 1, durable, wait)
	if !errors.Is(err, ErrQueued) {
		return id, err
	}
	if f.c.Later == nil || !f.c.Now().Before(r.Deadline) {
		return Identity{}, f.fail(failure(r.SenceNo, fmt.Errorf("%w: %w", ErrExpired, err), Expired))
	}
	// Watched before it is queued: a worker may run it at once.
	f.watch(r)
	// The scan's context may be ending (shutdown): the job must still land.
	if derr := f.queueRetry(context.WithoutCancel(ctx), r); derr != nil {
		f.settle(r.SenceNo)
		return Identity{}, f.fail(failure(r.SenceNo, fmt.Errorf("%w; not queued: %w", err, derr), NotQueued))
	}
	return Identity{}, err
}

// queueRetry queues the retry of r's decode. One live job per sence_no: a rescan
// while the first scan's decode waits in the queue (an outage) is the same
// work, and the queue returns the job it has. A job under the key that is
// over (it ran, or died) does not count: the retry goes under the next key
// (sence_no/2, sence_no/3, …), so that ErrQueued always means a retry will
// run. The queue gives up retryGrace after the code's deadline, so that a
// retry running late still ends the decode quietly.
func (f *Flow) queueRetry(ctx context.Context, r retry) error {
	payload := f.payload(r)
	for n := 1; n <= maxDecodeKeys; n++ {
		key := r.SenceNo
		if n > 1 {
			key = fmt.Sprintf("%s/%d", r.SenceNo, n)
		}
		live, err := f.c.Later.Defer(ctx, JobKind, key, event.Subject{SenceNo: r.SenceNo}, payload, r.Deadline.Add(retryGrace))
		if err != nil {
			return err
		}
		if live {
			return nil
		}
	}
	return fmt.Errorf("sence_no %s: %d queued decodes already ended", r.SenceNo, maxDecodeKeys)
}

// Watch arms the expiry of a queued decode read back from the queue after a
// restart, so that it too ends visibly at its code's deadline (at once if
// that passed while posagent was down). One whose queue job is past its own
// deadline is left alone: the queue discards it, and news of a scan from
// long ago would only confuse the cashier.
func (f *Flow) Watch(payload []byte) error {
	r, err := f.unqueue(payload, false)
	if err != nil {
		return fmt.Errorf("queued decode: bad payload: %w", err)
	}
	if f.c.Now().Before(r.Deadline.Add(retryGrace)) {
		f.watch(r)
	}
	return nil
}

func (f *Flow) watch(r retry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.open[r.SenceNo]; ok {
		return
	}
	f.open[r.SenceNo] = time.AfterFunc(r.Deadline.Sub(f.c.Now()), func() {
		if f.settle(r.SenceNo) {
			f.fail(failure(r.SenceNo, ErrExpired, Expired))
		}
	})
}

// settle ends the watch of a queued decode and reports whether it was still
// open: only then may its end be published, so that it is published once.
func (f *Flow) settle(senceNo string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.open[senceNo]
	if ok {
		t.Stop()
		delete(f.open, senceNo)
	}
	return ok
}

// Retry runs one queued decode; attempt counts from 1 for the scan's own
// request. It returns nil when the decode is over, whether decoded or
// failed (the failure is on screen; a payment code is no use to a dead-job
// list), a *Failure when the job itself is unreadable, and any other error
// to be tried again.
//
// Only decodes this Flow watches (queued by Scan, or passed to Watch after a
// restart) publish their end: one that expired already has. An ended
// decode returns nil without a request, so it tells the gateway's health
// nothing: only calls report to it.
func (f *Flow) Retry(ctx context.Context, payload []byte, attempt int) error {
	r, err := f.unqueue(payload, true)
	if err != nil {
		return f.fail(&Failure{Action: Action{"A queued decode is unreadable.", doRefresh}, Err: fmt.Errorf("queued decode: bad payload: %w", err)})
	}
	f.mu.Lock()
	_, open := f.open[r.SenceNo]
	f.mu.Unlock()
	if !open || !f.c.Now().Before(r.Deadline) {
		if f.settle(r.SenceNo) {
			f.fail(failure(r.SenceNo, ErrExpired, Expired))
		}
		return nil
	}
	_, err = f.attempt(ctx, r, attempt, nil, 0)
	if errors.Is(err, ErrQueued) {
		return &retryBy{err: err, by: r.Deadline.Add(-lastTry)}
	}
	return nil
}

// attempt sends one decode request, once ready (if not nil) returns nil,
// and waits for its answer at most wait (if not zero). It settles r's watch
// on any final outcome, and returns ErrQueued, wrapping the cause, when it
// may be retried.
func (f *Flow) attempt(ctx context.Context, r retry, n int, ready func() error, wait time.Duration) (Identity, error) {
	f.c.Events.Publish(event.Decoding{Stamp: f.stamp(), SenceNo: r.SenceNo, CodeMasked: redact.Code(r.Code), Attempt: n})
	rctx := ctx
	if wait > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	resp, err := f.c.Gateway.TwostageCommonUse(rctx, alipay.TwostageRequest{DynamicID: r.Code, SenceNo: r.SenceNo, PayPID: f.c.PayPID, Ready: ready})
	// A sence_no that did not reach the disk is the news, whatever the
	// gateway said: the request was not sent (Gateway honours Ready).
	if ready != nil {
		if err := ready(); err != nil {
			return Identity{}, f.fail(unrecorded(r.SenceNo, err))
		}
	}
	// A cancelled context is a shutdown, not a verdict, and a wait that
	// ran out no answer: the work stays queued.
	if err != nil && (rctx.Err() != nil || f.c.Retryable(err)) {
		return Identity{}, fmt.Errorf("%w: %w", ErrQueued, err)
	}
	// A final answer ends any queued decode of the same code too (a rescan
	// while the first scan waits in the queue).
	if open := f.settle(r.SenceNo); n > 1 && !open {
		// Expired meanwhile, and said so: a late answer changes nothing.
		return Identity{}, nil
	}
	if err != nil {
		return Identity{}, f.fail(failure(r.SenceNo, err, ActionFor(err)))
	}
	return f.decoded(ctx, r, resp), nil
}

// unrecorded is the failure of a scan whose sence_no could not be committed:
// without a durable sence_no no request may leave. The failure names the
// sence_no the scan event announced (if any), so that the two join.
func unrecorded(senceNo string, err error) *Failure {
	return &Failure{SenceNo: senceNo, Action: Action{"The terminal cannot record the scan.", doSupport}, Err: err}
}

func failure(senceNo string, err error, a Action) *Failure {
	fl := &Failure{SenceNo: senceNo, Action: a, Err: err}
	var ae *alipay.Error
	switch {
	case errors.Is(err, ErrExpired):
		// The gateway never gave its verdict; say why the scan ended as
		// the page would have. The last gateway error stays in Err.
		fl.SubCode = alipay.SubCodeExpired
	case errors.As(err, &ae):
		fl.Code, fl.SubCode = ae.Code, ae.SubCode
	}
	return fl
}

func (f *Flow) fail(fl *Failure) *Failure {
	if f.c.Codes != nil && fl.SenceNo != "" {
		f.c.Codes.Failed(fl.SenceNo)
	}
	f.c.Events.Publish(event.DecodeFailed{Stamp: f.stamp(), SenceNo: fl.SenceNo, Code: fl.Code, SubCode: fl.SubCode, Message: fl.Action.Message, Action: fl.Action.Action})
	return fl
}

func (f *Flow) decoded(ctx context.Context, r retry, resp *alipay.TwostageResponse) Identity {
	senceNo := r.SenceNo
	if f.c.Codes != nil {
		f.c.Codes.Decoded(senceNo, r.Code, resp.UserID, r.Deadline)
	}
	id := Identity{SenceNo: senceNo, UserID: resp.UserID, At: f.c.Now()}
	if s := resp.School(); s != nil {
		id.SchoolStdCode, id.CampusNo = s.SchoolStdCode, s.CampusNo
	}
	// The customer's coupons are durable work before the decode is
	// reported: a crash right after "decoded" loses none.
	if f.c.Decoded != nil {
		f.c.Decoded(ctx, id)
	}
	f.c.Events.Publish(event.Decoded{Stamp: event.Stamp{Time: id.At}, SenceNo: senceNo, UserID: id.UserID, UserIDMasked: redact.UserID(id.UserID), SchoolStdCode: id.SchoolStdCode, CampusNo: id.CampusNo,
		CodeExpiresAt: event.Millis(r.Deadline)})
	return id
}

func (f *Flow) stamp() event.Stamp { return event.Stamp{Time: f.c.Now()} }
