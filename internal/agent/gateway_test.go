package agent

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"posagent/internal/alipay"
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
// from the gateway, so the queue stays down and reports no "up".
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
		return queue.NotSent(nil)
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
	if w.count(isGateway(event.GatewayUp)) > 0 || !a.Queue.Down() {
		t.Errorf("gateway reported up (Down() = %v) while the server is still down; events:\n%s", a.Queue.Down(), w.dump())
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
func TestDirectDecodeEndsGatewayDown(t *testing.T) {
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
	f <- srv.IssueCode(student.UserID)
	w.until("decoded", isType(event.TypeDecoded))
	w.reach("gateway up", 1, isGateway(event.GatewayUp)) // before or after decoded
	if a.Queue.Down() {
		t.Error("Down() = true after a scan decoded")
	}
}

// Only a verified answer clears "down"; a request counts as sent whenever
// something came back or the transport failed on the way.
func TestGatewayAnsweredSent(t *testing.T) {
	for _, c := range []struct {
		name           string
		err            error
		answered, sent bool
	}{
		{"success", nil, true, true},
		{"business error", &alipay.Error{Code: "40004", SubCode: "INVALID_DYNAMIC_ID", HTTPStatus: 200}, true, true},
		{"unsigned business error", &alipay.Error{Code: "40004", HTTPStatus: 200, Err: alipay.ErrUnsigned}, false, true},
		{"HTTP 503", &alipay.Error{HTTPStatus: 503, Err: alipay.ErrUnreachable}, false, true},
		{"refused", &alipay.Error{Err: fmt.Errorf("%w: dial tcp: connection refused", alipay.ErrUnreachable)}, false, true},
		{"timed out", &alipay.Error{Err: fmt.Errorf("%w: %w", alipay.ErrUnreachable, context.DeadlineExceeded)}, false, true},
		{"bad field", &alipay.Error{Err: &alipay.FieldError{Field: "biz_content.sence_no", Msg: "too long"}}, false, false},
		{"sence_no not on disk", &alipay.Error{Err: errors.New("not sent: disk full")}, false, false},
	} {
		if got := answered(c.err); got != c.answered {
			t.Errorf("%s: answered = %v, want %v", c.name, got, c.answered)
		}
		if got := sent(c.err); got != c.sent {
			t.Errorf("%s: sent = %v, want %v", c.name, got, c.sent)
		}
	}
}
