package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// While runs end well the number of handlers at once grows from Workers to
// MaxInFlight, never past it; every job runs once.
func TestRunGrowsInFlightToMax(t *testing.T) {
	const maxInFlight = 6
	q, _, _ := newTestQueue(t, realTime(Options{Workers: 2, MaxInFlight: maxInFlight}))
	var (
		mu       sync.Mutex
		inflight int
		most     int
		ran      = map[string]int{}
		full     = make(chan struct{})
		allRan   = make(chan struct{})
		once     sync.Once
	)
	const jobs = 60
	q.Handle("coupon", func(ctx context.Context, j Job) error {
		mu.Lock()
		inflight++
		most = max(most, inflight)
		if inflight == maxInFlight {
			once.Do(func() { close(full) })
		}
		ran[j.ID]++
		if len(ran) == jobs {
			close(allRan)
		}
		mu.Unlock()
		defer func() { mu.Lock(); inflight--; mu.Unlock() }()
		// Held a round trip, or until the most allowed run at once.
		select {
		case <-full:
		case <-time.After(20 * time.Millisecond):
		}
		return nil
	})
	for i := range jobs {
		mustEnqueue(t, q, Job{Kind: "coupon", Key: fmt.Sprint(i)})
	}
	stop := run(t, q)
	await(t, "all jobs run", allRan)
	stop()
	mu.Lock()
	defer mu.Unlock()
	if most != maxInFlight {
		t.Errorf("at most %d handlers at once, want %d", most, maxInFlight)
	}
	for id, n := range ran {
		if n != 1 {
			t.Errorf("job %s ran %d times", id, n)
		}
	}
}

// A run that must be retried halves the handlers allowed at once: with 8
// allowed and running, one retried leaves 7 running and 4 allowed, so no
// other starts until they end.
func TestRunHalvesInFlightOnRetry(t *testing.T) {
	q, _, _ := newTestQueue(t, realTime(Options{Workers: 8, MaxInFlight: 8, BaseDelay: time.Hour, MaxDelay: time.Hour}))
	var (
		started  = make(chan string, 64)
		release  = make(chan struct{})
		failed   = make(chan struct{})
		failOnce sync.Once
	)
	q.Handle("coupon", func(ctx context.Context, j Job) error {
		started <- j.Key
		if j.Key == "0" {
			defer failOnce.Do(func() { close(failed) })
			return errors.New("busy")
		}
		<-release
		return nil
	})
	for i := range 40 {
		mustEnqueue(t, q, Job{Kind: "coupon", Key: fmt.Sprint(i)})
	}
	stop := run(t, q)
	defer stop()
	defer close(release)
	for range 8 {
		await(t, "8 handlers started", started)
	}
	await(t, "the retried run", failed)
	// Without the halving the freed slot would start a 9th at once.
	select {
	case k := <-started:
		t.Errorf("job %s started with 7 running after a retry", k)
	case <-time.After(100 * time.Millisecond):
	}
}

// MaxPerSecond spaces the handlers' starts: 5 jobs at 50 a second take at
// least 80 ms to start.
func TestRunMaxPerSecond(t *testing.T) {
	// In a synctest bubble the limiter's spacing is exact, whatever the
	// machine's load does to the scheduling of the handlers.
	synctest.Test(t, func(t *testing.T) {
		q, _, _ := newTestQueue(t, realTime(Options{Workers: 16, MaxPerSecond: 50}))
		var (
			mu     sync.Mutex
			starts []time.Time
			all    = make(chan struct{})
		)
		q.Handle("coupon", func(ctx context.Context, j Job) error {
			mu.Lock()
			defer mu.Unlock()
			starts = append(starts, time.Now())
			if len(starts) == 5 {
				close(all)
			}
			return nil
		})
		for i := range 5 {
			mustEnqueue(t, q, Job{Kind: "coupon", Key: fmt.Sprint(i)})
		}
		stop := run(t, q)
		await(t, "5 starts", all)
		stop()
		mu.Lock()
		defer mu.Unlock()
		if span := starts[4].Sub(starts[0]); span < 80*time.Millisecond {
			t.Errorf("5 starts in %v at 50 a second, want at least 80ms", span)
		}
	})
}
