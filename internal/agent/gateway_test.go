package agent

import (
	"context"
	"testing"
	"time"

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
