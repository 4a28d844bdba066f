package queue

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/dbfile"
)

// fakeClock is a clock tests move by hand, for the queue's arithmetic of
// due times and deadlines; tests of Run's waiting run in a testing/synctest
// bubble instead.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func tempDB(t testing.TB) (*bbolt.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "posagent.db")
	db, err := dbfile.Open(path, dbfile.Options{})
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
	}
	q, err := New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return q, clock, db
}

// checkConsistent verifies that q's in-memory index is what a fresh scan
// of its buckets builds (so a restart changes nothing), that no job is both
// pending and dead, that every remembered done key has its purge entry and
// names no live job, and that bbolt finds the file sound.
func checkConsistent(t testing.TB, q *Queue) {
	t.Helper()
	err := q.db.View(func(tx *bbolt.Tx) error {
		fresh, err := loadIndex(tx)
		if err != nil {
			t.Errorf("rebuild index: %v", err)
			return nil
		}
		q.mu.Lock()
		diff := indexDiff(q.idx, fresh)
		q.mu.Unlock()
		if diff != "" {
			t.Errorf("index in memory differs from one built from the file: %s", diff)
		}
		s := open(tx)
		s.dead.ForEach(func(k, _ []byte) error {
			if s.jobs.Get(k) != nil {
				t.Errorf("job %d is both pending and dead", be(k))
			}
			return nil
		})
		s.keys.ForEach(func(k, v []byte) error {
			ref, ok := decodeKeyRef(v)
			if !ok || !ref.done {
				t.Errorf("key %q: stored reference %x is not a done job's", k, v)
			}
			if s.done.Get(append(u64(uint64(ref.doneAt)), k...)) == nil {
				t.Errorf("done key %q has no purge entry", k)
			}
			if id, ok := fresh.live[string(k)]; ok {
				t.Errorf("key %q names both done job %d and live job %d", k, ref.id, id)
			}
			return nil
		})
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// indexDiff describes how two indexes differ; "" if they do not.
func indexDiff(got, want *index) string {
	var d []string
	if !slices.Equal(got.ready, want.ready) {
		d = append(d, fmt.Sprintf("ready %v, want %v", got.ready, want.ready))
	}
	if !slices.Equal(got.deadline, want.deadline) {
		d = append(d, fmt.Sprintf("deadline %v, want %v", got.deadline, want.deadline))
	}
	if !maps(got.live, want.live) {
		d = append(d, fmt.Sprintf("live keys %v, want %v", got.live, want.live))
	}
	if g, w := [3]int64{got.jobs, got.dead, got.bytes}, [3]int64{want.jobs, want.dead, want.bytes}; g != w {
		d = append(d, fmt.Sprintf("jobs, dead, bytes %v, want %v", g, w))
	}
	if got.anyDone != want.anyDone || got.oldestDone != want.oldestDone {
		d = append(d, fmt.Sprintf("oldest done key %v (%v), want %v (%v)", got.oldestDone, got.anyDone, want.oldestDone, want.anyDone))
	}
	return strings.Join(d, "; ")
}

func ids(jobs []Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}
