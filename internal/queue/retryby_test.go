package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// retryBy is a handler's error that must be retried by a time of its own.
type retryBy struct{ by time.Time }

func (r retryBy) Error() string      { return "not yet" }
func (r retryBy) RetryBy() time.Time { return r.by }

// A cause implementing RetryBy cuts the drawn wait to end by its time,
// rather than let the job's last chance pass (a decode's code expiring while
// the job waits a backoff longer than the code's remaining life).
func TestRetryByCapsTheWait(t *testing.T) {
	q, clock, _ := newTestQueue(t, Options{BaseDelay: time.Hour, MaxDelay: time.Hour})
	ctx := context.Background()
	for i := range 5 {
		mustEnqueue(t, q, Job{Kind: "decode", Deadline: clock.Now().Add(2 * time.Hour)})
		j := mustLease(t, q)
		by := clock.Now().Add(3 * time.Second)
		if err := q.retry(ctx, j, fmt.Errorf("attempt %d: %w", i, retryBy{by})); err != nil {
			t.Fatal(err)
		}
		pending, err := q.Pending()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pending {
			if p.ID == j.ID && p.NextAt.After(by) {
				t.Errorf("job %s next at %v, after its retry-by %v", j.ID, p.NextAt, by)
			}
		}
		if err := q.Drop(j.ID); err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	}
}
