package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"posagent/internal/dbfile"
	"posagent/internal/event"
	"posagent/internal/event/eventtest"
)

var ctx = context.Background()

func mustEnqueue(t testing.TB, q *Queue, j Job) Job {
	t.Helper()
	got, err := q.Enqueue(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func mustLease(t testing.TB, q *Queue) Job {
	t.Helper()
	j, ok, err := q.leaseNext(ctx)
	if err != nil || !ok {
		t.Fatalf("Lease = %v, %v; want a job", ok, err)
	}
	return j
}

func noLease(t testing.TB, q *Queue) {
	t.Helper()
	j, ok, err := q.leaseNext(ctx)
	if err != nil || ok {
		t.Fatalf("Lease = %+v, %v, %v; want nothing ready", j, ok, err)
	}
}

func TestEnqueueLeaseAck(t *testing.T) {
	q, clock, _ := newTestQueue(t, Options{})
	a := mustEnqueue(t, q, Job{Kind: "coupon", Payload: []byte("a")})
	b := mustEnqueue(t, q, Job{Kind: "coupon", Payload: []byte("b"), NextAt: clock.Now().Add(time.Minute)})
	c := mustEnqueue(t, q, Job{Kind: "decode", Payload: []byte("c")})
	if a.ID == b.ID || b.ID == c.ID || a.State != StatePending || !a.Created.Equal(clock.Now()) {
		t.Fatalf("enqueued %+v %+v %+v", a, b, c)
	}
	if !a.Deadline.Equal(clock.Now().Add(24 * time.Hour)) {
		t.Errorf("default deadline %v, want 24h after %v", a.Deadline, clock.Now())
	}

	// Ready jobs come in NextAt order; b waits a minute.
	l1, l2 := mustLease(t, q), mustLease(t, q)
	if l1.ID != a.ID || l2.ID != c.ID || string(l2.Payload) != "c" || l1.State != StateRunning {
		t.Fatalf("leased %s, %s; want %s, %s", l1.ID, l2.ID, a.ID, c.ID)
	}
	noLease(t, q)
	pending, _ := q.Pending()
	states := map[string]State{}
	for _, j := range pending {
		states[j.ID] = j.State
	}
	if want := map[string]State{a.ID: StateRunning, b.ID: StatePending, c.ID: StateRunning}; !maps(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}

	if err := q.ack(ctx, l1); err != nil {
		t.Fatal(err)
	}
	if err := q.ack(ctx, l2); err != nil {
		t.Fatal(err)
	}
	if p, d, err := q.Stats(); p != 1 || d != 0 || err != nil {
		t.Errorf("Stats = %d, %d, %v; want 1, 0", p, d, err)
	}
	clock.Advance(time.Minute)
	if l := mustLease(t, q); l.ID != b.ID {
		t.Errorf("leased %s, want %s", l.ID, b.ID)
	}
	checkConsistent(t, q)
}

func maps[K, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestEnqueueInvalid(t *testing.T) {
	q, clock, _ := newTestQueue(t, Options{})
	for _, tc := range []struct {
		name string
		job  Job
		want string
	}{
		{"no kind", Job{}, "no kind"},
		{"long kind", Job{Kind: strings.Repeat("k", MaxKindLen+1)}, "the limit is 64"},
		{"long key", Job{Kind: "k", Key: strings.Repeat("x", MaxKeyLen+1)}, "the limit is 512"},
		{"past deadline", Job{Kind: "k", Deadline: clock.Now()}, "already passed"},
		{"next after deadline", Job{Kind: "k", NextAt: clock.Now().Add(2 * time.Hour), Deadline: clock.Now().Add(time.Hour)}, "after its deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := q.Enqueue(ctx, tc.job)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Enqueue error %v, want one saying %q", err, tc.want)
			}
		})
	}
	if p, _, _ := q.Stats(); p != 0 {
		t.Errorf("%d jobs stored after refusals", p)
	}
}

// Same key, one job: while pending, while dead, once done (within
// KeepDone), and across a reopen of the file. After KeepDone the key is
// free again.
func TestIdempotencyKeyAcrossRestart(t *testing.T) {
	db, path := tempDB(t)
	clock := newClock()
	opts := Options{Now: clock.Now, KeepDone: time.Hour}
	q, err := New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	first := mustEnqueue(t, q, Job{Kind: "coupon", Key: "serial-1", Payload: []byte("one")})
	again := mustEnqueue(t, q, Job{Kind: "coupon", Key: "serial-1", Payload: []byte("two")})
	if again.ID != first.ID || string(again.Payload) != "one" || again.State != StatePending {
		t.Fatalf("second enqueue returned %+v, want the first job %+v", again, first)
	}
	if l := mustLease(t, q); l.ID != first.ID {
		t.Fatalf("leased %s, want %s", l.ID, first.ID)
	} else if got := mustEnqueue(t, q, Job{Kind: "coupon", Key: "serial-1"}); got.State != StateRunning {
		t.Errorf("key of a running job gave state %s", got.State)
	} else if err := q.retry(ctx, l, errors.New("later")); err != nil {
		t.Fatal(err)
	}
	dead := mustEnqueue(t, q, Job{Kind: "coupon", Key: "serial-2"})
	done := mustEnqueue(t, q, Job{Kind: "coupon", Key: "serial-3"})
	for range 2 {
		j := mustLease(t, q)
		switch j.ID {
		case dead.ID:
			if err := q.kill(ctx, j, "refused"); err != nil {
				t.Fatal(err)
			}
		case done.ID:
			if err := q.ack(ctx, j); err != nil {
				t.Fatal(err)
			}
		default:
			if err := q.retry(ctx, j, errors.New("later")); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Restart: close the file and open it again.
	db.Close()
	db, err = dbfile.Open(path, dbfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if q, err = New(db, opts); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key   string
		id    string
		state State
	}{
		{"serial-1", first.ID, StatePending},
		{"serial-2", dead.ID, StateDead},
		{"serial-3", done.ID, StateDone},
	} {
		got := mustEnqueue(t, q, Job{Kind: "coupon", Key: tc.key})
		if got.ID != tc.id || got.State != tc.state {
			t.Errorf("after restart, key %s gave job %s (%s), want %s (%s)", tc.key, got.ID, got.State, tc.id, tc.state)
		}
	}
	if p, d, _ := q.Stats(); p != 1 || d != 1 {
		t.Errorf("Stats = %d pending, %d dead; want 1, 1", p, d)
	}

	// A done key is forgotten after KeepDone (leaseNext purges).
	clock.Advance(time.Hour + time.Second)
	if _, _, err := q.leaseNext(ctx); err != nil {
		t.Fatal(err)
	}
	if fresh := mustEnqueue(t, q, Job{Kind: "coupon", Key: "serial-3"}); fresh.ID == done.ID || fresh.State != StatePending {
		t.Errorf("key serial-3 after KeepDone gave %+v, want a new job", fresh)
	}
	checkConsistent(t, q)
}

// A lease that is not acked returns the job after Options.Lease, and the
// outcome of the stale lease never runs an acked job again.
func TestLeaseExpiryAndStaleOutcome(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first func(q *Queue, stale, fresh Job) error // what happens first
		then  func(q *Queue, stale, fresh Job) error
		want  error // from then
	}{
		{
			name:  "stale holder acks, fresh holder retries",
			first: func(q *Queue, stale, _ Job) error { return q.ack(ctx, stale) },
			then:  func(q *Queue, _, fresh Job) error { return q.retry(ctx, fresh, errors.New("x")) },
			want:  ErrNotFound,
		},
		{
			name:  "fresh holder acks, stale holder retries",
			first: func(q *Queue, _, fresh Job) error { return q.ack(ctx, fresh) },
			then:  func(q *Queue, stale, _ Job) error { return q.retry(ctx, stale, errors.New("x")) },
			want:  errNoLease,
		},
		{
			name:  "fresh holder acks, stale holder kills",
			first: func(q *Queue, _, fresh Job) error { return q.ack(ctx, fresh) },
			then:  func(q *Queue, stale, _ Job) error { return q.kill(ctx, stale, "x") },
			want:  errNoLease,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, clock, _ := newTestQueue(t, Options{Lease: 30 * time.Second})
			j := mustEnqueue(t, q, Job{Kind: "k", Key: "once"})
			stale := mustLease(t, q)
			clock.Advance(29 * time.Second)
			noLease(t, q)
			clock.Advance(2 * time.Second)
			fresh := mustLease(t, q)
			if fresh.ID != j.ID {
				t.Fatalf("after the lease ran out got %s, want %s back", fresh.ID, j.ID)
			}
			if err := tc.first(q, stale, fresh); err != nil {
				t.Fatal(err)
			}
			if err := tc.then(q, stale, fresh); !errors.Is(err, tc.want) {
				t.Fatalf("outcome after ack: %v, want %v", err, tc.want)
			}
			clock.Advance(24 * time.Hour)
			noLease(t, q)
			if p, d, _ := q.Stats(); p != 0 || d != 0 {
				t.Errorf("Stats = %d, %d after ack; want nothing", p, d)
			}
			if got := mustEnqueue(t, q, Job{Kind: "k", Key: "once"}); got.State != StateDone {
				t.Errorf("key after ack: %s, want done", got.State)
			}
			checkConsistent(t, q)
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	base, ceil := 100*time.Millisecond, 3*time.Second
	for _, tc := range []struct {
		attempt int
		bound   time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{5, 1600 * time.Millisecond},
		{6, 3 * time.Second},
		{60, 3 * time.Second},
	} {
		lo, hi := tc.bound, time.Duration(0)
		for range 2000 {
			d := jitter(tc.attempt, rand.Float64(), base, ceil)
			if d < 0 || d >= tc.bound {
				t.Fatalf("attempt %d: wait %v outside [0, %v)", tc.attempt, d, tc.bound)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		// Full jitter spreads waits over the whole range.
		if lo > tc.bound/10 || hi < tc.bound*9/10 {
			t.Errorf("attempt %d: waits in [%v, %v], want spread over [0, %v)", tc.attempt, lo, hi, tc.bound)
		}
	}
}

// retry schedules within the backoff bound, counts attempts, emits Queued;
// a retry past the deadline kills the job with the reason.
func TestRetryBackoffAndDeadline(t *testing.T) {
	rec := &eventtest.Recorder{}
	q, clock, _ := newTestQueue(t, Options{BaseDelay: time.Second, MaxDelay: 8 * time.Second, Events: rec})
	j := mustEnqueue(t, q, Job{Kind: "decode", Deadline: clock.Now().Add(time.Minute)})
	bound := time.Second
	for attempt := 1; ; attempt++ {
		l := mustLease(t, q)
		start := clock.Now()
		if err := q.retry(ctx, l, fmt.Errorf("timeout %d", attempt)); err != nil {
			t.Fatal(err)
		}
		ev := rec.Last()
		if d, ok := ev.(event.Dead); ok {
			if !strings.Contains(d.Reason, "deadline") || !strings.Contains(d.Reason, fmt.Sprintf("timeout %d", attempt)) || d.JobID != j.ID {
				t.Errorf("dead event %+v", d)
			}
			break
		}
		qe := ev.(event.Queued)
		if wait := qe.NextAt.Sub(start); qe.Attempt != attempt || wait < 0 || wait >= bound || qe.Reason != fmt.Sprintf("timeout %d", attempt) {
			t.Fatalf("attempt %d: queued %+v (wait %v), want attempt %d within [0, %v)", attempt, qe, qe.NextAt.Sub(start), attempt, bound)
		}
		bound = min(2*bound, 8*time.Second)
		clock.Advance(qe.NextAt.Sub(start))
		if attempt > 100 {
			t.Fatal("a job with a one-minute deadline is still retried after 100 attempts")
		}
	}
	dead, _ := q.Dead()
	if len(dead) != 1 || dead[0].ID != j.ID || !strings.Contains(dead[0].LastError, "deadline") {
		t.Fatalf("Dead() = %+v", dead)
	}
	checkConsistent(t, q)
}

// A job whose deadline passes while it waits is moved to the dead list by
// the next leaseNext, with its last error in the reason.
func TestDeadlinePassesWhileWaiting(t *testing.T) {
	rec := &eventtest.Recorder{}
	q, clock, _ := newTestQueue(t, Options{BaseDelay: time.Hour, MaxDelay: time.Hour, Events: rec})
	j := mustEnqueue(t, q, Job{Kind: "decode", Deadline: clock.Now().Add(2 * time.Hour)})
	if err := q.retry(ctx, mustLease(t, q), errors.New("gateway timeout")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	noLease(t, q)
	d := rec.Wait(t, "dead", func(e event.Event) bool { _, ok := e.(event.Dead); return ok }).(event.Dead)
	if d.JobID != j.ID || !strings.Contains(d.Reason, "deadline passed after 1 attempts; last error: gateway timeout") {
		t.Errorf("dead event %+v", d)
	}
	if p, dn, _ := q.Stats(); p != 0 || dn != 1 {
		t.Errorf("Stats = %d, %d; want 0, 1", p, dn)
	}
	checkConsistent(t, q)
}

func TestRetryDeadAndDrop(t *testing.T) {
	q, clock, _ := newTestQueue(t, Options{})
	a := mustEnqueue(t, q, Job{Kind: "coupon", Key: "a", Deadline: clock.Now().Add(3 * time.Hour)})
	b := mustEnqueue(t, q, Job{Kind: "coupon", Key: "b"})
	c := mustEnqueue(t, q, Job{Kind: "coupon", Key: "c"})
	for _, j := range []Job{mustLease(t, q), mustLease(t, q)} {
		if err := q.kill(ctx, j, "TEMPLATE_NOT_EXIST"); err != nil {
			t.Fatal(err)
		}
	}
	dead, _ := q.Dead()
	if !slices.Equal(ids(dead), []string{a.ID, b.ID}) || dead[0].LastError != "TEMPLATE_NOT_EXIST" || dead[0].State != StateDead {
		t.Fatalf("Dead() = %+v", dead)
	}

	if err := q.Drop(c.ID); err != nil { // pending
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if err := q.RetryDead(a.ID); err != nil {
		t.Fatal(err)
	}
	l := mustLease(t, q)
	if l.ID != a.ID || l.Attempts != 0 || !l.Deadline.Equal(clock.Now().Add(3*time.Hour)) {
		t.Errorf("retried job %+v: want attempts 0, deadline 3h from now (%v)", l, clock.Now().Add(3*time.Hour))
	}
	if err := q.Drop(a.ID); !errors.Is(err, ErrLeased) {
		t.Errorf("Drop of a running job: %v, want ErrLeased", err)
	}
	if err := q.Drop(b.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"drop dropped", q.Drop(b.ID), ErrNotFound},
		{"retry dropped", q.RetryDead(b.ID), ErrNotFound},
		{"drop bad id", q.Drop("x"), ErrNotFound},
		{"retry bad id", q.RetryDead("0"), ErrNotFound},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if err := q.RetryDead(a.ID); err == nil || !strings.Contains(err.Error(), "not dead") {
		t.Errorf("RetryDead of a running job: %v", err)
	}
	// Dropping forgets the key: the work may be enqueued again.
	if again := mustEnqueue(t, q, Job{Kind: "coupon", Key: "b"}); again.ID == b.ID {
		t.Errorf("key of a dropped job still names it")
	}
	if p, d, _ := q.Stats(); p != 2 || d != 0 {
		t.Errorf("Stats = %d, %d; want 2 (a, b again), 0", p, d)
	}
	checkConsistent(t, q)
}

func TestFull(t *testing.T) {
	t.Run("jobs", func(t *testing.T) {
		q, _, _ := newTestQueue(t, Options{MaxJobs: 3})
		mustEnqueue(t, q, Job{Kind: "k"})
		mustEnqueue(t, q, Job{Kind: "k"})
		if err := q.kill(ctx, mustLease(t, q), "dead ones count"); err != nil {
			t.Fatal(err)
		}
		mustEnqueue(t, q, Job{Kind: "k", Key: "last"})
		_, err := q.Enqueue(ctx, Job{Kind: "k"})
		if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "2 jobs waiting and 1 dead, the limit is 3") {
			t.Fatalf("Enqueue into a full queue: %v", err)
		}
		// An existing key is not a new job: no error.
		if j, err := q.Enqueue(ctx, Job{Kind: "k", Key: "last"}); err != nil || j.State != StatePending {
			t.Errorf("re-enqueue of a stored key in a full queue: %+v, %v", j, err)
		}
		checkConsistent(t, q)
	})
	t.Run("bytes", func(t *testing.T) {
		q, _, _ := newTestQueue(t, Options{MaxBytes: 1000})
		mustEnqueue(t, q, Job{Kind: "k", Payload: make([]byte, 600)})
		_, err := q.Enqueue(ctx, Job{Kind: "k", Payload: make([]byte, 600)})
		if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "the limit is 1000") {
			t.Fatalf("Enqueue past MaxBytes: %v", err)
		}
		_, err = q.Enqueue(ctx, Job{Kind: "k", Payload: make([]byte, 2000)})
		if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "more than the whole queue may") {
			t.Fatalf("Enqueue of a job larger than MaxBytes: %v", err)
		}
	})
}

// A disk that fills up fails Enqueue with the disk's error; every job whose
// Enqueue returned nil is there. bbolt's MaxSize stands in for the disk.
func TestDiskFullIsAnEnqueueError(t *testing.T) {
	path := t.TempDir() + "/small.db"
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{MaxSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	var failure error
	for i := range 10_000 {
		j, err := q.Enqueue(ctx, Job{Kind: "k", Key: fmt.Sprint(i), Payload: make([]byte, 1000)})
		if err != nil {
			failure = err
			break
		}
		stored = append(stored, j.ID)
	}
	if !errors.Is(failure, berrors.ErrMaxSizeReached) {
		t.Fatalf("filling the disk: %v after %d jobs, want ErrMaxSizeReached", failure, len(stored))
	}
	pending, err := q.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(pending), stored) {
		t.Errorf("after the disk filled, %d jobs stored, %d enqueues returned", len(pending), len(stored))
	}
	checkConsistent(t, q)
}

// Jobs that come and go do not grow the file: done jobs are deleted at
// once, their keys after KeepDone, and no read transaction is held across
// commits, so bbolt reuses the pages.
func TestChurnKeepsFileSize(t *testing.T) {
	q, clock, db := newTestQueue(t, Options{KeepDone: time.Minute})
	payload := make([]byte, 500)
	n := 0
	churn := func(rounds int) int64 {
		for range rounds {
			var wg sync.WaitGroup
			for range 50 {
				n++
				key := fmt.Sprint(n)
				wg.Go(func() {
					if _, err := q.Enqueue(ctx, Job{Kind: "coupon", Key: key, Payload: payload}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			for {
				j, ok, err := q.leaseNext(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				if err := q.ack(ctx, j); err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(20 * time.Second) // keys are forgotten three rounds later
		}
		info, err := os.Stat(db.Path())
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	warm := churn(15)
	after := churn(30)
	t.Logf("file %d bytes after 750 jobs, %d after 1,500 more", warm, after)
	if after > warm {
		t.Errorf("file grew from %d to %d bytes over 1,500 more jobs that came and went", warm, after)
	}
	var keys int
	db.View(func(tx *bbolt.Tx) error { keys = tx.Bucket(bucketKeys).Stats().KeyN; return nil })
	if keys > 4*50 {
		t.Errorf("%d keys remembered; KeepDone should have let all but the last few rounds' go", keys)
	}
	checkConsistent(t, q)
}

// The index kept in memory (due order, deadlines, live keys, counts, the
// oldest done key) is rebuilt at open exactly as it was before the close,
// and the reopened queue behaves the same: the same job is due first.
func TestIndexRebuiltAtOpen(t *testing.T) {
	db, path := tempDB(t)
	clock := newClock()
	opts := Options{Now: clock.Now, BaseDelay: time.Minute, MaxDelay: time.Hour}
	q, err := New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	var jobs []Job
	for i := range 12 {
		j := Job{Kind: "coupon", Payload: []byte{byte(i)},
			NextAt:   now.Add(time.Duration(11-i) * time.Second), // due in reverse order
			Deadline: now.Add(time.Duration(1+i%5) * time.Hour)}
		if i%3 != 0 {
			j.Key = fmt.Sprintf("serial-%d", i)
		}
		jobs = append(jobs, mustEnqueue(t, q, j))
	}
	clock.Advance(time.Minute)
	for i, j := range []Job{mustLease(t, q), mustLease(t, q), mustLease(t, q), mustLease(t, q), mustLease(t, q)} {
		switch i {
		case 0, 1:
			err = q.retry(ctx, j, errors.New("gateway timeout"))
		case 2:
			err = q.kill(ctx, j, "refused")
		default:
			err = q.ack(ctx, j)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Drop(jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, q)

	q.mu.Lock()
	before := *q.idx
	before.ready, before.deadline = slices.Clone(before.ready), slices.Clone(before.deadline)
	q.mu.Unlock()
	if len(before.ready) != 8 || len(before.live) != 6 || before.dead != 1 || !before.anyDone {
		t.Fatalf("index before close: %+v; want 8 pending, 6 live keys, 1 dead, done keys", before)
	}
	next, _ := q.sweep(clock.Now())
	due := mustLease(t, q)

	db.Close()
	db, err = dbfile.Open(path, dbfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if q, err = New(db, opts); err != nil {
		t.Fatal(err)
	}
	if diff := indexDiff(q.idx, &before); diff != "" {
		t.Errorf("index rebuilt at open differs from the one before close: %s", diff)
	}
	if again, _ := q.sweep(clock.Now()); !again.Equal(next) {
		t.Errorf("after reopen the sweep waits for %v, before it waited for %v", again, next)
	}
	if j := mustLease(t, q); j.ID != due.ID {
		t.Errorf("after reopen job %s is due first, before it was %s", j.ID, due.ID)
	}
}

// Jobs of a discarded kind never stay in the dead list: killed, retried
// past their deadline or expired, they are deleted in the same commit and
// event.Dead still says so; other kinds die as before.
func TestDiscardDeletesInsteadOfKilling(t *testing.T) {
	rec := &eventtest.Recorder{}
	q, clock, _ := newTestQueue(t, Options{Events: rec, BaseDelay: time.Hour, MaxDelay: time.Hour,
		Discard: func(kind string) bool { return kind == "decode" }})
	killed := mustEnqueue(t, q, Job{Kind: "decode", Key: "k", Payload: []byte("286861260475412123")})
	if err := q.kill(ctx, mustLease(t, q), "bad payload"); err != nil {
		t.Fatal(err)
	}
	// Any wait drawn from an hour passes a deadline a nanosecond away.
	retried := mustEnqueue(t, q, Job{Kind: "decode", Key: "r", Deadline: clock.Now().Add(time.Nanosecond)})
	if err := q.retry(ctx, mustLease(t, q), errors.New("SYSTEM_ERROR")); err != nil {
		t.Fatal(err)
	}
	expired := mustEnqueue(t, q, Job{Kind: "decode", Deadline: clock.Now().Add(time.Minute)})
	coupon := mustEnqueue(t, q, Job{Kind: "coupon", Deadline: clock.Now().Add(time.Minute)})
	clock.Advance(time.Minute)
	if _, ok, err := q.leaseNext(ctx); err != nil || ok {
		t.Fatalf("Lease after the deadlines: %v, %v", ok, err)
	}

	dead, _ := q.Dead()
	if len(dead) != 1 || dead[0].ID != coupon.ID {
		t.Errorf("dead jobs %v, want only the coupon %s", ids(dead), coupon.ID)
	}
	if p, d, _ := q.Stats(); p != 0 || d != 1 {
		t.Errorf("Stats = %d, %d; want 0 pending, 1 dead", p, d)
	}
	died := map[string]bool{}
	for _, e := range rec.All() {
		if d, ok := e.(event.Dead); ok {
			died[d.JobID] = true
		}
	}
	for _, j := range []Job{killed, retried, expired, coupon} {
		if !died[j.ID] {
			t.Errorf("no dead event for %s job %s", j.Kind, j.ID)
		}
	}
	// A discarded job's key is forgotten, as Drop forgets it.
	if j := mustEnqueue(t, q, Job{Kind: "decode", Key: "k"}); j.State != StatePending || j.ID == killed.ID {
		t.Errorf("enqueue with the key of a discarded job: %+v, want a new pending job", j)
	}
	checkConsistent(t, q)
}

// New deletes dead jobs of a discarded kind left in the file by a queue
// that kept them; other dead jobs stay.
func TestNewDiscardsDeadLeftInFile(t *testing.T) {
	db, _ := tempDB(t)
	old, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"decode", "coupon", "decode"} {
		j := mustEnqueue(t, old, Job{Kind: kind, Key: kind + "-key-" + fmt.Sprint(time.Now().UnixNano())})
		l := mustLease(t, old)
		if l.ID != j.ID {
			t.Fatalf("leased %s, want %s", l.ID, j.ID)
		}
		if err := old.kill(ctx, l, "gave up"); err != nil {
			t.Fatal(err)
		}
	}
	q, err := New(db, Options{Discard: func(kind string) bool { return kind == "decode" }})
	if err != nil {
		t.Fatal(err)
	}
	dead, _ := q.Dead()
	if len(dead) != 1 || dead[0].Kind != "coupon" {
		t.Errorf("dead jobs %+v, want only the coupon", dead)
	}
	if p, d, _ := q.Stats(); p != 0 || d != 1 {
		t.Errorf("Stats = %d, %d; want 0 pending, 1 dead", p, d)
	}
	checkConsistent(t, q)
}

// A job's subject is stored with it, survives a reopen, and names the
// customer and coupon in its queued and dead events.
func TestSubjectInEvents(t *testing.T) {
	rec := &eventtest.Recorder{}
	q, clock, _ := newTestQueue(t, Options{BaseDelay: time.Second, MaxDelay: time.Second, Events: rec})
	subj := event.Subject{SenceNo: "2026112200000001", TplID: "tplA", SerialNumber: "s-1"}
	j := mustEnqueue(t, q, Job{Kind: "coupon", Key: "k", Subject: subj, Deadline: clock.Now().Add(time.Minute)})
	if j.Subject != subj {
		t.Fatalf("Enqueue returned subject %+v, want %+v", j.Subject, subj)
	}
	if err := q.retry(ctx, mustLease(t, q), errors.New("timeout")); err != nil {
		t.Fatal(err)
	}
	qe := rec.Last().(event.Queued)
	if qe.SenceNo != subj.SenceNo || qe.TplID != subj.TplID || qe.SerialNumber != subj.SerialNumber {
		t.Errorf("queued event %+v, want subject %+v", qe, subj)
	}
	pending, err := q.Pending()
	if err != nil || len(pending) != 1 || pending[0].Subject != subj {
		t.Fatalf("Pending = %+v, %v; want the subject kept", pending, err)
	}
	clock.Advance(time.Second)
	if err := q.kill(ctx, mustLease(t, q), "refused"); err != nil {
		t.Fatal(err)
	}
	d := rec.Last().(event.Dead)
	if d.SenceNo != subj.SenceNo || d.TplID != subj.TplID || d.SerialNumber != subj.SerialNumber || d.JobID != j.ID {
		t.Errorf("dead event %+v, want subject %+v", d, subj)
	}
	dead, err := q.Dead()
	if err != nil || len(dead) != 1 || dead[0].Subject != subj {
		t.Fatalf("Dead = %+v, %v; want the subject kept", dead, err)
	}
}
