package queue

import (
	"context"
	"errors"
	"testing"
)

// EnqueueAll stores a batch in one commit, keys deduplicated within it and
// against the queue; a batch that does not fit is refused whole.
func TestEnqueueAll(t *testing.T) {
	q, _, _ := newTestQueue(t, Options{MaxJobs: 5})
	ctx := context.Background()
	mustEnqueue(t, q, Job{Kind: "coupon", Key: "old"})
	before := q.c.commits
	out, err := q.EnqueueAll(ctx, []Job{{Kind: "coupon", Key: "a"}, {Kind: "coupon", Key: "old"}, {Kind: "coupon", Key: "a"}, {Kind: "merchant", Key: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := q.c.commits - before; n != 1 {
		t.Errorf("%d commits for one batch, want 1", n)
	}
	if out[0].ID == "" || out[2].ID != out[0].ID || out[1].Key != "old" || out[3].Kind != "merchant" {
		t.Errorf("batch gave %+v", out)
	}
	pending, _ := q.Pending()
	if len(pending) != 3 {
		t.Fatalf("%d pending, want 3 (old, a, m)", len(pending))
	}
	// 3 stored, limit 5: three more do not fit, and none is stored.
	_, err = q.EnqueueAll(ctx, []Job{{Kind: "coupon", Key: "x"}, {Kind: "coupon", Key: "y"}, {Kind: "coupon", Key: "z"}})
	if !errors.Is(err, ErrFull) {
		t.Fatalf("overfull batch: %v, want ErrFull", err)
	}
	if pending, _ := q.Pending(); len(pending) != 3 {
		t.Errorf("%d pending after a refused batch, want 3", len(pending))
	}
	checkConsistent(t, q)
}
