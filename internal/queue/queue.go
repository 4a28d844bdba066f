// Package queue is posagent's durable retry queue: follow-up work that failed
// for now (a decode retry within the payment code's life, a coupon to issue,
// a confirmation) waits in a bbolt database, survives a crash or a power cut,
// and goes out when the gateway can be reached again.
//
// Every change is on disk (fsynced) before the call that made it returns;
// concurrent changes share commits. A job is run at least once until it is
// acknowledged and never again after: a handler that succeeded but whose
// process died before the acknowledgement was written runs again, so
// handlers must send requests the gateway treats as idempotent (a fixed
// sence_no, a deterministic serialNumber). See docs/queue-and-recovery.md.
package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/dbfile"
	"posagent/internal/event"
)

// Errors the queue returns, wrapped with details; match with errors.Is.
var (
	// ErrFull: MaxJobs or MaxBytes would be exceeded; nothing was stored.
	ErrFull = errors.New("queue full")
	// ErrNotFound: no pending or dead job has that id.
	ErrNotFound = errors.New("no such job")
	// ErrNotDead: RetryDead was given a job that is pending, not dead.
	ErrNotDead = errors.New("job is not dead")
	// ErrLeased: the job is being run and cannot be dropped now.
	ErrLeased = errors.New("job is running")
	// ErrKept: the job is of a kind Options.Keep says may not be dropped.
	ErrKept = errors.New("job may not be dropped")
	// errNoLease: the lease a retry or kill was given under has ended (it
	// ran out and another worker took the job, or its outcome is recorded),
	// so this outcome is not recorded.
	errNoLease = errors.New("lease lost")
)

// Publisher receives the queue's events. *event.Bus satisfies it.
type Publisher interface {
	Publish(event.Event)
}

// Gateway is what the queue asks about the gateway's health
// (*gwhealth.Health): while it is down the queue runs one job at a time, as
// a probe. The handlers' gateway calls report to it, not to the queue.
type Gateway interface {
	Down() bool
	// Up returns a channel closed once the gateway is up.
	Up() <-chan struct{}
}

// The defaults of Options.
const (
	DefaultMaxJobs       = 10_000
	DefaultMaxBytes      = 64 << 20
	DefaultWorkers       = 4
	DefaultMaxInFlight   = 16
	DefaultLease         = time.Minute
	DefaultBaseDelay     = time.Second
	DefaultMaxDelay      = 5 * time.Minute
	DefaultMaxProbeDelay = 30 * time.Second
	DefaultTTL           = 24 * time.Hour
	DefaultKeepDone      = 24 * time.Hour
)

// Options tune a Queue. Zero fields take the Default of their name.
type Options struct {
	MaxJobs  int   // pending plus dead jobs
	MaxBytes int64 // their stored size
	// Workers is how many handlers run at once when the gateway is up;
	// while runs end well the number grows by one per run, up to
	// MaxInFlight, and a run that must be retried halves it (at least 1):
	// a queue draining after an outage keeps as many requests in flight as
	// the gateway answers well.
	Workers     int
	MaxInFlight int
	// MaxPerSecond caps how many handlers start per second (the app's QPS
	// quota at the gateway); 0: no cap.
	MaxPerSecond float64
	// Lease is how long a handler may run before its job may be given to
	// another worker; handlers get a context with this timeout.
	Lease time.Duration
	// Retry waits are drawn uniformly from [0, min(MaxDelay,
	// BaseDelay·2^(attempts-1))) ("full jitter").
	BaseDelay, MaxDelay time.Duration
	// MaxProbeDelay caps the wait between probes while the gateway is down.
	MaxProbeDelay time.Duration
	// TTL is the life of a job enqueued without a deadline.
	TTL time.Duration
	// KeepDone is how long the key of a done job is remembered, so that
	// enqueueing it again does not run the work again.
	KeepDone time.Duration
	Events   Publisher
	// Gateway says whether the gateway is down; nil: it never is.
	Gateway Gateway
	// Discard tells the kinds of job that must not outlive their work,
	// because their payload is sensitive (a decode retry holds a payment
	// code): such a job that dies is deleted, as Drop would, instead of
	// kept in the dead list, in the same commit; event.Dead still says it
	// ended and why. New deletes any found in the dead list (left by a
	// version without this option). Default: keep every kind.
	Discard func(kind string) bool
	// Keep tells the kinds of job that may not be dropped, and why (""
	// for a kind that may): a job whose end other state waits on (a
	// payment's cancel) would leave that state stranded. Drop refuses
	// them with ErrKept and the reason, and Enqueue stores them over
	// MaxJobs and MaxBytes (they count, but are never refused): a queue
	// full of coupons must not keep a payment from being cancelled.
	// Default: every kind may be dropped.
	Keep func(kind string) (why string)
	// Died is told of each job that died (its deadline passed, or its
	// handler failed for good), after the commit and before event.Dead
	// is published, on the goroutine that killed it: state that must
	// follow a death is not left to a subscriber that may miss the event.
	// A crash between the commit and Died loses the call.
	Died func(event.Dead)
	// Dropped is told of each job Drop deleted, so that the staff action
	// is logged with what it removed (default: nothing).
	Dropped func(Job)
	// Quarantined is told of each damaged record New moves aside
	// (default: nothing).
	Quarantined func(error)
	// Now is the queue's clock, default time.Now; Run waits on real
	// timers (tests run it in a testing/synctest bubble).
	Now func() time.Time
}

func (o *Options) defaults() error {
	def := func(d *time.Duration, v time.Duration, name string) error {
		if *d < 0 {
			return fmt.Errorf("queue options: %s %v is negative", name, *d)
		}
		if *d == 0 {
			*d = v
		}
		return nil
	}
	if o.MaxJobs < 0 || o.MaxBytes < 0 || o.Workers < 0 || o.MaxInFlight < 0 || o.MaxPerSecond < 0 {
		return fmt.Errorf("queue options: MaxJobs %d, MaxBytes %d, Workers %d, MaxInFlight %d, MaxPerSecond %v: none may be negative",
			o.MaxJobs, o.MaxBytes, o.Workers, o.MaxInFlight, o.MaxPerSecond)
	}
	if o.MaxJobs == 0 {
		o.MaxJobs = DefaultMaxJobs
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Workers == 0 {
		o.Workers = min(DefaultWorkers, o.MaxInFlight)
	}
	if o.Workers > o.MaxInFlight {
		return fmt.Errorf("queue options: Workers %d is more than MaxInFlight %d", o.Workers, o.MaxInFlight)
	}
	for _, d := range []struct {
		d    *time.Duration
		v    time.Duration
		name string
	}{
		{&o.Lease, DefaultLease, "Lease"},
		{&o.BaseDelay, DefaultBaseDelay, "BaseDelay"},
		{&o.MaxDelay, DefaultMaxDelay, "MaxDelay"},
		{&o.MaxProbeDelay, DefaultMaxProbeDelay, "MaxProbeDelay"},
		{&o.TTL, DefaultTTL, "TTL"},
		{&o.KeepDone, DefaultKeepDone, "KeepDone"},
	} {
		if err := def(d.d, d.v, d.name); err != nil {
			return err
		}
	}
	if o.MaxDelay < o.BaseDelay {
		return fmt.Errorf("queue options: MaxDelay %v is shorter than BaseDelay %v", o.MaxDelay, o.BaseDelay)
	}
	if o.Gateway == nil {
		o.Gateway = alwaysUp{}
	}
	if o.Discard == nil {
		o.Discard = func(string) bool { return false }
	}
	if o.Quarantined == nil {
		o.Quarantined = func(error) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// State is where a job is.
type State string

const (
	StatePending State = "pending" // waiting for NextAt
	StateRunning State = "running" // leased to a handler
	StateDead    State = "dead"    // will not run again unless retried by hand
	StateDone    State = "done"    // acknowledged; only its key is remembered
)

// Job is one piece of work.
type Job struct {
	ID      string // assigned by Enqueue
	Kind    string // selects the Handler
	Key     string // idempotency key: one job per key; empty for none
	Payload []byte
	// Attempts counts failed runs so far.
	Attempts int
	// NextAt is when the job may run next (Enqueue: zero means now).
	NextAt time.Time
	// Deadline is when it dies if still not done (Enqueue: zero means
	// Options.TTL from now).
	Deadline time.Time
	Created  time.Time
	// LastError is why the last run failed; for a dead job, why it died.
	LastError string
	// Subject names the customer (and coupon) the job is for. The enqueuer
	// sets it; the queue stores it and copies it into the job's queued and
	// dead events, so a client joins them to the customer without the queue
	// reading payloads.
	Subject event.Subject
	State   State

	lease uint64 // token of the lease this copy was handed out under
}

// Limits of a job's fields.
const (
	MaxKindLen = 64
	MaxKeyLen  = 512
)

// Queue is a durable job queue in a bbolt database shared with other state.
// Its methods are safe for concurrent use.
type Queue struct {
	db   *bbolt.DB
	opts Options
	c    committer

	mu     sync.Mutex // guards leases and token, and idx for all but the committer's leader
	leases map[uint64]*lease
	token  uint64
	idx    *index

	hmu      sync.RWMutex
	handlers map[string]Handler

	wake    chan struct{} // a job may have become ready: Run looks again
	running atomic.Bool
}

// lease is a job handed to a worker. Leases live in memory only: the file
// lock means no other process can hold one, so after a crash every job is
// free at once and nothing needs writing to hand a job out.
type lease struct {
	token uint64
	until time.Time
	// finishing: the job's outcome is being committed (or it is being
	// dropped or expired); nobody may lease it even if until has passed.
	finishing bool
}

// New returns a queue keeping its jobs in db, creating its buckets if
// needed, and reads every stored job once to index them in memory. A
// record that fails its checksum or cannot be read is moved aside to a
// quarantine bucket, never run, and reported to Options.Quarantined.
// Only one Queue may use a database at a time. Call Run to have handlers
// work the jobs.
func New(db *bbolt.DB, opts Options) (*Queue, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	var damaged []error
	err := db.Update(func(tx *bbolt.Tx) (err error) {
		if err := createBuckets(tx); err != nil {
			return err
		}
		if damaged, err = quarantine(tx); err != nil {
			return err
		}
		return discardDead(tx, opts.Discard)
	})
	if err != nil {
		return nil, fmt.Errorf("queue database %s: %w", db.Path(), err)
	}
	for _, err := range damaged {
		opts.Quarantined(err)
	}
	var idx *index
	err = db.View(func(tx *bbolt.Tx) (err error) {
		idx, err = loadIndex(tx)
		return err
	})
	if err != nil {
		return nil, dbfile.Damaged(db.Path(), err)
	}
	q := &Queue{
		db:       db,
		opts:     opts,
		leases:   make(map[uint64]*lease),
		idx:      idx,
		handlers: make(map[string]Handler),
		wake:     make(chan struct{}, 1),
	}
	q.c = committer{db: db, idx: idx, idxMu: &q.mu}
	return q, nil
}

// discardDead deletes the dead jobs of the kinds discard names. Keys of
// dead jobs live only in their records, so nothing else changes. An
// unreadable record is left for loadIndex to report.
func discardDead(tx *bbolt.Tx, discard func(string) bool) error {
	dead := tx.Bucket(bucketDead)
	var gone [][]byte
	err := dead.ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return nil
		}
		if r, err := decodeRecord(be(k), v); err == nil && discard(r.Kind) {
			gone = append(gone, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range gone {
		if err := dead.Delete(k); err != nil {
			return fmt.Errorf("discard dead job %d: %w", be(k), err)
		}
	}
	return nil
}

func (q *Queue) now() time.Time { return q.opts.Now() }

func (q *Queue) publish(e event.Event) {
	if d, ok := e.(event.Dead); ok && q.opts.Died != nil {
		q.opts.Died(d)
	}
	if q.opts.Events != nil {
		q.opts.Events.Publish(e)
	}
}

// signal tells Run that a job may be ready.
func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Enqueue stores j and returns it with its ID, once it is on disk. If a job
// with j.Key exists (pending, running, dead, or done within KeepDone) that
// job is returned instead and nothing is stored; its State says which.
//
// ctx bounds only the wait before the job is handed to the disk: once it is,
// Enqueue waits for the commit, so a returned error means the job is not
// stored (ErrFull, or the disk's error, e.g. no space left).
func (q *Queue) Enqueue(ctx context.Context, j Job) (Job, error) {
	out, err := q.EnqueueAll(ctx, []Job{j})
	if err != nil {
		return Job{}, err
	}
	return out[0], nil
}

// EnqueueAll stores js in one commit, as Enqueue stores one job: all of
// them or, on an error, none. The work of one event (the coupons of one
// customer) is durable at once, for one disk sync.
func (q *Queue) EnqueueAll(ctx context.Context, js []Job) ([]Job, error) {
	if len(js) == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("enqueue %s job: %w", js[0].Kind, err)
	}
	rs := make([]record, len(js))
	vs := make([][]byte, len(js))
	for i, j := range js {
		r, v, err := q.prepare(j)
		if err != nil {
			return nil, err
		}
		rs[i], vs[i] = r, v
	}
	out := make([]Job, len(js))
	stored := make([]bool, len(js))
	err := q.c.do(&op{apply: func(s *txn) error {
		// Limits first, for all: a rejection must come before any write.
		jobs, dead, bytes := s.counts()
		var adding, size int64
		for i, r := range rs {
			if q.opts.Keep != nil && q.opts.Keep(r.Kind) != "" {
				continue // kept: over the limits (Options.Keep)
			}
			if r.Key != "" {
				if _, ok, err := s.byKey(r.Key); err != nil {
					return reject(err)
				} else if ok || slices.ContainsFunc(rs[:i], func(o record) bool { return o.Key == r.Key }) {
					continue
				}
			}
			adding, size = adding+1, size+int64(len(vs[i]))
		}
		if adding > 0 && jobs+dead+adding > int64(q.opts.MaxJobs) {
			return reject(fmt.Errorf("%w: %d jobs waiting and %d dead, the limit is %d; drop dead jobs (posagent queue) or wait for the gateway",
				ErrFull, jobs, dead, q.opts.MaxJobs))
		}
		if size > 0 && bytes+size > q.opts.MaxBytes {
			return reject(fmt.Errorf("%w: jobs take %d bytes, these %d more, the limit is %d; drop dead jobs (posagent queue) or wait for the gateway",
				ErrFull, bytes, size, q.opts.MaxBytes))
		}
		for i := range rs {
			r, v := &rs[i], vs[i]
			out[i], stored[i] = Job{}, false
			if r.Key != "" {
				old, ok, err := s.byKey(r.Key)
				if err != nil {
					return err
				}
				if ok {
					out[i] = old
					continue
				}
			}
			id, err := s.jobs.NextSequence()
			if err != nil {
				return err
			}
			if err := s.putPending(id, r, v); err != nil {
				return err
			}
			if r.Key != "" {
				s.setKey(r.Key, id)
			}
			s.adjust(+1, 0, int64(len(v)))
			out[i], stored[i] = r.job(id, StatePending), true
			out[i].Payload = slices.Clone(js[i].Payload)
		}
		return nil
	}})
	if err != nil {
		return nil, fmt.Errorf("enqueue %s job: %w", js[0].Kind, err)
	}
	for i := range out {
		if stored[i] {
			q.signal()
		} else if out[i].State == StatePending {
			out[i].State = q.state(out[i].ID)
		}
	}
	return out, nil
}

// prepare checks j and returns its record as Enqueue stores it.
func (q *Queue) prepare(j Job) (record, []byte, error) {
	if err := validate(j); err != nil {
		return record{}, nil, err
	}
	now := q.now()
	r := record{Kind: j.Kind, Key: j.Key, Payload: j.Payload, Subject: j.Subject, Created: now.UnixNano(),
		NextAt: now.UnixNano(), Deadline: now.Add(q.opts.TTL).UnixNano()}
	if !j.NextAt.IsZero() {
		r.NextAt = j.NextAt.UnixNano()
	}
	if !j.Deadline.IsZero() {
		r.Deadline = j.Deadline.UnixNano()
	}
	if r.Deadline <= now.UnixNano() {
		return record{}, nil, fmt.Errorf("enqueue %s job: deadline %s already passed", j.Kind, j.Deadline.Format(time.RFC3339))
	}
	if r.NextAt > r.Deadline {
		return record{}, nil, fmt.Errorf("enqueue %s job: next attempt %s is after its deadline %s",
			j.Kind, j.NextAt.Format(time.RFC3339), time.Unix(0, r.Deadline).Format(time.RFC3339))
	}
	v := r.encode()
	if int64(len(v)) > q.opts.MaxBytes {
		return record{}, nil, fmt.Errorf("enqueue %s job: %w: the job takes %d bytes, more than the whole queue may (%d)",
			j.Kind, ErrFull, len(v), q.opts.MaxBytes)
	}
	return r, v, nil
}

// state tells a pending job that is leased (running) from one that waits.
func (q *Queue) state(id string) State {
	n, err := parseID(id)
	if err != nil {
		return StatePending
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.leases[n] != nil {
		return StateRunning
	}
	return StatePending
}

func validate(j Job) error {
	switch {
	case j.Kind == "":
		return errors.New("enqueue: job has no kind")
	case len(j.Kind) > MaxKindLen:
		return fmt.Errorf("enqueue: kind %.20q… is %d bytes, the limit is %d", j.Kind, len(j.Kind), MaxKindLen)
	case len(j.Key) > MaxKeyLen:
		return fmt.Errorf("enqueue %s job: key %.20q… is %d bytes, the limit is %d", j.Kind, j.Key, len(j.Key), MaxKeyLen)
	}
	return nil
}

// Pending returns the jobs waiting or running, oldest first.
func (q *Queue) Pending() ([]Job, error) {
	return q.list(bucketJobs, StatePending)
}

// Dead returns the dead jobs, oldest first; LastError says why each died.
func (q *Queue) Dead() ([]Job, error) {
	return q.list(bucketDead, StateDead)
}

// Read returns the pending and the dead jobs in db, each oldest first, and
// the number of quarantined records, for a look at the queue of a database
// opened read-only: unlike New it writes nothing, and a database without a
// queue has no jobs.
func Read(db *bbolt.DB) (pending, dead []Job, quarantined int, err error) {
	// Damaged records New has not moved aside yet count as quarantined:
	// they will be at the agent's next start.
	var damaged int
	if pending, err = list(db, bucketJobs, StatePending, &damaged); err != nil {
		return nil, nil, 0, err
	}
	if dead, err = list(db, bucketDead, StateDead, &damaged); err != nil {
		return nil, nil, 0, err
	}
	err = db.View(func(tx *bbolt.Tx) error {
		quarantined = countQuarantined(tx)
		return nil
	})
	return pending, dead, quarantined + damaged, err
}

// list reads a bucket in one short read transaction: a read transaction
// held open while jobs churn keeps bbolt from reusing pages and grows the
// file for good. An unreadable record is an error, or if damaged is not
// nil, counted there and skipped.
func list(db *bbolt.DB, bucket []byte, st State, damaged *int) ([]Job, error) {
	var out []Job
	err := db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			id := be(k)
			r, err := decodeRecord(id, v)
			if err != nil && damaged != nil {
				*damaged++
				return nil
			}
			if err != nil {
				return err
			}
			out = append(out, r.job(id, st))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	return out, nil
}

// list is the package's list, with the state of pending jobs as this
// queue sees them.
func (q *Queue) list(bucket []byte, st State) ([]Job, error) {
	out, err := list(q.db, bucket, st, nil)
	if err != nil {
		return nil, err
	}

	if st == StatePending {
		for i := range out {
			out[i].State = q.state(out[i].ID)
		}
	}
	return out, nil
}

// Stats counts pending (including running) and dead jobs. It reads no
// file: the counts are kept in memory.
func (q *Queue) Stats() (pending, dead int, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return int(q.idx.jobs), int(q.idx.dead), nil
}

// RetryDead puts a dead job back in line to run now, with its attempts
// reset and a fresh deadline as far away as its first one was from its
// creation (a decode retry gets its minute again, a coupon its hours).
func (q *Queue) RetryDead(id string) error {
	n, err := parseID(id)
	if err != nil {
		return fmt.Errorf("retry dead job: %w", err)
	}
	now := q.now().UnixNano()
	err = q.c.do(&op{apply: func(s *txn) error {
		v := s.dead.Get(u64(n))
		if v == nil {
			if s.jobs.Get(u64(n)) != nil {
				return reject(fmt.Errorf("job %s: %w", id, ErrNotDead))
			}
			return reject(fmt.Errorf("job %s: %w", id, ErrNotFound))
		}
		r, err := decodeRecord(n, v)
		if err != nil {
			return reject(err)
		}
		life := r.Deadline - r.Created
		if life <= 0 {
			life = int64(q.opts.TTL)
		}
		r.Attempts, r.NextAt, r.Deadline = 0, now, now+life
		nv := r.encode()
		if err := s.dead.Delete(u64(n)); err != nil {
			return err
		}
		if err := s.putPending(n, &r, nv); err != nil {
			return err
		}
		s.adjust(+1, -1, int64(len(nv)-len(v)))
		return nil
	}})
	if err != nil {
		return fmt.Errorf("retry dead job: %w", err)
	}
	q.signal()
	return nil
}

// Drop deletes a dead or pending job for good. A running job cannot be
// dropped (ErrLeased). Its key is forgotten, so the same work may be
// enqueued again.
func (q *Queue) Drop(id string) error {
	n, err := parseID(id)
	if err != nil {
		return fmt.Errorf("drop job: %w", err)
	}
	token, err := q.claim(n)
	if err != nil {
		return fmt.Errorf("drop job %s: %w", id, err)
	}
	defer q.release(n, token)
	var dropped Job
	err = q.c.do(&op{apply: func(s *txn) error {
		var (
			r    record
			size int
			ok   bool
			err  error
		)
		if v := s.dead.Get(u64(n)); v != nil {
			if r, err = decodeRecord(n, v); err != nil {
				return reject(err)
			}
			if err := q.kept(id, r.Kind); err != nil {
				return reject(err)
			}
			if err := s.dead.Delete(u64(n)); err != nil {
				return err
			}
			s.adjust(0, -1, -int64(len(v)))
			dropped = r.job(n, StateDead)
		} else {
			if r, size, ok, err = s.pending(n); err != nil {
				return reject(err)
			}
			if !ok {
				return reject(fmt.Errorf("job %s: %w", id, ErrNotFound))
			}
			if err := q.kept(id, r.Kind); err != nil {
				return reject(err)
			}
			if err := s.removePending(n, &r); err != nil {
				return err
			}
			s.adjust(-1, 0, -int64(size))
			dropped = r.job(n, StatePending)
		}
		s.dropKey(r.Key, n)
		return nil
	}})
	if err != nil {
		return fmt.Errorf("drop job: %w", err)
	}
	if q.opts.Dropped != nil {
		q.opts.Dropped(dropped)
	}
	return nil
}

// kept is the refusal to drop job id of kind, if Options.Keep keeps it.
func (q *Queue) kept(id, kind string) error {
	if q.opts.Keep == nil {
		return nil
	}
	if why := q.opts.Keep(kind); why != "" {
		return fmt.Errorf("job %s (%s): %w: %s", id, kind, ErrKept, why)
	}
	return nil
}

// alwaysUp is the Gateway of a queue given none.
type alwaysUp struct{}

func (alwaysUp) Down() bool { return false }

// Up is closed: the gateway is always up.
func (alwaysUp) Up() <-chan struct{} { return closedChan }

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()
