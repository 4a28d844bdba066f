package queue

import (
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/event"
)

// fakeClock is a clock tests move by hand; After channels fire when Advance
// passes their time.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	waiting chan struct{} // receives when After is called for a future time
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), waiting: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	select {
	case c.waiting <- struct{}{}:
	default:
	}
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waiters = slices.DeleteFunc(c.waiters, func(w waiter) bool {
		if w.at.After(c.now) {
			return false
		}
		w.ch <- c.now
		return true
	})
}

// recorder is a Publisher that keeps what it is given and signals each.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
	ch     chan event.Event
}

func newRecorder() *recorder { return &recorder{ch: make(chan event.Event, 1024)} }

func (r *recorder) Publish(e event.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.ch <- e:
	default:
	}
}

func (r *recorder) all() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// wait returns the next event matching ok, failing the test after 10s.
func (r *recorder) wait(t *testing.T, what string, ok func(event.Event) bool) event.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-r.ch:
			if ok(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event within 10s; got %v", what, r.all())
			return nil
		}
	}
}

func tempDB(t testing.TB) (*bbolt.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "posagent.db")
	db, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// newTestQueue returns a queue on a fresh database with a fake clock.
func newTestQueue(t testing.TB, opts Options) (*Queue, *fakeClock, *bbolt.DB) {
	t.Helper()
	db, _ := tempDB(t)
	clock := newClock()
	if opts.Now == nil {
		opts.Now = clock.Now
		opts.After = clock.After
	}
	q, err := New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return q, clock, db
}

// checkConsistent verifies the buckets agree with each other and with the
// counters: every pending job has exactly its two index entries, no index
// entry points at nothing, dead jobs have none, keys point at live jobs.
func checkConsistent(t testing.TB, db *bbolt.DB) {
	t.Helper()
	err := db.View(func(tx *bbolt.Tx) error {
		s := open(tx)
		var jobs, dead, size int64
		ready, deadline := map[string]bool{}, map[string]bool{}
		s.jobs.ForEach(func(k, v []byte) error {
			id := be(k)
			r, err := decodeRecord(id, v)
			if err != nil {
				t.Error(err)
				return nil
			}
			jobs++
			size += int64(len(v))
			ready[string(at(r.NextAt, id))] = true
			deadline[string(at(r.Deadline, id))] = true
			if r.Key != "" {
				ref, ok := decodeKeyRef(s.keys.Get([]byte(r.Key)))
				if !ok || ref.id != id || ref.done {
					t.Errorf("job %d: key %q maps to %+v", id, r.Key, ref)
				}
			}
			return nil
		})
		s.dead.ForEach(func(k, v []byte) error {
			dead++
			size += int64(len(v))
			if s.jobs.Get(k) != nil {
				t.Errorf("job %d is both pending and dead", be(k))
			}
			return nil
		})
		checkIndex := func(name string, b *bbolt.Bucket, want map[string]bool) {
			n := 0
			b.ForEach(func(k, _ []byte) error {
				n++
				if !want[string(k)] {
					t.Errorf("%s index entry %x names no pending job with that time", name, k)
				}
				return nil
			})
			if n != len(want) {
				t.Errorf("%s index has %d entries for %d pending jobs", name, n, len(want))
			}
		}
		checkIndex("ready", s.ready, ready)
		checkIndex("deadline", s.deadline, deadline)
		s.keys.ForEach(func(k, v []byte) error {
			ref, _ := decodeKeyRef(v)
			if !ref.done && s.jobs.Get(u64(ref.id)) == nil && s.dead.Get(u64(ref.id)) == nil {
				t.Errorf("key %q names job %d, which is gone", k, ref.id)
			}
			if ref.done && s.done.Get(append(u64(uint64(ref.doneAt)), k...)) == nil {
				t.Errorf("done key %q has no purge entry", k)
			}
			return nil
		})
		if got := [3]int64{s.counter(metaJobs), s.counter(metaDead), s.counter(metaBytes)}; got != [3]int64{jobs, dead, size} {
			t.Errorf("counters jobs,dead,bytes = %v, buckets hold %v", got, [3]int64{jobs, dead, size})
		}
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func ids(jobs []Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}
