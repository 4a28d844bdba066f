package agent

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/decode"
	"posagent/internal/event"
	"posagent/internal/queue"
)

// drain adds the events already published to w.seen.
func (w *watcher) drain() {
	for {
		e, ok := w.sub.TryNext()
		if !ok {
			return
		}
		w.seen = append(w.seen, e)
	}
}

// While the gateway stays down, a queued decode whose code expired runs as
// the queue's probe and ends without sending anything: that is no answer
// from the gateway, so it stays down and no "up" is reported.
func TestExpiredQueuedDecodeIsNoProbe(t *testing.T) {
	srv := newServer(t)
	code := srv.IssueCode(plain.UserID)
	if err := srv.SetDown(true); err != nil {
		t.Fatal(err)
	}
	f := make(feed, 1)
	a := newAgentOpts(t, srv, t.TempDir(), f, func(o *Options) {
		o.CodeTTL = time.Second
		o.Config.Coupons = nil
	})
	w := start(t, a)
	f <- code
	w.until("gateway down", isGateway(event.GatewayDown))
	w.until("the code's expiry", isType(event.TypeDecodeFailed))
	// While down the queue runs one job at a time, the one waiting
	// longest first: a job due after the expired decode's next run
	// (within MaxDelay) runs once that run's outcome is taken in.
	ran := make(chan struct{})
	a.Queue.Handle("marker", func(ctx context.Context, j queue.Job) error {
		close(ran)
		return nil
	})
	if _, err := a.Queue.Enqueue(context.Background(), queue.Job{Kind: "marker", NextAt: time.Now().Add(5 * fastQueue.MaxDelay)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
	case <-time.After(patience):
		t.Fatalf("the marker job did not run; events:\n%s", w.dump())
	}
	w.drain()
	if w.count(isGateway(event.GatewayUp)) > 0 || !a.Health.Down() {
		t.Errorf("gateway reported up (Down() = %v) while the server is still down; events:\n%s", a.Health.Down(), w.dump())
	}
	pending, _ := a.Queue.Pending()
	for _, j := range pending {
		if j.Kind == decode.JobKind {
			t.Errorf("expired decode job %s still pending", j.ID)
		}
	}
}

// "Gateway down" ends with the first scan that decodes, even when the
// queue has no job left to probe with (staff dropped the waiting one).
// Any verified answer ends "gateway down", also when no queued job is left
// to probe with: a scan that decodes, or an agreement confirmed on the
// agreement screen.
func TestDirectAnswerEndsGatewayDown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(t *testing.T, a *Agent, srv *alipaytest.Server, w *watcher, f feed)
	}{
		{"scan decodes", func(t *testing.T, a *Agent, srv *alipaytest.Server, w *watcher, f feed) {
			f <- srv.IssueCode(student.UserID)
			w.until("decoded", isType(event.TypeDecoded))
		}},
		{"agreement confirmed", func(t *testing.T, a *Agent, srv *alipaytest.Server, w *watcher, f feed) {
			srv.AddAgreement(alipaytest.Agreement{AgreementNo: "20170502000610755993", ApplyToken: "MDEDUCT0068", SMSCode: "423979"})
			req := alipay.AgreementAuthConfirmRequest{AgreementNo: "20170502000610755993", ApplyToken: "MDEDUCT0068", AuthConfirmNo: "423979"}
			if err := (gateway{c: a.Client, h: a.Health}).AgreementAuthConfirm(context.Background(), req); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { directAnswerEndsDown(t, tc.answer) })
	}
}

func directAnswerEndsDown(t *testing.T, answer func(t *testing.T, a *Agent, srv *alipaytest.Server, w *watcher, f feed)) {
	srv := newServer(t)
	code := srv.IssueCode(plain.UserID)
	if err := srv.SetDown(true); err != nil {
		t.Fatal(err)
	}
	f := make(feed, 1)
	a := newAgentOpts(t, srv, t.TempDir(), f, func(o *Options) { o.Config.Coupons = nil })
	w := start(t, a)
	f <- code
	w.until("gateway down", isGateway(event.GatewayDown))
	// Staff drop the waiting decode from the queue screen; it may be
	// running as a probe just then.
	giveUp := time.Now().Add(patience)
	for {
		pending, err := a.Queue.Pending()
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			break
		}
		err = a.Queue.Drop(pending[0].ID)
		if err == nil {
			break
		}
		if !errors.Is(err, queue.ErrLeased) || time.Now().After(giveUp) {
			t.Fatalf("drop job %s: %v", pending[0].ID, err)
		}
		runtime.Gosched()
	}
	if err := srv.SetDown(false); err != nil {
		t.Fatal(err)
	}
	answer(t, a, srv, w, f)
	w.reach("gateway up", 1, isGateway(event.GatewayUp)) // before or after the answer's own event
	if a.Health.Down() {
		t.Error("Down() = true after a verified answer")
	}
}

// The health probe is a request the gateway answers, verifiably, without
// decoding anything: while the gateway is down and quiet it finds the
// gateway back without a scan.
func TestProbeFindsGatewayBack(t *testing.T) {
	srv := newServer(t)
	if err := srv.SetDown(true); err != nil {
		t.Fatal(err)
	}
	a := newAgentOpts(t, srv, t.TempDir(), make(feed), func(o *Options) { o.ProbeEvery = 50 * time.Millisecond })
	w := start(t, a)
	a.Health.Report(&alipay.Error{Err: fmt.Errorf("%w: refused", alipay.ErrUnreachable)}) // a scan that could not reach it
	w.until("gateway down", isGateway(event.GatewayDown))
	if err := srv.SetDown(false); err != nil {
		t.Fatal(err)
	}
	w.until("gateway up", isGateway(event.GatewayUp))
	var probes int
	for _, r := range srv.Requests() {
		if r.Method != alipay.MethodTwostageCommonUse || bizOf(r)["dynamic_id"] != alipay.ProbeDynamicID {
			continue
		}
		probes++
		if r.SubCode != alipay.SubIllegalCode {
			t.Errorf("probe answered %s %s, want %s", r.Code, r.SubCode, alipay.SubIllegalCode)
		}
	}
	if probes == 0 {
		t.Error("the gateway came back without a probe")
	}
}

// A gateway that does not answer (packets dropped) holds the till only
// DecodeWait, not the client's 15 s: the scan then goes to the queue, whose
// retry carries the same sence_no.
func TestSilentGatewayQueuesScanQuickly(t *testing.T) {
	srv := newServer(t)
	srv.SetFault(alipay.MethodTwostageCommonUse, alipaytest.Fault{Latency: time.Minute, Count: 1})
	f := make(feed, 1)
	const wait = 300 * time.Millisecond
	a := newAgentOpts(t, srv, t.TempDir(), f, func(o *Options) {
		o.DecodeWait = wait
		o.Config.Coupons = nil
	})
	w := start(t, a)
	code := srv.IssueCode(plain.UserID)
	scanned := time.Now()
	f <- code
	isAttempt := func(n int) func(event.Event) bool {
		return func(e event.Event) bool { d, ok := e.(event.Decoding); return ok && d.Attempt == n }
	}
	first := w.until("the scan's decode", isAttempt(1)).(event.Decoding)
	second := w.until("the queued retry", isAttempt(2)).(event.Decoding)
	// Well before the client's own timeout, let alone the minute the
	// server would take.
	if took := time.Since(scanned); took > 10*wait {
		t.Errorf("the retry began %v after the scan; want about %v", took, wait)
	}
	if second.SenceNo != first.SenceNo {
		t.Errorf("retry sence_no %s, the scan's %s", second.SenceNo, first.SenceNo)
	}
	if d, ok := w.until("the decode's end", ended).(event.Decoded); !ok || d.SenceNo != first.SenceNo {
		t.Errorf("decode ended %+v, want decoded with sence_no %s; events:\n%s", d, first.SenceNo, w.dump())
	}
	var sences []any
	for _, r := range srv.Requests() {
		if r.Method == alipay.MethodTwostageCommonUse {
			sences = append(sences, bizOf(r)["sence_no"])
		}
	}
	if len(sences) != 2 || sences[0] != first.SenceNo || sences[1] != first.SenceNo {
		t.Errorf("the gateway saw sence_no %v, want %s twice", sences, first.SenceNo)
	}
}

type downFlag bool

func (d downFlag) Down() bool { return bool(d) }

// The scan's own decode waits less once the gateway is known down.
func TestFirstWait(t *testing.T) {
	for _, c := range []struct {
		down   bool
		up, dn time.Duration
		want   time.Duration
	}{
		{false, 0, 0, FirstDecodeWait},
		{true, 0, 0, FirstDecodeWaitDown},
		{false, time.Second, 0, time.Second},
		{true, time.Second, 100 * time.Millisecond, 100 * time.Millisecond},
	} {
		if got := firstWait(downFlag(c.down), c.up, c.dn)(); got != c.want {
			t.Errorf("firstWait(down %v, %v, %v) = %v, want %v", c.down, c.up, c.dn, got, c.want)
		}
	}
}
