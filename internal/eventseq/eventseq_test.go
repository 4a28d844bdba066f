package eventseq

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"posagent/internal/event"
)

func openDB(t *testing.T, path string) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// run is one run of the agent as far as seq goes: it publishes n events
// and stops cleanly or, with crash, closes the file without a word (as a
// SIGKILL leaves it). It returns its first and last seq and the earlier
// run's clean last.
func run(t *testing.T, path string, n int, crash bool) (first, last, prevLast uint64) {
	t.Helper()
	db := openDB(t, path)
	defer db.Close()
	k, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	bus := event.NewBus()
	if err := bus.SetFirst(k.First()); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	sub := bus.Subscribe()
	go func() {
		defer close(done)
		k.Follow(context.Background(), sub, func(err error) { t.Error(err) })
	}()
	for range n {
		bus.Publish(event.Gateway{State: event.GatewayUp})
	}
	bus.Close()
	<-done
	if !crash {
		if err := k.Stopped(bus.Last()); err != nil {
			t.Fatal(err)
		}
	}
	return k.First(), bus.Last(), k.PrevLast()
}

func TestRunsNumberAboveEachOther(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	var before uint64
	for i, tc := range []struct {
		n           int
		crash       bool
		first, prev uint64
	}{
		{n: 3, first: 1, prev: 0},                                // a new database
		{n: 2, first: Block + 1, prev: 3},                        // after a clean stop
		{n: 4, crash: true, first: 2*Block + 1, prev: Block + 2}, // killed
		{n: 1, first: 3*Block + 1, prev: 0},                      // after the kill: last unknown
		// Beyond half a block the reservation grows before it runs out:
		// the run after starts above everything emitted.
		{n: Block/2 + 10, crash: true, first: 4*Block + 1, prev: 3*Block + 1},
		{n: 1, first: (4*Block + Block/2 + 1) + Block + 1, prev: 0},
	} {
		first, last, prev := run(t, path, tc.n, tc.crash)
		if first <= before {
			t.Errorf("run %d starts at %d, not above the run before (last %d)", i+1, first, before)
		}
		before = last
		if first != tc.first || prev != tc.prev || last != first+uint64(tc.n)-1 {
			t.Errorf("run %d: first %d, last %d, earlier run's last %d; want first %d, earlier %d", i+1, first, last, prev, tc.first, tc.prev)
		}
	}
}
