package queue

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/event"
)

func be(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// claim marks job id as taken by the caller for a change other than
// running it (dropping, expiring), so that no worker leases it meanwhile.
// It fails with ErrLeased while a live lease holds the job.
func (q *Queue) claim(id uint64) (uint64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if l := q.leases[id]; l != nil && (l.finishing || q.now().Before(l.until)) {
		return 0, ErrLeased
	}
	q.token++
	q.leases[id] = &lease{token: q.token, finishing: true}
	return q.token, nil
}

// finishing marks the lease that handed out j as committing its outcome. It
// fails with errNoLease when that lease is no longer j's: it expired and
// another worker leased the job, or the job's outcome is already recorded.
func (q *Queue) finishing(id, token uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.leases[id]
	if l == nil || l.token != token || l.finishing {
		return errNoLease
	}
	l.finishing = true
	return nil
}

// release ends the lease or claim with the token, if it is still the
// job's. Called only after the outcome is committed: a lease scan that
// started before the commit must still see the job as taken.
func (q *Queue) release(id, token uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if l := q.leases[id]; l != nil && l.token == token {
		delete(q.leases, id)
	}
}

// leaseNext hands out the job that has waited longest among those ready to run
// (NextAt passed, not leased), for Options.Lease; ok is false when none is
// ready. The caller must then ack, retry or kill it; if it does none before
// the lease ends, the job may be leased again. leaseNext first sweeps: jobs
// whose deadline passed go to the dead list, and done keys older than
// Options.KeepDone are forgotten.
func (q *Queue) leaseNext(ctx context.Context) (j Job, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return Job{}, false, err
	}
	now := q.now()
	if _, err := q.sweep(now); err != nil {
		return Job{}, false, err
	}
	j, ok, _, err = q.lease(now)
	return j, ok, err
}

// earliest is the earlier of two wake-up times, zero meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sweep moves jobs whose deadline passed to the dead list and forgets done
// keys older than KeepDone. It returns when the next deadline falls (zero:
// none), for Run to wake then even while it sends nothing.
func (q *Queue) sweep(now time.Time) (next time.Time, err error) {
	ns := now.UnixNano()
	var expired, claims []uint64
	q.mu.Lock()
	for _, s := range q.idx.deadline {
		if s.t > ns {
			next = time.Unix(0, s.t)
			break
		}
		if len(expired) == maxGroup {
			next = now // more to expire: at once
			break
		}
		if q.leases[s.id] != nil {
			continue // the running handler's outcome decides
		}
		q.token++
		q.leases[s.id] = &lease{token: q.token, finishing: true}
		expired, claims = append(expired, s.id), append(claims, q.token)
	}
	purge := q.idx.anyDone && q.idx.oldestDone < ns-int64(q.opts.KeepDone)
	q.mu.Unlock()
	if len(expired) > 0 {
		err = errors.Join(err, q.expire(expired, claims, now))
	}
	if purge && err == nil {
		err = q.purge(now)
	}
	return next, err
}

// lease is leaseNext without the sweep; when no job is ready it says when to
// look again (zero: not before something is enqueued or retried).
func (q *Queue) lease(now time.Time) (j Job, ok bool, wake time.Time, err error) {
	ns := now.UnixNano()
	// The lock is held across the read transaction so that a lease ended
	// by a commit this snapshot predates still counts as taken here, and
	// the index does not change under the loop. Ops never take the lock
	// inside a transaction, so this cannot deadlock.
	q.mu.Lock()
	defer q.mu.Unlock()
	err = q.db.View(func(tx *bbolt.Tx) error {
		s := open(tx)
		for _, sl := range q.idx.ready {
			t, id := sl.t, sl.id
			if t > ns {
				wake = earliest(wake, time.Unix(0, t))
				return nil
			}
			if l := q.leases[id]; l != nil && (l.finishing || now.Before(l.until)) {
				if !l.finishing {
					wake = earliest(wake, l.until)
				}
				continue
			}
			r, _, found, err := s.pending(id)
			if err != nil {
				return err
			}
			if !found || r.Deadline <= ns {
				continue // past its deadline: the next sweep takes it
			}
			q.token++
			q.leases[id] = &lease{token: q.token, until: now.Add(q.opts.Lease)}
			j, ok = r.job(id, StateRunning), true
			j.lease = q.token
			return nil
		}
		return nil
	})
	if err != nil {
		return Job{}, false, time.Time{}, fmt.Errorf("lease job: %w", err)
	}
	if ok {
		wake = time.Time{}
	}
	return j, ok, wake, nil
}

// expire moves jobs whose deadline passed to the dead list (or deletes
// them, if their kind is discarded).
func (q *Queue) expire(ids, claims []uint64, now time.Time) error {
	var died []event.Dead
	err := q.c.do(&op{apply: func(s *txn) error {
		died = died[:0]
		for _, id := range ids {
			r, size, ok, err := s.pending(id)
			if err != nil || !ok || r.Deadline > now.UnixNano() {
				continue // an unreadable record is left for Pending to report
			}
			reason := "deadline passed"
			if r.LastError != "" {
				reason = fmt.Sprintf("deadline passed after %d attempts; last error: %s", r.Attempts, r.LastError)
			}
			if err := s.kill(id, &r, size, reason, q.opts.Discard(r.Kind)); err != nil {
				return err
			}
			died = append(died, deadEvent(now, formatID(id), &r, reason))
		}
		return nil
	}})
	for i, id := range ids {
		q.release(id, claims[i])
	}
	if err != nil {
		return fmt.Errorf("expire jobs: %w", err)
	}
	for _, d := range died {
		q.publish(d)
	}
	return nil
}

// purge forgets the keys of jobs done longer than KeepDone ago, a group at
// a time.
func (q *Queue) purge(now time.Time) error {
	cutoff := now.Add(-q.opts.KeepDone).UnixNano()
	err := q.c.do(&op{apply: func(s *txn) error {
		var old [][]byte
		c := s.done.Cursor()
		for k, _ := c.First(); k != nil && len(old) < maxGroup && int64(be(k[:8])) < cutoff; k, _ = c.Next() {
			old = append(old, append([]byte(nil), k...))
		}
		for _, k := range old {
			if err := s.done.Delete(k); err != nil {
				return err
			}
			key := k[8:]
			if ref, ok := decodeKeyRef(s.keys.Get(key)); ok && ref.done && ref.doneAt == int64(be(k[:8])) {
				if err := s.keys.Delete(key); err != nil {
					return err
				}
			}
		}
		s.d.purged, s.d.anyLeft = true, false
		if k, _ := s.done.Cursor().First(); k != nil {
			s.d.oldestLeft, s.d.anyLeft = int64(be(k[:8])), true
		}
		return nil
	}})
	if err != nil {
		return fmt.Errorf("purge done keys: %w", err)
	}
	return nil
}

// ack records that j's work is done: the job is deleted and its key
// remembered for KeepDone. Like every change, it waits for the commit once
// begun; ctx only stops it from beginning. It is never run again, even if its lease had
// expired and another worker holds it now (that worker's outcome is then
// ignored). Acking a job that is gone already is not an error.
func (q *Queue) ack(ctx context.Context, j Job) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ack job %s: %w", j.ID, err)
	}
	id, err := parseID(j.ID)
	if err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	_ = q.finishing(id, j.lease) // a stale lease still acks: the work was done
	defer q.release(id, j.lease)
	now := q.now().UnixNano()
	err = q.c.do(&op{apply: func(s *txn) error {
		r, size, ok, err := s.pending(id)
		if err != nil {
			return reject(err)
		}
		if !ok {
			return nil
		}
		if err := s.removePending(id, &r); err != nil {
			return err
		}
		s.adjust(-1, 0, -int64(size))
		if n, ok := s.liveKey(r.Key); !ok || n != id {
			return nil
		}
		return s.remember(r.Key, id, r.Kind, now)
	}})
	if err != nil {
		return fmt.Errorf("ack job %s: %w", j.ID, err)
	}
	return nil
}

// retry records that j's run failed with cause and schedules the next run
// after a backoff: a wait drawn uniformly from [0, min(MaxDelay,
// BaseDelay·2^(attempts-1))), cut to end by the time a cause implementing
// RetryBy gives. If the wait would end past the job's deadline the job dies
// instead. It emits event.Queued or event.Dead.
func (q *Queue) retry(ctx context.Context, j Job, cause error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("retry job %s: %w", j.ID, err)
	}
	id, err := parseID(j.ID)
	if err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	if err := q.finishing(id, j.lease); err != nil {
		return fmt.Errorf("retry job %s: %w", j.ID, err)
	}
	now := q.now()
	u := rand.Float64() // drawn once: the op may run again and must decide the same
	reason := "unknown error"
	if cause != nil {
		reason = cause.Error()
	}
	var by time.Time
	if rb := RetryBy(nil); errors.As(cause, &rb) {
		by = rb.RetryBy()
	}
	var ev event.Event
	err = q.c.do(&op{apply: func(s *txn) error {
		r, size, ok, err := s.pending(id)
		if err != nil {
			return reject(err)
		}
		if !ok {
			return reject(fmt.Errorf("job %s: %w", j.ID, ErrNotFound))
		}
		r.Attempts++
		next := now.Add(q.backoff(r.Attempts, u))
		if !by.IsZero() && next.After(by) {
			next = by
			if next.Before(now) {
				next = now
			}
		}
		if next.UnixNano() > r.Deadline {
			why := fmt.Sprintf("deadline %s passed after %d attempts; last error: %s",
				time.Unix(0, r.Deadline).Format(time.RFC3339), r.Attempts, reason)
			ev = deadEvent(now, j.ID, &r, why)
			return s.kill(id, &r, size, why, q.opts.Discard(r.Kind))
		}
		s.index(&s.idx.ready, slot{r.NextAt, id}, false)
		r.NextAt, r.LastError = next.UnixNano(), reason
		v := r.encode()
		if err := s.jobs.Put(u64(id), v); err != nil {
			return err
		}
		s.index(&s.idx.ready, slot{r.NextAt, id}, true)
		ev = event.Queued{Stamp: event.Stamp{Time: now}, JobID: j.ID, Kind: r.Kind, SenceNo: r.Subject.SenceNo,
			TplID: r.Subject.TplID, SerialNumber: r.Subject.SerialNumber, Attempt: r.Attempts, NextAt: next, Reason: reason}
		s.adjust(0, 0, int64(len(v)-size))
		return nil
	}})
	q.release(id, j.lease)
	if err != nil {
		return fmt.Errorf("retry job %s: %w", j.ID, err)
	}
	q.publish(ev)
	q.signal()
	return nil
}

// kill moves j to the dead list with reason (or deletes it, if
// Options.Discard says so for its kind), and emits event.Dead.
func (q *Queue) kill(ctx context.Context, j Job, reason string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kill job %s: %w", j.ID, err)
	}
	id, err := parseID(j.ID)
	if err != nil {
		return fmt.Errorf("kill: %w", err)
	}
	if err := q.finishing(id, j.lease); err != nil {
		return fmt.Errorf("kill job %s: %w", j.ID, err)
	}
	var ev event.Dead
	err = q.c.do(&op{apply: func(s *txn) error {
		r, size, ok, err := s.pending(id)
		if err != nil {
			return reject(err)
		}
		if !ok {
			return reject(fmt.Errorf("job %s: %w", j.ID, ErrNotFound))
		}
		ev = deadEvent(q.now(), j.ID, &r, reason)
		return s.kill(id, &r, size, reason, q.opts.Discard(r.Kind))
	}})
	// Released before anyone hears of the death: a Drop or RetryDead
	// answering it must not find the job still running.
	q.release(id, j.lease)
	if err != nil {
		return fmt.Errorf("kill job %s: %w", j.ID, err)
	}
	q.publish(ev)
	return nil
}

// backoff is the wait before run attempt+1 for the jitter draw u in [0,1).
func (q *Queue) backoff(attempt int, u float64) time.Duration {
	return jitter(attempt, u, q.opts.BaseDelay, q.opts.MaxDelay)
}

// jitter is "full jitter": uniform in [0, min(ceil, base·2^(n-1))).
func jitter(n int, u float64, base, ceil time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < ceil; i++ {
		d *= 2
	}
	return time.Duration(u * float64(min(d, ceil)))
}

// deadEvent reports that the job of record r died, with its subject.
func deadEvent(now time.Time, id string, r *record, reason string) event.Dead {
	return event.Dead{Stamp: event.Stamp{Time: now}, JobID: id, Kind: r.Kind, SenceNo: r.Subject.SenceNo,
		TplID: r.Subject.TplID, SerialNumber: r.Subject.SerialNumber, Reason: reason}
}
