package decode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"posagent/internal/alipay"
	"posagent/internal/event"
	"posagent/internal/event/eventtest"
)

// fakeGateway answers decodes from a script of errors; after the script it
// answers with resp. Like the real client it waits for a request's Ready and
// sends nothing if that fails. It records every request sent.
type fakeGateway struct {
	mu     sync.Mutex
	errs   []error
	resp   *alipay.TwostageResponse
	reqs   []alipay.TwostageRequest
	before func(ctx context.Context) error
}

func (g *fakeGateway) TwostageCommonUse(ctx context.Context, req alipay.TwostageRequest) (*alipay.TwostageResponse, error) {
	if req.Ready != nil {
		if err := req.Ready(); err != nil {
			return nil, &alipay.Error{Method: alipay.MethodTwostageCommonUse, Err: err}
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reqs = append(g.reqs, req)
	if g.before != nil {
		if err := g.before(ctx); err != nil {
			return nil, err
		}
	}
	if len(g.errs) > 0 {
		err := g.errs[0]
		g.errs = g.errs[1:]
		return nil, err
	}
	return g.resp, nil
}

type deferred struct {
	kind, key string
	subj      event.Subject
	payload   []byte
	deadline  time.Time
}

// fakeLater holds one job per key, as the queue does: a key it has returns
// that job, live unless marked over (done, or dead).
type fakeLater struct {
	jobs []deferred
	over map[string]bool
	err  error
}

func (l *fakeLater) Defer(ctx context.Context, kind, key string, subj event.Subject, payload []byte, deadline time.Time) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if l.err != nil {
		return false, l.err
	}
	for _, j := range l.jobs {
		if j.key == key {
			return !l.over[key], nil
		}
	}
	l.jobs = append(l.jobs, deferred{kind, key, subj, payload, deadline})
	return true, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type harness struct {
	flow    *Flow
	gw      *fakeGateway
	events  *eventtest.Recorder
	later   *fakeLater
	clock   *clock
	decoded []Identity
}

const (
	code   = "286861260475412123"
	payPID = "2088702093900999"
)

func newHarness(t *testing.T) *harness {
	t.Helper()
	l, db := newLedger(t, filepath.Join(t.TempDir(), "db"), "till3")
	t.Cleanup(func() { db.Close() })
	h := &harness{
		gw: &fakeGateway{resp: &alipay.TwostageResponse{UserID: "2088123412341234",
			UserIdentityInfo: &alipay.UserIdentityInfo{HSchoolInfo: &alipay.HSchoolInfo{SchoolStdCode: "4136013432", CampusNo: "2019021208"}}}},
		events: &eventtest.Recorder{},
		later:  &fakeLater{},
		clock:  &clock{t0},
	}
	f, err := New(Config{Gateway: h.gw, Ledger: l, Events: h.events, Later: h.later, Retryable: alipay.Retryable,
		PayPID: payPID, Now: h.clock.now,
		Decoded: func(_ context.Context, id Identity) { h.decoded = append(h.decoded, id) }})
	if err != nil {
		t.Fatal(err)
	}
	h.flow = f
	return h
}

func TestScanDecodes(t *testing.T) {
	h := newHarness(t)
	var assigned []string
	id, err := h.flow.Scan(context.Background(), Scan{Code: code, Source: "sim", Assigned: func(sn string) {
		assigned = append(assigned, sn)
		if len(h.gw.reqs) != 0 {
			t.Error("Assigned told after the request left")
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(assigned) != 1 || assigned[0] != id.SenceNo {
		t.Errorf("Assigned told %v, want [%s]", assigned, id.SenceNo)
	}
	if id.UserID != "2088123412341234" || id.SchoolStdCode != "4136013432" || id.CampusNo != "2019021208" || id.SenceNo == "" {
		t.Errorf("identity = %+v", id)
	}
	want := []event.Type{event.TypeScan, event.TypeDecoding, event.TypeDecoded}
	if got := h.events.Types(); !equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	d := h.events.Last().(event.Decoded)
	if d.UserID != "2088123412341234" || d.UserIDMasked != "2088********1234" || d.SenceNo != id.SenceNo {
		t.Errorf("decoded event %+v: want the masked user and sence_no %s", d, id.SenceNo)
	}
	if s := h.events.All()[0].(event.Scan); s.CodeMasked != "28************2123" || s.Source != "sim" || s.SenceNo != id.SenceNo {
		t.Errorf("scan event %+v", s)
	}
	req := h.gw.reqs[0]
	if req.DynamicID != code || req.SenceNo != id.SenceNo || req.PayPID != payPID {
		t.Errorf("request %+v", req)
	}
	if len(h.decoded) != 1 || h.decoded[0] != id {
		t.Errorf("Decoded hook got %+v, want %+v", h.decoded, id)
	}

	// A rescan decodes again with the same sence_no.
	h.gw.resp = &alipay.TwostageResponse{UserID: "2088123412341234"}
	again, err := h.flow.Scan(context.Background(), Scan{Code: code, Source: "sim"})
	if err != nil || again.SenceNo != id.SenceNo || h.gw.reqs[1].SenceNo != id.SenceNo {
		t.Fatalf("rescan = %+v, %v; want sence_no %s", again, err, id.SenceNo)
	}
	if again.SchoolStdCode != "" {
		t.Errorf("user without campus info got school %q", again.SchoolStdCode)
	}
}

func bizErr(code, sub string) error {
	return &alipay.Error{Method: alipay.MethodTwostageCommonUse, HTTPStatus: 200, Code: code, Msg: "Business Failed", SubCode: sub, SubMsg: "x"}
}

func TestScanFinalFailures(t *testing.T) {
	tests := []struct {
		err    error
		action string // a word the cashier's instruction must hold
	}{
		{bizErr("40004", alipay.SubInputIllegal), "support"},
		{bizErr("40004", alipay.SubDecodeFailed), "support"},
		{bizErr("40004", alipay.SubIndexNotExist), "refresh"},
		{bizErr("40004", alipay.SubIllegalCode), "Alipay payment code"},
		{bizErr("40004", alipay.SubCodeExpired), "refresh"},
		{bizErr("40004", alipay.SubUserUnAuth), "authorise"},
		{bizErr("40004", alipay.SubSenceNoUnMatch), "refresh"},
		{bizErr("40002", alipay.SubInvalidSignature), "app_private_key"},
		{bizErr("40006", "isv.insufficient-isv-permissions"), "permission"},
		{bizErr("20001", "aop.invalid-app-auth-token"), "app_auth_token"},
		{bizErr("40004", "SOMETHING_NEW"), "support"},
		{&alipay.Error{Method: alipay.MethodTwostageCommonUse, Err: &alipay.FieldError{Field: "dynamic_id", Msg: "40 characters, at most 32"}}, "Alipay payment code"},
		{&alipay.Error{Method: alipay.MethodTwostageCommonUse, Err: &alipay.FieldError{Field: "biz_content.pay_pid", Msg: "too long"}}, "configuration"},
	}
	for _, tt := range tests {
		var ae *alipay.Error
		errors.As(tt.err, &ae)
		t.Run(ae.Code+"/"+ae.SubCode+"/"+fmt.Sprint(ae.Err), func(t *testing.T) {
			h := newHarness(t)
			h.gw.errs = []error{tt.err}
			_, err := h.flow.Scan(context.Background(), Scan{Code: code})
			var fl *Failure
			if !errors.As(err, &fl) {
				t.Fatalf("Scan error %v, want a *Failure", err)
			}
			if len(h.later.jobs) != 0 {
				t.Errorf("final failure queued: %+v", h.later.jobs)
			}
			df, ok := h.events.Last().(event.DecodeFailed)
			if !ok {
				t.Fatalf("last event %T, want decode_failed", h.events.Last())
			}
			if df.Code != ae.Code || df.SubCode != ae.SubCode || df.SenceNo != h.gw.reqs[0].SenceNo {
				t.Errorf("event %+v: want code %s/%s", df, ae.Code, ae.SubCode)
			}
			if df.Message == "" || !strings.Contains(df.Action, tt.action) {
				t.Errorf("event message %q action %q: want an action about %q", df.Message, df.Action, tt.action)
			}
			if len(h.decoded) != 0 {
				t.Error("Decoded hook called for a failure")
			}
		})
	}
}

func TestActionForRetryable(t *testing.T) {
	for _, err := range []error{
		bizErr("40004", alipay.SubSystemError),
		bizErr("20000", alipay.SubUnknownError),
		&alipay.Error{Method: alipay.MethodTwostageCommonUse, HTTPStatus: 502},
		&alipay.Error{Method: alipay.MethodTwostageCommonUse, Err: fmt.Errorf("%w: connection refused", alipay.ErrUnreachable)},
		context.DeadlineExceeded,
	} {
		if a := ActionFor(err); !strings.Contains(a.Action, "Retrying") {
			t.Errorf("ActionFor(%v) = %+v: want the automatic retry said", err, a)
		}
	}
}

func TestRetryKeepsSenceNoUntilDeadline(t *testing.T) {
	h := newHarness(t)
	outage := &alipay.Error{Method: alipay.MethodTwostageCommonUse, Err: fmt.Errorf("%w: connection refused", alipay.ErrUnreachable)}
	h.gw.errs = []error{outage, bizErr("20000", alipay.SubUnknownError)}
	_, err := h.flow.Scan(context.Background(), Scan{Code: code})
	if !errors.Is(err, ErrQueued) || len(h.later.jobs) != 1 {
		t.Fatalf("Scan = %v with %d jobs; want it queued once", err, len(h.later.jobs))
	}
	job := h.later.jobs[0]
	senceNo := h.gw.reqs[0].SenceNo
	if job.kind != JobKind || job.key != senceNo || !job.deadline.After(t0.Add(DefaultCodeTTL)) ||
		job.subj != (event.Subject{SenceNo: senceNo}) {
		t.Errorf("job %+v: want kind %s key and subject %s, kept past the code's deadline", job, JobKind, senceNo)
	}
	if h.events.Last().Type() == event.TypeDecodeFailed {
		t.Error("a queued decode published a failure")
	}

	h.clock.t = t0.Add(10 * time.Second)
	if err := h.flow.Retry(context.Background(), job.payload, 2); !errors.Is(err, ErrQueued) {
		t.Fatalf("Retry during the outage = %v, want it retried again", err)
	}
	h.clock.t = t0.Add(20 * time.Second)
	if err := h.flow.Retry(context.Background(), job.payload, 3); err != nil {
		t.Fatalf("Retry after the outage = %v", err)
	}
	for i, r := range h.gw.reqs {
		if r.SenceNo != senceNo {
			t.Errorf("request %d sence_no %s, want %s", i, r.SenceNo, senceNo)
		}
	}
	if d, ok := h.events.Last().(event.Decoded); !ok || d.SenceNo != senceNo {
		t.Errorf("last event %+v, want decoded %s", h.events.Last(), senceNo)
	}
	if len(h.decoded) != 1 {
		t.Errorf("Decoded hook called %d times", len(h.decoded))
	}
}

func TestRetryAfterDeadlineEndsExpiredOnce(t *testing.T) {
	h := newHarness(t)
	h.gw.errs = []error{bizErr("20000", alipay.SubUnknownError)}
	if _, err := h.flow.Scan(context.Background(), Scan{Code: code}); !errors.Is(err, ErrQueued) {
		t.Fatal(err)
	}
	h.clock.t = t0.Add(DefaultCodeTTL + time.Second)
	for range 2 {
		if err := h.flow.Retry(context.Background(), h.later.jobs[0].payload, 2); err != nil {
			t.Fatalf("Retry after the deadline = %v, want nil (the job is over)", err)
		}
	}
	if len(h.gw.reqs) != 1 {
		t.Errorf("%d gateway calls, want none after the deadline", len(h.gw.reqs)-1)
	}
	failed := 0
	for _, e := range h.events.All() {
		if df, ok := e.(event.DecodeFailed); ok {
			failed++
			if df.SubCode != alipay.SubCodeExpired || !strings.Contains(df.Action, "refresh") || df.SenceNo == "" {
				t.Errorf("event %+v, want an expired decode_failed", df)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d decode_failed events, want 1", failed)
	}
}

// The queue may not run a decode again before the code expires (it backs off,
// or probes a down gateway with other jobs): the expiry shows at the deadline
// all the same, exactly then, and a late answer after it changes nothing.
func TestQueuedDecodeExpiresOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, db := newLedger(t, filepath.Join(t.TempDir(), "db"), "till3")
		defer db.Close()
		bus := event.NewBus()
		sub := bus.Subscribe()
		gw := &fakeGateway{errs: []error{bizErr("20000", alipay.SubUnknownError)}, resp: &alipay.TwostageResponse{UserID: "2088123412341234"}}
		later := &fakeLater{}
		f, err := New(Config{Gateway: gw, Ledger: l, Events: bus, Later: later, Retryable: alipay.Retryable, PayPID: payPID})
		if err != nil {
			t.Fatal(err)
		}
		scanned := time.Now()
		if _, err := f.Scan(context.Background(), Scan{Code: code}); !errors.Is(err, ErrQueued) {
			t.Fatal(err)
		}
		for {
			e, err := sub.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if df, ok := e.(event.DecodeFailed); ok {
				if df.SubCode != alipay.SubCodeExpired || time.Since(scanned) != DefaultCodeTTL {
					t.Fatalf("event %+v %v after the scan, want expired after %v", df, time.Since(scanned), DefaultCodeTTL)
				}
				break
			}
		}
		// The queue runs the job late; the gateway would answer now.
		if err := f.Retry(context.Background(), later.jobs[0].payload, 2); err != nil {
			t.Fatal(err)
		}
		if e, ok := sub.TryNext(); ok {
			t.Errorf("event after the expiry: %+v", e)
		}
	})
}

func TestRetryFinalFailureIsDone(t *testing.T) {
	h := newHarness(t)
	h.gw.errs = []error{bizErr("20000", alipay.SubUnknownError), bizErr("40004", alipay.SubUserUnAuth)}
	h.flow.Scan(context.Background(), Scan{Code: code})
	if err := h.flow.Retry(context.Background(), h.later.jobs[0].payload, 2); err != nil {
		t.Fatalf("Retry = %v, want nil: the job is over", err)
	}
	df, ok := h.events.Last().(event.DecodeFailed)
	if !ok || df.SubCode != alipay.SubUserUnAuth || !strings.Contains(df.Action, "authorise") {
		t.Errorf("last event %+v", h.events.Last())
	}
}

func TestScanPastDeadlineOrUnqueueable(t *testing.T) {
	h := newHarness(t)
	h.later.err = errors.New("queue full")
	h.gw.errs = []error{bizErr("20000", alipay.SubUnknownError)}
	_, err := h.flow.Scan(context.Background(), Scan{Code: code})
	var fl *Failure
	if !errors.As(err, &fl) || !strings.Contains(err.Error(), "queue full") || fl.SubCode != alipay.SubUnknownError {
		t.Fatalf("Scan = %v, want a failure naming the queue", err)
	}
	if df, ok := h.events.Last().(event.DecodeFailed); !ok || df.Action != NotQueued.Action {
		t.Errorf("last event %+v, want decode_failed saying to scan again", h.events.Last())
	}
}

func TestShutdownQueuesInFlightDecode(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	h.gw.before = func(ctx context.Context) error { cancel(); return ctx.Err() }
	// Even with a Retryable that calls a cancelled call final, a shutdown is
	// no verdict: the flow keeps the work.
	h.flow.c.Retryable = func(err error) bool { return !errors.Is(err, context.Canceled) && alipay.Retryable(err) }
	_, err := h.flow.Scan(ctx, Scan{Code: code})
	if !errors.Is(err, ErrQueued) || len(h.later.jobs) != 1 {
		t.Fatalf("Scan on shutdown = %v, %d jobs; want the decode queued", err, len(h.later.jobs))
	}
	r, err := h.flow.unqueue(h.later.jobs[0].payload, true)
	if err != nil || r.SenceNo != h.gw.reqs[0].SenceNo || r.Code != code {
		t.Errorf("payload %s: %+v, %v", h.later.jobs[0].payload, r, err)
	}
	if bytes.Contains(h.later.jobs[0].payload, []byte(code)) {
		t.Errorf("payload %s holds the code in clear", h.later.jobs[0].payload)
	}
}

func TestRetryBadPayload(t *testing.T) {
	h := newHarness(t)
	var fl *Failure
	if err := h.flow.Retry(context.Background(), []byte("{"), 2); !errors.As(err, &fl) {
		t.Fatalf("Retry(bad payload) = %v, want a final failure", err)
	}
}

func equal(a, b []event.Type) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A rescan decoded while the first scan of the code waits in the queue ends
// that wait: no expiry follows the decode, and the queued job ends quietly.
func TestRescanEndsQueuedDecode(t *testing.T) {
	l, db := newLedger(t, filepath.Join(t.TempDir(), "db"), "till3")
	defer db.Close()
	bus := event.NewBus()
	sub := bus.Subscribe()
	gw := &fakeGateway{errs: []error{bizErr("20000", alipay.SubUnknownError)}, resp: &alipay.TwostageResponse{UserID: "2088123412341234"}}
	later := &fakeLater{}
	f, err := New(Config{Gateway: gw, Ledger: l, Events: bus, Later: later, Retryable: alipay.Retryable, PayPID: payPID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Scan(context.Background(), Scan{Code: code}); !errors.Is(err, ErrQueued) {
		t.Fatal(err)
	}
	if _, err := f.Scan(context.Background(), Scan{Code: code}); err != nil {
		t.Fatalf("rescan: %v", err)
	}
	if err := f.Retry(context.Background(), later.jobs[0].payload, 2); err != nil {
		t.Fatal(err)
	}
	if len(gw.reqs) != 2 {
		t.Errorf("%d requests, want 2: the queued job must not decode again", len(gw.reqs))
	}
	// No expiry is armed any more: nothing more will be said.
	f.mu.Lock()
	armed := len(f.open)
	f.mu.Unlock()
	if armed != 0 {
		t.Errorf("%d expiry timers still armed after the decode", armed)
	}
	for {
		e, ok := sub.TryNext()
		if !ok {
			break
		}
		if e.Type() == event.TypeDecodeFailed {
			t.Errorf("decode_failed with the decode: %+v", e)
		}
	}
}

// The sence_no is committed before the request leaves: the gateway, called,
// finds it in the ledger already, its commit is over (bbolt counts a commit's
// writes only after its fsync), and the database is not in NoSync mode.
func TestSenceNoCommittedBeforeRequest(t *testing.T) {
	h := newHarness(t)
	db := h.flow.c.Ledger.db
	if db.NoSync {
		t.Fatal("the ledger's database skips fsync")
	}
	writes := func() int64 { st := db.Stats(); return st.TxStats.GetWrite() }
	written := writes()
	var found Entry
	h.gw.before = func(context.Context) error {
		if writes() == written {
			return errors.New("the ledger's commit is not over when the request leaves")
		}
		e, ok, err := h.flow.c.Ledger.Lookup(code)
		if !ok || err != nil {
			return fmt.Errorf("ledger has no entry when the request leaves: %v", err)
		}
		found = e
		return nil
	}
	id, err := h.flow.Scan(context.Background(), Scan{Code: code})
	if err != nil {
		t.Fatal(err)
	}
	if found.SenceNo != id.SenceNo {
		t.Errorf("ledger held %q, request carried %q", found.SenceNo, id.SenceNo)
	}
}

// A sence_no whose commit fails never leaves: the scan ends as one the
// terminal could not record, and the gateway is not asked. The database is
// capped at its size, so a commit fails once it needs a new page.
func TestCommitFailureSendsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	_, db := newLedger(t, path, "till3")
	db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err = bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, MaxSize: int(fi.Size())})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := NewLedger(db, "till3", testKey)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	f, err := New(Config{Gateway: h.gw, Ledger: l, Events: h.events, Retryable: alipay.Retryable, PayPID: payPID})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		c := fmt.Sprintf("2868612604%08d", i)
		_, err := f.Scan(context.Background(), Scan{Code: c})
		if err == nil {
			continue
		}
		t.Logf("failed after %d scans: %v", i, err)
		var fl *Failure
		if !errors.As(err, &fl) || !errors.Is(err, berrors.ErrMaxSizeReached) || fl.Action.Message != "The terminal cannot record the scan." {
			t.Fatalf("scan %d: %v, want the ledger's failure", i, err)
		}
		if n := len(h.gw.reqs); n != i {
			t.Errorf("gateway got %d requests for %d recorded scans", n, i)
		}
		if _, ok, _ := l.Lookup(c); ok {
			t.Error("the failed code has an entry")
		}
		// The failure joins the scan event that announced its sence_no.
		all := h.events.All()
		failed, ok := all[len(all)-1].(event.DecodeFailed)
		var scan event.Scan
		for _, e := range all {
			if s, ok := e.(event.Scan); ok {
				scan = s
			}
		}
		if !ok || failed.SenceNo == "" || failed.SenceNo != scan.SenceNo {
			t.Errorf("decode_failed %+v does not join the scan %+v", failed, scan)
		}
		return
	}
	t.Fatal("no commit failed")
}

func TestWatchAfterRestart(t *testing.T) {
	h := newHarness(t)
	h.gw.errs = []error{bizErr("20000", alipay.SubUnknownError)}
	h.flow.Scan(context.Background(), Scan{Code: code})
	payload := h.later.jobs[0].payload
	for _, tt := range []struct {
		name  string
		after time.Duration
		armed bool
	}{
		{"within the code's life", 10 * time.Second, true},
		{"long after", DefaultCodeTTL + retryGrace + time.Second, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, db := newLedger(t, filepath.Join(t.TempDir(), "db"), "till3")
			defer db.Close()
			c := &clock{t0.Add(tt.after)}
			f, err := New(Config{Gateway: h.gw, Ledger: l, Events: &eventtest.Recorder{}, Retryable: alipay.Retryable, PayPID: payPID, Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Watch(payload); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			n := len(f.open)
			for _, tm := range f.open {
				tm.Stop()
			}
			f.mu.Unlock()
			if (n == 1) != tt.armed {
				t.Errorf("%d timers armed, want armed %v", n, tt.armed)
			}
		})
	}
	if err := h.flow.Watch([]byte("nope")); err == nil {
		t.Error("Watch(bad payload): no error")
	}
}

// FirstWait bounds the scan's own request only: when it runs out, the
// decode is queued with the scan's sence_no (even were the error not
// called retryable), and the queue's retries get no such bound.
func TestFirstWaitQueuesSlowScan(t *testing.T) {
	h := newHarness(t)
	h.flow.c.FirstWait = func() time.Duration { return time.Millisecond }
	h.flow.c.Retryable = func(error) bool { return false }
	var deadlines []bool
	h.gw.before = func(ctx context.Context) error {
		_, ok := ctx.Deadline()
		deadlines = append(deadlines, ok)
		if len(deadlines) > 1 {
			return nil
		}
		<-ctx.Done() // a gateway that does not answer
		return ctx.Err()
	}
	_, err := h.flow.Scan(context.Background(), Scan{Code: code})
	if !errors.Is(err, ErrQueued) || !errors.Is(err, context.DeadlineExceeded) || len(h.later.jobs) != 1 {
		t.Fatalf("Scan past FirstWait = %v, %d jobs; want the decode queued", err, len(h.later.jobs))
	}
	if err := h.flow.Retry(context.Background(), h.later.jobs[0].payload, 2); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if len(h.gw.reqs) != 2 || h.gw.reqs[1].SenceNo != h.gw.reqs[0].SenceNo {
		t.Fatalf("requests %+v, want two with one sence_no", h.gw.reqs)
	}
	if !deadlines[0] || deadlines[1] {
		t.Errorf("request deadlines %v; want the scan's bounded and the retry's not", deadlines)
	}
}

// A rescan that fails retryably after the code's queued decode ended (done,
// or dead) queues a retry of its own, under a new key, while a rescan while
// a retry is pending joins it: ErrQueued always means a retry will run.
func TestRescanAfterQueuedDecodeEndedQueuesAgain(t *testing.T) {
	for _, tc := range []struct {
		name     string
		over     bool
		wantKeys int
	}{
		{"pending job joined", false, 1},
		{"ended job not reused", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.gw.errs = []error{bizErr("20000", alipay.SubUnknownError), bizErr("20000", alipay.SubUnknownError)}
			if _, err := h.flow.Scan(context.Background(), Scan{Code: code}); !errors.Is(err, ErrQueued) {
				t.Fatal(err)
			}
			first := h.later.jobs[0]
			if tc.over {
				// The queued decode ran: the queue remembers its key, done.
				h.later.over = map[string]bool{first.key: true}
				h.flow.settle(first.subj.SenceNo)
			}
			h.clock.t = h.clock.t.Add(10 * time.Second)
			if _, err := h.flow.Scan(context.Background(), Scan{Code: code}); !errors.Is(err, ErrQueued) {
				t.Fatalf("rescan: %v, want ErrQueued", err)
			}
			if len(h.later.jobs) != tc.wantKeys {
				t.Fatalf("%d jobs, want %d: %+v", len(h.later.jobs), tc.wantKeys, h.later.jobs)
			}
			last := h.later.jobs[len(h.later.jobs)-1]
			if last.subj.SenceNo != first.subj.SenceNo {
				t.Errorf("retry for sence_no %q, want %q", last.subj.SenceNo, first.subj.SenceNo)
			}
			if tc.over && last.key == first.key {
				t.Errorf("retry under the ended job's key %q", last.key)
			}
			// The retry the rescan was promised decodes.
			if err := h.flow.Retry(context.Background(), last.payload, 2); err != nil {
				t.Fatalf("retry: %v", err)
			}
		})
	}
}
