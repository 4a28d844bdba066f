// Package agent assembles posagent from a configuration: the bbolt file, the
// retry queue, the gateway client and the gateway's health, the sence_no
// ledger, the decode flow, the coupon issuer and the scanner, all reporting
// to one event bus. It runs them
// together and stops them so that no work is lost: what is in flight when the
// agent stops either finishes or stays in the queue for the next start.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/alipay"
	"posagent/internal/api"
	"posagent/internal/config"
	"posagent/internal/coupon"
	"posagent/internal/dbfile"
	"posagent/internal/decode"
	"posagent/internal/event"
	"posagent/internal/eventseq"
	"posagent/internal/gwhealth"
	"posagent/internal/keyfile"
	"posagent/internal/payment"
	"posagent/internal/queue"
	"posagent/internal/redact"
	"posagent/internal/scanner"
)

// DBFile is the name of the database in data_dir: the queue and the ledger.
const DBFile = "posagent.db"

// LogFile is the name of the log in data_dir when the TUI owns the screen.
const LogFile = "posagent.log"

// DefaultFinishGrace is how long a scan being decoded when the agent is told
// to stop may take to finish; after it the request is cancelled and the
// decode stays in the queue.
const DefaultFinishGrace = 5 * time.Second

// FirstDecodeWait bounds a scan's own decode request; after it the decode
// goes to the queue with the same sence_no and the cashier sees it
// retrying. A payment code lives about a minute and a healthy gateway
// answers a decode in well under a second, while on a network that drops
// packets the client's own timeout (15 s) would hold the till that long at
// every scan.
const FirstDecodeWait = 5 * time.Second

// FirstDecodeWaitDown is FirstDecodeWait while the gateway is known to be
// down: a scan then most likely fails, and the queue's probes find
// the gateway back without holding the customer.
const FirstDecodeWaitDown = 2 * time.Second

// Options build an Agent. Only Config is required.
type Options struct {
	Config *config.Config
	// ConfigPath names the file Config came from in the log ("" for the demo).
	ConfigPath string
	Bus        *event.Bus   // nil: a new one
	Log        *slog.Logger // nil: slog.Default()

	// Gateway overrides the client built from Config (tests).
	Gateway *alipay.Client
	// Scanner overrides the one Config describes (demo, tests).
	Scanner        scanner.Scanner
	ScannerOptions scanner.Options
	// Queue tunes the queue; Events, Gateway, Discard and Now are set by the agent.
	Queue queue.Options
	// ProbeEvery is how often the gateway is probed while it is down and
	// quiet (gwhealth.DefaultProbeEvery when zero).
	ProbeEvery time.Duration
	// ProbeAtStart probes the gateway once when Run starts, so that the
	// screen's "? unknown" becomes up or down within seconds instead of at
	// the first scan.
	ProbeAtStart bool
	// CodeTTL is how long a scanned code may be retried (decode.DefaultCodeTTL).
	CodeTTL time.Duration
	// FinishGrace is DefaultFinishGrace when zero.
	FinishGrace time.Duration
	// DecodeWait and DecodeWaitDown are FirstDecodeWait and
	// FirstDecodeWaitDown when zero.
	DecodeWait, DecodeWaitDown time.Duration
	// PaymentPoll is how often a payment waiting for its buyer is queried
	// (payment.DefaultPollEvery when zero).
	PaymentPoll time.Duration
	Now         func() time.Time
	// Payments serves the local API's /v1/payments routes in place of the
	// agent's own payment service (tests).
	Payments http.Handler
}

// Agent is the assembled product.
type Agent struct {
	Config  *config.Config
	Bus     *event.Bus
	DB      *bbolt.DB
	Queue   *queue.Queue
	Client  *alipay.Client
	Health  *gwhealth.Health // whether the gateway is up: ask it or listen for event.Gateway
	Ledger  *decode.Ledger
	Decode  *decode.Flow
	Coupons *coupon.Coupons
	Scanner scanner.Scanner
	// Codes holds decoded payment codes in memory for stage two;
	// Payments takes payments with them (Payments.Handler is the local
	// API's /v1/payments).
	Codes    *payment.Codes
	Payments *payment.Service
	// RunID tells this run's events from another's (event.Started).
	RunID string
	// API is the local API, nil when api.listen is "off".
	API *api.Server

	apiURL, apiTokenFile string
	manual               chan manual   // codes entered through the API
	stopped              chan struct{} // closed when Run no longer takes them

	log          *slog.Logger
	configPath   string
	now          func() time.Time
	grace        time.Duration
	probeAtStart func(context.Context) error // Options.ProbeAtStart; nil: none
	seq          *eventseq.Keeper
	seqSub       *event.Subscription // what seq follows
	seqDone      chan struct{}       // closed when seq stops following the bus
}

// New builds the agent. The database is open on return: Close it.
func New(o Options) (a *Agent, err error) {
	c := o.Config
	if c == nil {
		return nil, errors.New("agent: no configuration")
	}
	a = &Agent{Config: c, Bus: o.Bus, RunID: newRunID(), log: o.Log, configPath: o.ConfigPath, now: o.Now, grace: o.FinishGrace,
		manual: make(chan manual), stopped: make(chan struct{})}
	if a.grace <= 0 {
		a.grace = DefaultFinishGrace
	}
	if a.Bus == nil {
		a.Bus = event.NewBus()
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	rules, err := CouponRules(c)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a.Client = o.Gateway
	if a.Client == nil {
		if a.Client, err = alipay.NewClientFromFiles(gatewayOptions(c)); err != nil {
			return nil, err
		}
	}
	a.Scanner = o.Scanner
	if a.Scanner == nil {
		if a.Scanner, err = scanner.Open(scannerSpec(c.Scanner), o.ScannerOptions); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	for _, w := range exposed(map[string]string{"app_private_key": c.AppPrivateKey, "data_dir": c.DataDir}) {
		a.log.Warn(w)
	}
	if a.DB, err = dbfile.Open(filepath.Join(c.DataDir, DBFile), dbfile.Options{
		Warn: func(err error) { a.log.Warn("database", "err", err) },
	}); err != nil {
		return nil, err
	}
	db := a.DB // a is nil once New returns an error
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	if err := a.numberEvents(); err != nil {
		return nil, err
	}
	seqSub, seqDone := a.seqSub, a.seqDone
	defer func() {
		if err != nil {
			seqSub.Close()
			<-seqDone
		}
	}()
	gw := gateway{c: a.Client}
	a.Health = gwhealth.New(gwhealth.Options{Events: a.Bus, Now: a.now, ProbeEvery: o.ProbeEvery, Probe: gw.probe(c.TerminalID, c.PayPID)})
	gw.h = a.Health
	if o.ProbeAtStart {
		a.probeAtStart = gw.probe(c.TerminalID, c.PayPID)
	}
	qo := o.Queue
	if c.Queue.MaxInFlight > 0 {
		qo.MaxInFlight = c.Queue.MaxInFlight
		qo.Workers = min(qo.Workers, qo.MaxInFlight)
		if qo.Workers == 0 {
			qo.Workers = min(queue.DefaultWorkers, qo.MaxInFlight)
		}
	}
	if c.Queue.MaxPerSecond > 0 {
		qo.MaxPerSecond = c.Queue.MaxPerSecond
	}
	qo.Events = a.Bus
	qo.Gateway = a.Health
	// A decode job holds a full payment code: one that dies is deleted
	// (its end is on screen already), and New deletes any a version
	// without this left in the dead list.
	qo.Discard = func(kind string) bool { return kind == decode.JobKind }
	qo.Keep = payment.KeepCancels
	// The payment must not stay cancelling as if someone worked on it:
	// told by the queue itself, not by the bus, which may drop an event
	// for a slow subscriber.
	qo.Died = func(d event.Dead) {
		if d.Kind == payment.JobKind && a.Payments != nil {
			a.Payments.CancelDied(d.SenceNo, d.Reason)
		}
	}
	qo.Dropped = func(j queue.Job) {
		a.log.Info("staff: job dropped", "job", j.ID, "kind", j.Kind, "state", j.State, "sence_no", j.Subject.SenceNo)
	}
	qo.Now = a.now
	qo.Quarantined = func(err error) { a.log.Error("queue: damaged record", "err", err) }
	if a.Queue, err = queue.New(a.DB, qo); err != nil {
		return nil, err
	}
	key, err := keyfile.Load(c.DataDir)
	if err != nil {
		return nil, err
	}
	if a.Ledger, err = decode.NewLedger(a.DB, c.TerminalID, key); err != nil {
		return nil, err
	}
	if n := a.Ledger.Forgot(); n > 0 {
		a.log.Info("sence ledger: codes hashed with the key kept in the database forgotten; the key is now in its own file", "codes", n, "file", keyfile.Name)
	}
	for _, err := range a.Ledger.Damaged() {
		a.log.Error("sence ledger: damaged entry", "err", err)
	}
	later := deferrer{a.Queue}
	a.Coupons, err = coupon.New(coupon.Config{
		Issuer: gw, Rules: rules, Events: a.Bus, Later: later, Retryable: alipay.Retryable,
		PayPID: c.PayPID, Log: a.log, Now: a.now, Merchant: merchant(c.MerchantCouponURL),
	})
	if err != nil {
		return nil, err
	}
	a.Codes = payment.NewCodes(a.now)
	a.Payments, err = payment.New(payment.Options{
		DB: a.DB, Gateway: gw, Codes: a.Codes, Queue: a.Queue, Events: a.Bus,
		BuyerWait: c.BuyerWait(), PollEvery: o.PaymentPoll, FinishGrace: a.grace, Keep: c.PaymentKeep(), TerminalID: c.TerminalID, Log: a.log, Now: a.now,
	})
	if err != nil {
		return nil, err
	}
	a.Decode, err = decode.New(decode.Config{
		Gateway: gw, Ledger: a.Ledger, Events: a.Bus, Later: later, Retryable: alipay.Retryable,
		PayPID: c.PayPID, CodeTTL: o.CodeTTL, Now: a.now, Decoded: a.decoded, Codes: a.Codes,
		FirstWait: firstWait(a.Health, o.DecodeWait, o.DecodeWaitDown),
	})
	if err != nil {
		return nil, err
	}
	// Decodes queued before a restart end visibly at their code's deadline
	// too.
	pending, err := a.Queue.Pending()
	if err != nil {
		return nil, err
	}
	for _, j := range pending {
		if j.Kind == decode.JobKind {
			if err := a.Decode.Watch(j.Payload); err != nil {
				a.log.Error("queued decode unreadable", "job", j.ID, "err", err)
			}
		}
	}
	a.Queue.Handle(decode.JobKind, handler(func(ctx context.Context, j queue.Job) error {
		// Attempts counts the queue's tries before this one; the scan's
		// own request was attempt 1.
		return a.Decode.Retry(ctx, j.Payload, j.Attempts+2)
	}))
	a.Queue.Handle(coupon.JobKind, handler(func(ctx context.Context, j queue.Job) error {
		return a.Coupons.Issue(ctx, j.Payload)
	}))
	a.Queue.Handle(coupon.MerchantJobKind, handler(func(ctx context.Context, j queue.Job) error {
		return a.Coupons.AskMerchant(ctx, j.Payload)
	}))
	a.Queue.Handle(payment.JobKind, handler(func(ctx context.Context, j queue.Job) error {
		return a.Payments.RunCancel(ctx, j.Payload)
	}))
	if err := a.newAPI(o); err != nil {
		return nil, err
	}
	return a, nil
}

// firstWait is how long a scan's own decode may take: up, or down (the
// gateway's state at the scan).
func firstWait(q interface{ Down() bool }, up, down time.Duration) func() time.Duration {
	if up <= 0 {
		up = FirstDecodeWait
	}
	if down <= 0 {
		down = FirstDecodeWaitDown
	}
	return func() time.Duration {
		if q.Down() {
			return down
		}
		return up
	}
}

func merchant(url string) *coupon.Merchant {
	if url == "" {
		return nil
	}
	return &coupon.Merchant{URL: url}
}

// decoded hands a customer to the coupon issuer.
func (a *Agent) decoded(ctx context.Context, id decode.Identity) {
	n, err := a.Coupons.Plan(ctx, id)
	if err != nil {
		a.log.Error("coupons not queued", "sence_no", id.SenceNo, "user_id", redact.UserID(id.UserID), "err", err)
		return
	}
	a.log.Info("decoded", "sence_no", id.SenceNo, "user_id", redact.UserID(id.UserID), "coupons", n)
}

// deferrer puts the flow's later work into the queue.
type deferrer struct{ q *queue.Queue }

// Defer reports the job under key live unless the queue returned one that
// is over (done, or dead).
func (d deferrer) Defer(ctx context.Context, kind, key string, subj event.Subject, payload []byte, deadline time.Time) (bool, error) {
	j, err := d.q.Enqueue(ctx, queue.Job{Kind: kind, Key: key, Subject: subj, Payload: payload, Deadline: deadline})
	if err != nil {
		return false, err
	}
	return j.State == queue.StatePending || j.State == queue.StateRunning, nil
}

// DeferAll stores a customer's coupon work in one commit.
func (d deferrer) DeferAll(ctx context.Context, ws []coupon.Work) error {
	js := make([]queue.Job, len(ws))
	for i, w := range ws {
		js[i] = queue.Job{Kind: w.Kind, Key: w.Key, Subject: w.Subject, Payload: w.Payload, Deadline: w.Deadline}
	}
	_, err := d.q.EnqueueAll(ctx, js)
	return err
}

// final tells the queue which failures are over for good.
func final(err error) error {
	var df *decode.Failure
	var cf *coupon.Failure
	if errors.As(err, &df) || errors.As(err, &cf) {
		return queue.Permanent(err)
	}
	return err
}

// Run runs the agent until ctx is done: the scanner, the decode of every scan
// it reads, the queue's workers and the ledger's purge. It returns once all
// of them stopped; a scan being decoded then gets FinishGrace to finish.
//
// A scanner that cannot run at all, or a queue whose database fails, stops
// the whole agent: a till that cannot read codes or keep its retries must
// say so rather than limp on.
//
// Its first event is started and its last stopping, with the reason: the
// error it returns, or the cause parent was cancelled with. From the moment
// it begins to stop, the API refuses requests that would change anything,
// and stopping waits for those in progress (drainAPI).
func (a *Agent) Run(parent context.Context) (err error) {
	a.logStart()
	stopLog := a.logEvents()
	stopAPI := a.serveAPI()
	a.Bus.Publish(a.started())
	ctx, stopAll := context.WithCancel(parent)
	apiDrained := a.drainAPI(ctx)
	defer func() {
		stopAll()
		apiDrained()
		a.Bus.Publish(event.Stopping{Stamp: event.Stamp{Time: a.now()}, Reason: stopReason(parent, err)})
		stopAPI()
		stopLog()
		a.logStop(err)
	}()
	scans := make(chan scanner.Event, 16)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	wg.Add(5)
	go func() {
		defer wg.Done()
		if a.probeAtStart != nil && a.Health.State() == gwhealth.Unknown {
			a.Health.Report(a.probeAtStart(ctx))
		}
		a.Health.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		defer close(scans)
		if err := a.Scanner.Run(ctx, scans); err != nil {
			errs <- fmt.Errorf("scanner: %w", err)
			stopAll()
		}
	}()
	go func() {
		defer wg.Done()
		if err := a.Queue.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errs <- fmt.Errorf("queue: %w", err)
			stopAll()
		}
	}()
	go func() {
		defer wg.Done()
		a.purge(ctx)
	}()
	go func() {
		defer wg.Done()
		// Payments a crash left open are resolved first thing.
		if err := a.Payments.Run(ctx); err != nil {
			errs <- fmt.Errorf("payments: %w", err)
			stopAll()
		}
	}()

	// Scans are decoded one after the other: a till has one customer at a
	// time, and the ledger must see a code's scans in order.
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(a.grace, cancel)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stop()
	a.loop(work, scans)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// loop takes the scanner's events and the codes entered through the API,
// one at a time, until the scanner stops.
func (a *Agent) loop(ctx context.Context, scans <-chan scanner.Event) {
	defer close(a.stopped)
	for {
		select {
		case e, ok := <-scans:
			if !ok {
				return
			}
			a.handle(ctx, e)
		case m := <-a.manual:
			a.enter(ctx, m)
		}
	}
}

func (a *Agent) handle(ctx context.Context, e scanner.Event) {
	now := a.now()
	switch e.Kind {
	case scanner.EventScan:
		_, err := a.Decode.Scan(ctx, decode.Scan{Code: e.Scan.Code, Source: e.Scan.Source, Time: e.Scan.Time})
		if err != nil {
			a.log.Info("scan not decoded", "code", redact.Code(e.Scan.Code), "err", err)
		}
	case scanner.EventRejected:
		a.Bus.Publish(event.ScanRejected{Stamp: event.Stamp{Time: now}, CodeMasked: redact.Code(e.Scan.Code), Source: e.Scan.Source, Reason: e.Reason, Cause: e.Cause})
	case scanner.EventConnected, scanner.EventDisconnected:
		state, detail := event.ScannerConnected, e.Reason
		if e.Kind == scanner.EventDisconnected {
			state = event.ScannerDisconnected
		}
		if e.Err != nil {
			detail = e.Err.Error()
		}
		a.Bus.Publish(event.Scanner{Stamp: event.Stamp{Time: now}, State: state, Device: e.Device, Detail: detail})
	}
}

// purgeEvery is how often the ledger forgets long-expired codes and the
// payments their old final records.
const purgeEvery = time.Hour

func (a *Agent) purge(ctx context.Context) {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		if n, err := a.Ledger.Purge(a.now().Add(-decode.DefaultKeep)); err != nil {
			a.log.Error("sence ledger purge", "err", err)
		} else if n > 0 {
			a.log.Info("sence ledger purged", "codes", n)
		}
		if n, err := a.Payments.Purge(); err != nil {
			a.log.Error("payment records purge", "err", err)
		} else if n > 0 {
			a.log.Info("payment records purged", "payments", n, "kept_days", a.Config.PaymentKeep()/(24*time.Hour))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close closes the API (if Run did not), the database and the bus. Call it
// after Run returned.
func (a *Agent) Close() error {
	if a.API != nil {
		ctx, cancel := context.WithTimeout(context.Background(), apiCloseWait)
		a.API.Close(ctx)
		cancel()
	}
	a.Bus.Close()
	<-a.seqDone
	if err := a.seq.Stopped(a.Bus.Last()); err != nil {
		a.log.Warn("last event seq not recorded: a stream client resuming from it will be told it may have missed events", "err", err)
	}
	return a.DB.Close()
}

// numberEvents continues seq from the run before (see eventseq), before
// anything is published.
func (a *Agent) numberEvents() error {
	k, err := eventseq.Open(a.DB)
	if err != nil {
		return err
	}
	if err := a.Bus.SetFirst(k.First()); err != nil {
		return fmt.Errorf("event seq: %w", err)
	}
	a.seq, a.seqSub, a.seqDone = k, a.Bus.Subscribe(), make(chan struct{})
	sub, done := a.seqSub, a.seqDone
	go func() {
		defer close(done)
		k.Follow(context.Background(), sub, func(err error) { a.log.Error("event seq reservation not extended", "err", err) })
	}()
	return nil
}
