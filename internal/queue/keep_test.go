package queue

import (
	"errors"
	"slices"
	"strings"
	"testing"
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
