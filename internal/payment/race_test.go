package payment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"posagent/internal/event"
	"posagent/internal/queue"
)

// noEvents fails if otn's payment was told since the last event read: a
// marker published now must come first.
func (e *env) noEvents(otn string) {
	e.t.Helper()
	e.bus.Publish(event.Payment{OutTradeNo: "marker"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		ev, err := e.sub.Next(ctx)
		if err != nil {
			e.t.Fatalf("no marker: %v", err)
		}
		if p, ok := ev.(event.Payment); ok {
			if p.OutTradeNo == "marker" {
				return
			}
			if p.OutTradeNo == otn {
				e.t.Errorf("payment %s told again: %+v", otn, p)
			}
		}
	}
}

// Restart recovery reads the open payments once while the queue and the
// API already run. A payment that ends, or that the cashier cancels,
// between that read and its resumption stays as it is now: no state
// written back, no driver, no second cancel.
func TestResumeRaces(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := time.Now()
	for _, tt := range []struct {
		name, read string
		between    func(otn string) // what happens after resume's read
		want       string
	}{
		{"cancel job finishes", event.PaymentCancelling, func(otn string) {
			if err := e.svc.RunCancel(ctx, []byte(`{"out_trade_no":"`+otn+`"}`)); err != nil {
				t.Fatal(err)
			}
		}, event.PaymentCancelled},
		{"paid while waiting", event.PaymentWaitingBuyer, func(otn string) {
			r, _, _ := e.svc.st.get(otn)
			if err := e.svc.set(&r, event.PaymentPaid, "Paid.", ""); err != nil {
				t.Fatal(err)
			}
		}, event.PaymentPaid},
		{"cashier cancels", event.PaymentWaitingBuyer, func(otn string) {
			if _, err := e.svc.Cancel(ctx, otn); err != nil {
				t.Fatal(err)
			}
		}, event.PaymentCancelled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			otn := "race" + str(len(tt.name)) // the names differ in length
			rec := Record{OutTradeNo: otn, SenceNo: "S" + otn, AmountFen: 100, Subject: "x", State: tt.read,
				Recovered: true, Created: now, Updated: now, WaitUntil: now.Add(time.Hour)}
			if err := e.svc.st.put(&rec); err != nil {
				t.Fatal(err)
			}
			tt.between(otn)
			e.states(otn) // what happened between, to its final event
			if !e.svc.resumeOne(ctx, rec) {
				t.Fatal("resumeOne: stopped")
			}
			e.noEvents(otn)
			got, _, err := e.svc.st.get(otn)
			if err != nil || got.State != tt.want {
				t.Errorf("stored %s, %v; want %s", got.State, err, tt.want)
			}
			e.svc.mu.Lock()
			_, driven := e.svc.active[otn]
			e.svc.mu.Unlock()
			if driven {
				t.Error("a driver was started for a final payment")
			}
			if tr := e.trade(otn); tr.CancelCalls > 1 {
				t.Errorf("cancelled %d times", tr.CancelCalls)
			}
			if err := e.svc.set(&got, event.PaymentCancelling, "late", ""); !errors.Is(err, errFinal) || got.State != tt.want {
				t.Errorf("set out of %s: %v, record now %s; want errFinal", tt.want, err, got.State)
			}
			e.noEvents(otn)
		})
	}
}

// A payment cancelling again after its cancel job finished gets a fresh
// job: the queue remembers the finished job's key and would otherwise
// answer with it, leaving the payment cancelling for good.
func TestCancelAfterFinishedCancel(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	now := time.Now()
	rec := Record{OutTradeNo: "again", SenceNo: "Sagain", AmountFen: 100, Subject: "x", State: event.PaymentCancelled,
		Created: now, Updated: now}
	if err := e.svc.st.put(&rec); err != nil {
		t.Fatal(err)
	}
	// The first cancel job runs and finishes (the payment is final).
	j, err := e.q.Enqueue(ctx, queue.Job{Kind: JobKind, Key: JobKind + "/again", Payload: []byte(`{"out_trade_no":"again"}`)})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if again, _ := e.q.Enqueue(ctx, queue.Job{Kind: JobKind, Key: JobKind + "/again", Payload: []byte(`{}`)}); again.ID == j.ID && again.State == queue.StateDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first cancel job did not finish")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The payment is cancelling once more, not final: it is cancelled.
	rec.State = event.PaymentCancelling
	if err := e.svc.st.put(&rec); err != nil {
		t.Fatal(err)
	}
	e.svc.cancel(ctx, &rec, "again")
	if got := e.states("again"); got[len(got)-1] != event.PaymentCancelled {
		t.Errorf("states %v, want cancelled at the end", got)
	}
	if tr := e.trade("again"); tr.CancelCalls != 1 {
		t.Errorf("gateway cancels %d, want 1", tr.CancelCalls)
	}
}

// A cancel whose outcome the disk did not take is not acknowledged: the
// job is retried (not dead), and the payment ends when the disk takes it.
func TestCancelNotRecordedIsRetried(t *testing.T) {
	e := newEnv(t, envOpts{})
	now := time.Now()
	rec := Record{OutTradeNo: "wf", SenceNo: "Swf", AmountFen: 100, Subject: "x", State: event.PaymentCancelling,
		Created: now, Updated: now}
	if err := e.svc.st.put(&rec); err != nil {
		t.Fatal(err)
	}
	e.close()
	ro, err := bbolt.Open(e.dbPath, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{o: Options{DB: ro, Gateway: e.client, Events: event.NewBus(), Now: time.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, st: store{ro}, active: map[string]*run{}}
	err = svc.RunCancel(context.Background(), []byte(`{"out_trade_no":"wf"}`))
	if !errors.Is(err, berrors.ErrDatabaseReadOnly) || fmt.Sprintf("%T", err) == "*queue.permanentError" {
		t.Errorf("RunCancel with the write failing: %v (%T); want the write's error, to be retried", err, err)
	}
	if got, _, _ := svc.st.get("wf"); got.State != event.PaymentCancelling {
		t.Errorf("stored %s, want cancelling", got.State)
	}
	ro.Close()
	// The next start sends the cancel again; this time it is recorded.
	e.start(envOpts{})
	if got := e.states("wf"); got[len(got)-1] != event.PaymentCancelled {
		t.Errorf("states %v, want cancelled at the end", got)
	}
}
