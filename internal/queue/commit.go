package queue

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/dbfile"
)

// maxGroup bounds how many operations share one transaction, so a burst
// cannot build one huge write.
const maxGroup = 1024

// maxGather bounds how long a leader waits for callers it expects.
const maxGather = 2 * time.Millisecond

// An op is one change to the queue's buckets, committed together with
// whatever other ops are waiting (group commit).
//
// apply runs inside a transaction shared with other ops. To refuse the op
// alone it returns a *rejection before writing anything (to the buckets or
// the index), and the others go on; any other error aborts the whole
// transaction, which fails every op in it, and leaves the index as it was.
// apply reads what it needs from t each time it runs, so running it again
// in a fresh transaction is safe.
type op struct {
	apply func(t *txn) error
	err   error
	wake  chan bool // true: lead the next group; false: done, err is set
}

// committer is group commit in the leader/follower style (as LevelDB
// writes): callers queue their ops; one of them, the leader, commits all
// that are queued in one transaction while the next ones queue behind it,
// then hands the lead to the first of those.
//
// A leader that is alone in the committer commits at once: a lone producer
// never waits for company. When other callers are inside the committer —
// typically the ones whose commit just ended, about to queue their next op
// — the leader waits for them, at most as long as a commit takes (and
// maxGather), so that the group holds every busy producer instead of
// alternating between two half groups. A commit costs about the same for
// one op as for a hundred, so this is what makes throughput grow with the
// number of producers.
//
// Not bbolt's DB.Batch: it waits MaxBatchDelay for company on a timer, so a
// lone producer pays the delay on every job, and cutting the delay to
// nothing ends the grouping. Its retry-everything-on-failure also cannot
// refuse one op (a full queue) without running the others again.
type committer struct {
	db *bbolt.DB
	// idx is changed by the leader alone, once a commit has succeeded, with
	// idxMu held: the leader reads it without the lock, others with it.
	idx     *index
	idxMu   *sync.Mutex
	mu      sync.Mutex
	waiting []*op
	leading bool
	callers int           // inside do, queued or committing or about to return
	arrived chan struct{} // signalled when an op queues behind a gathering leader
	last    time.Duration // how long the last commit took
	commits int           // transactions committed (or failed), for tests
}

// do commits o durably (one bbolt Update, fsynced) and returns its error.
func (c *committer) do(o *op) error {
	o.wake = make(chan bool, 1)
	c.mu.Lock()
	if c.arrived == nil {
		c.arrived = make(chan struct{}, 1)
	}
	c.callers++
	c.waiting = append(c.waiting, o)
	lead := !c.leading
	c.leading = true
	c.mu.Unlock()
	c.poke()
	if !lead {
		lead = <-o.wake
	}
	if lead {
		c.lead()
	}
	c.mu.Lock()
	c.callers--
	c.mu.Unlock()
	c.poke()
	return o.err
}

// poke tells a gathering leader that the queue or the callers changed.
func (c *committer) poke() {
	select {
	case c.arrived <- struct{}{}:
	default:
	}
}

// lead commits the queued ops as one group and passes the lead on. The
// leader's own op is first in the queue (the queue is empty when no one
// leads, and the lead passes to the first waiter).
func (c *committer) lead() {
	c.gather()
	c.mu.Lock()
	n := min(len(c.waiting), maxGroup)
	group := c.waiting[:n:n]
	c.waiting = append([]*op(nil), c.waiting[n:]...)
	c.mu.Unlock()

	start := time.Now()
	var t *txn
	err := c.db.Update(func(tx *bbolt.Tx) error {
		t = newTxn(tx, c.idx)
		for _, g := range group {
			g.err = nil
			if err := g.apply(t); err != nil {
				var r *rejection
				if !errors.As(err, &r) {
					return err
				}
				g.err = r.err
			}
		}
		return nil
	})
	took := time.Since(start)
	if err == nil {
		// Before anyone is told: a caller's next step may rely on it (Run
		// leasing the job just enqueued).
		c.idxMu.Lock()
		c.idx.apply(&t.d)
		c.idxMu.Unlock()
	}
	for i, g := range group {
		if err != nil {
			g.err = fmt.Errorf("commit queue database: %w", dbfile.Classify(err))
		}
		if i > 0 {
			g.wake <- false
		}
	}

	c.mu.Lock()
	c.last = took
	c.commits++
	if len(c.waiting) == 0 {
		c.leading = false
	} else {
		c.waiting[0].wake <- true
	}
	c.mu.Unlock()
}

// gather waits, briefly, until every caller inside the committer has
// queued its op.
func (c *committer) gather() {
	var timeout <-chan time.Time
	for {
		c.mu.Lock()
		queued, callers, last := len(c.waiting), c.callers, c.last
		c.mu.Unlock()
		if queued >= callers || queued >= maxGroup {
			return
		}
		if timeout == nil {
			timeout = time.After(min(last, maxGather))
		}
		select {
		case <-c.arrived:
		case <-timeout:
			return
		}
	}
}

// rejection is an op's refusal that leaves the transaction usable.
type rejection struct{ err error }

func (r *rejection) Error() string { return r.err.Error() }

func reject(err error) error { return &rejection{err} }
