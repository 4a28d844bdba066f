package queue

import (
	"errors"
	"fmt"
	"sync"

	"go.etcd.io/bbolt"
)

// maxGroup bounds how many operations share one transaction, so a burst
// cannot build one huge write.
const maxGroup = 1024

// An op is one change to the queue's buckets, committed together with
// whatever other ops are waiting (group commit).
//
// apply runs inside a transaction shared with other ops. To refuse the op
// alone it returns a *rejection before writing anything, and the others go
// on; any other error aborts the whole transaction, which fails every op in
// it. apply reads what it needs from tx each time it runs, so running it
// again in a fresh transaction is safe.
type op struct {
	apply func(tx *bbolt.Tx) error
	err   error
	wake  chan bool // true: lead the next group; false: done, err is set
}

// committer is group commit in the leader/follower style (as LevelDB
// writes): the first caller to find no commit under way commits at once,
// alone; callers arriving while a commit runs queue up, and the first of
// them commits all of them together when it ends.
//
// Not bbolt's DB.Batch: it starts a timer and waits MaxBatchDelay for
// company, so a lone producer pays the delay on every job, and cutting the
// delay to nothing ends the grouping. Here a lone producer commits without
// waiting and groups grow exactly as fast as fsync is slow. It also lets one
// op be rejected (a full queue) without running the others again.
type committer struct {
	db      *bbolt.DB
	mu      sync.Mutex
	waiting []*op
	leading bool
}

// do commits o durably (one bbolt Update, fsynced) and returns its error.
func (c *committer) do(o *op) error {
	o.wake = make(chan bool, 1)
	c.mu.Lock()
	c.waiting = append(c.waiting, o)
	if c.leading {
		c.mu.Unlock()
		if lead := <-o.wake; !lead {
			return o.err
		}
	} else {
		c.leading = true
		c.mu.Unlock()
	}

	// o leads: it is first in line (queues start empty when no one leads,
	// and leadership passes to the first waiter).
	c.mu.Lock()
	n := min(len(c.waiting), maxGroup)
	group := c.waiting[:n:n]
	c.waiting = append([]*op(nil), c.waiting[n:]...)
	c.mu.Unlock()

	err := c.db.Update(func(tx *bbolt.Tx) error {
		for _, g := range group {
			g.err = nil
			if err := g.apply(tx); err != nil {
				var r *rejection
				if !errors.As(err, &r) {
					return err
				}
				g.err = r.err
			}
		}
		return nil
	})
	for _, g := range group {
		if err != nil {
			g.err = fmt.Errorf("commit queue database: %w", err)
		}
		if g != o {
			g.wake <- false
		}
	}

	c.mu.Lock()
	if len(c.waiting) == 0 {
		c.leading = false
	} else {
		c.waiting[0].wake <- true
	}
	c.mu.Unlock()
	return o.err
}

// rejection is an op's refusal that leaves the transaction usable.
type rejection struct{ err error }

func (r *rejection) Error() string { return r.err.Error() }

func reject(err error) error { return &rejection{err} }
