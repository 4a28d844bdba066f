package payment

import (
	"errors"
	"strings"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/event"
	"posagent/internal/queue"
)

// A cancel job that dies leaves its payment cancelling but marked
// unresolved (GET says so), and the next start sends the cancel again.
func TestDeadCancelIsUnresolvedAndRequeued(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.close()
	now := time.Now()
	e.seed(Record{OutTradeNo: "od", SenceNo: "SD", AmountFen: 100, Subject: "x",
		State: event.PaymentCancelling, Created: now, Updated: now})
	e.srv.SetFault(alipay.MethodTradeCancel, alipaytest.Fault{SubCode: "ACQ.TRADE_STATUS_ERROR"})
	e.start(envOpts{})
	// The queue told the service before it published this.
	e.until("a dead cancel", func(ev event.Event) bool { d, ok := ev.(event.Dead); return ok && d.Kind == JobKind })
	p, err := e.svc.Get("od")
	if err != nil || p.State != event.PaymentCancelling || !p.Unresolved || !strings.Contains(p.Message, "Unresolved") {
		t.Fatalf("after the cancel died: %+v, %v; want cancelling, unresolved", p, err)
	}
	if err := e.q.Drop(deadID(t, e.q)); !errors.Is(err, queue.ErrKept) {
		t.Errorf("dropping the dead cancel: %v, want ErrKept", err)
	}

	e.close()
	e.srv.ClearFaults()
	e.start(envOpts{})
	if got := e.states("od"); got[len(got)-1] != event.PaymentCancelled {
		t.Fatalf("after restart: %v, want it to end cancelled", got)
	}
	if p, _ := e.svc.Get("od"); p.Unresolved {
		t.Errorf("cancelled payment still unresolved: %+v", p)
	}
}

func deadID(t *testing.T, q *queue.Queue) string {
	t.Helper()
	dead, err := q.Dead()
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead jobs %+v, %v; want one", dead, err)
	}
	return dead[0].ID
}
