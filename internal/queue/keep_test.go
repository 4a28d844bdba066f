package queue

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"posagent/internal/event"
	"posagent/internal/event/eventtest"
)

// A kind Keep names cannot be dropped, pending or dead; every job Drop
// deletes is reported to Dropped with its kind.
func TestDropKeptKinds(t *testing.T) {
	var dropped []Job
	q, _, _ := newTestQueue(t, Options{
		Keep: func(kind string) string {
			if kind == "payment_cancel" {
				return "the payment would stay cancelling"
			}
			return ""
		},
		Dropped: func(j Job) { dropped = append(dropped, j) },
	})
	deadCancel := mustEnqueue(t, q, Job{Kind: "payment_cancel", Key: "dead"})
	if err := q.kill(ctx, mustLease(t, q), "deadline"); err != nil {
		t.Fatal(err)
	}
	cancel := mustEnqueue(t, q, Job{Kind: "payment_cancel", Key: "p"})
	coupon := mustEnqueue(t, q, Job{Kind: "coupon", Key: "c"})

	for _, j := range []Job{deadCancel, cancel} {
		err := q.Drop(j.ID)
		if !errors.Is(err, ErrKept) || !strings.Contains(err.Error(), "payment_cancel") || !strings.Contains(err.Error(), "would stay cancelling") {
			t.Errorf("Drop(%s) of a kept kind: %v, want ErrKept naming the kind and why", j.ID, err)
		}
	}
	pending, _ := q.Pending()
	dead, _ := q.Dead()
	if !slices.Equal(ids(pending), []string{cancel.ID, coupon.ID}) || !slices.Equal(ids(dead), []string{deadCancel.ID}) {
		t.Fatalf("after refused drops: pending %v, dead %v", ids(pending), ids(dead))
	}
	if err := q.Drop(coupon.ID); err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 1 || dropped[0].ID != coupon.ID || dropped[0].Kind != "coupon" || dropped[0].Key != "c" {
		t.Errorf("Dropped saw %+v, want the coupon job only", dropped)
	}
}

// A kept kind is stored when the queue is full for other kinds; Died hears
// of every job that dies, before event.Dead is published.
func TestKeptKindsOverLimits(t *testing.T) {
	var died []string
	rec := &eventtest.Recorder{}
	deadEvents := func() int {
		return len(slices.DeleteFunc(rec.Types(), func(ty event.Type) bool { return ty != event.TypeDead }))
	}
	q, _, _ := newTestQueue(t, Options{
		MaxJobs: 2,
		Keep: func(kind string) string {
			if kind == "payment_cancel" {
				return "the payment would stay cancelling"
			}
			return ""
		},
		Events: rec,
		Died: func(d event.Dead) {
			if deadEvents() != len(died) {
				t.Error("Died after event.Dead was published")
			}
			died = append(died, d.JobID)
		},
	})
	mustEnqueue(t, q, Job{Kind: "coupon", Key: "c1"})
	mustEnqueue(t, q, Job{Kind: "coupon", Key: "c2"})
	if _, err := q.Enqueue(ctx, Job{Kind: "coupon", Key: "c3"}); !errors.Is(err, ErrFull) {
		t.Fatalf("a third coupon in a queue of 2: %v, want ErrFull", err)
	}
	mustEnqueue(t, q, Job{Kind: "payment_cancel", Key: "p1"})
	mustEnqueue(t, q, Job{Kind: "payment_cancel", Key: "p2"})
	if _, err := q.Enqueue(ctx, Job{Kind: "coupon", Key: "c3"}); !errors.Is(err, ErrFull) {
		t.Fatalf("a coupon after the cancels: %v, want ErrFull", err)
	}
	j := mustLease(t, q)
	if err := q.kill(ctx, j, "refused"); err != nil {
		t.Fatal(err)
	}
	if len(died) != 1 || died[0] != j.ID || deadEvents() != 1 {
		t.Errorf("Died saw %v, want [%s]; %d dead events", died, j.ID, deadEvents())
	}
}
