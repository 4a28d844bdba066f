package queue

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// Concurrent enqueues share commits; refusals inside a shared commit refuse
// only their own op; one key among many concurrent enqueues is one job.
func TestGroupCommit(t *testing.T) {
	const producers, each, limit = 32, 10, 200
	q, _, _ := newTestQueue(t, Options{MaxJobs: limit})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		stored   = map[string]bool{}
		full     int
		sameKey  = map[string]bool{}
		unexpect []error
	)
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				j, err := q.Enqueue(ctx, Job{Kind: "k", Key: fmt.Sprintf("%d-%d", p, i)})
				s, serr := q.Enqueue(ctx, Job{Kind: "k", Key: "shared"})
				mu.Lock()
				switch {
				case err == nil:
					stored[j.ID] = true
				case errors.Is(err, ErrFull):
					full++
				default:
					unexpect = append(unexpect, err)
				}
				if serr == nil {
					sameKey[s.ID] = true
				} else if !errors.Is(serr, ErrFull) {
					unexpect = append(unexpect, serr)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(unexpect) > 0 {
		t.Fatal(unexpect)
	}
	if len(sameKey) != 1 {
		t.Errorf("key \"shared\" gave %d different jobs, want 1", len(sameKey))
	}
	if len(stored)+1 != limit || len(stored)+full != producers*each {
		t.Errorf("%d stored + 1 shared, %d refused as full; want %d in all and %d refused", len(stored), full, limit, producers*each-limit+1)
	}
	q.c.mu.Lock()
	commits := q.c.commits
	q.c.mu.Unlock()
	if ops := 2*producers*each + 1; commits > ops/4 { // +1: New's bucket creation is not an op
		t.Errorf("%d commits for %d concurrent enqueues: not grouped", commits, ops)
	}
	t.Logf("%d enqueues in %d commits", 2*producers*each, commits)
	checkConsistent(t, q)
}
