package queue

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/event"
	"posagent/internal/event/eventtest"
	"posagent/internal/gwhealth"
)

// errUnreachable is what a handler's gateway call returns when nothing
// answers.
var errUnreachable = &alipay.Error{Err: fmt.Errorf("%w: dial tcp 127.0.0.1:1: connection refused", alipay.ErrUnreachable)}

// realTime are options for tests of Run on the real clock with short waits,
// with the gateway's health publishing to o.Events.
func realTime(o Options) Options {
	o.Now = time.Now
	o.BaseDelay, o.MaxDelay, o.MaxProbeDelay = time.Millisecond, 4*time.Millisecond, 4*time.Millisecond
	o.Gateway = gwhealth.New(gwhealth.Options{Events: o.Events})
	return o
}

// health is the gateway's health q asks.
func health(q *Queue) *gwhealth.Health { return q.opts.Gateway.(*gwhealth.Health) }

// gatewayCall is a handler's gateway call as the agent makes one: its
// outcome, err, is reported to the gateway's health.
func gatewayCall(q *Queue, err error) error {
	health(q).Report(err)
	return err
}

// run starts q.Run and returns a stop function that waits for it.
func run(t *testing.T, q *Queue) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	return func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10s of cancel")
		}
	}
}

// await waits for ch to be closed (or to deliver), failing after 10s.
func await[T any](t *testing.T, what string, ch <-chan T) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not within 10s", what)
	}
}

// While the gateway is down only one handler runs at a time (the probe);
// when a probe gets through the gateway is up and the queue drains with
// Workers handlers at once, never more than MaxInFlight.
func TestRunDownModeProbesOneAtATime(t *testing.T) {
	const workers = 4
	rec := &eventtest.Recorder{}
	q, _, _ := newTestQueue(t, realTime(Options{Workers: workers, MaxInFlight: workers, Events: rec}))

	var (
		mu           sync.Mutex
		down         = true
		inflight     int
		maxDown      int // most handlers at once while down
		maxUp        int
		callsDown    int
		ran          = map[string]int{}
		probing      = make(chan struct{}) // closed after enough probes
		full         = make(chan struct{}) // closed when workers run at once
		allRan       = make(chan struct{}) // closed when every job succeeded
		closeProbing sync.Once
		closeFull    sync.Once
	)
	q.Handle("coupon", func(ctx context.Context, j Job) error {
		mu.Lock()
		inflight++
		isDown, first := down, false
		if isDown {
			maxDown = max(maxDown, inflight)
			callsDown++
			if callsDown == 30 {
				closeProbing.Do(func() { close(probing) })
			}
		} else {
			maxUp = max(maxUp, inflight)
			ran[j.ID]++
			first = len(ran) == 1
			if len(ran) == 41 {
				close(allRan)
			}
			if inflight == workers {
				closeFull.Do(func() { close(full) })
			}
		}
		mu.Unlock()
		defer func() { mu.Lock(); inflight--; mu.Unlock() }()
		if isDown {
			return gatewayCall(q, fmt.Errorf("issue coupon: %w", errUnreachable))
		}
		if first {
			return gatewayCall(q, nil) // the probe that finds the gateway back
		}
		select { // hold the slot until all workers are busy at once
		case <-full:
		case <-ctx.Done():
		}
		return nil
	})

	// One job finds the gateway down; the rest arrive while it is.
	mustEnqueue(t, q, Job{Kind: "coupon", Key: "first"})
	stop := run(t, q)
	rec.Wait(t, "gateway down", func(e event.Event) bool { g, ok := e.(event.Gateway); return ok && g.State == event.GatewayDown })
	if !health(q).Down() {
		t.Error("Down() = false after the down event")
	}
	for i := range 40 {
		mustEnqueue(t, q, Job{Kind: "coupon", Key: fmt.Sprint(i)})
	}
	<-probing
	mu.Lock()
	down = false
	mu.Unlock()
	rec.Wait(t, "gateway up", func(e event.Event) bool { g, ok := e.(event.Gateway); return ok && g.State == event.GatewayUp })
	await(t, "every job run", allRan)
	stop() // returns once the last acks are committed
	if p, d, _ := q.Stats(); p != 0 || d != 0 {
		t.Errorf("Stats = %d, %d after every job succeeded", p, d)
	}

	mu.Lock()
	defer mu.Unlock()
	if maxDown != 1 {
		t.Errorf("%d handlers ran at once while the gateway was down, want 1", maxDown)
	}
	if maxUp != workers {
		t.Errorf("%d handlers ran at once after it came back, want %d", maxUp, workers)
	}
	if len(ran) != 41 {
		t.Errorf("%d jobs succeeded, want 41", len(ran))
	}
	for id, n := range ran {
		if n != 1 {
			t.Errorf("job %s succeeded %d times", id, n)
		}
	}
	var states []string
	for _, e := range rec.All() {
		if g, ok := e.(event.Gateway); ok {
			states = append(states, g.State)
		}
	}
	if strings.Join(states, ",") != "down,up" || health(q).Down() {
		t.Errorf("gateway events %v (Down() = %v), want down then up", states, health(q).Down())
	}
	checkConsistent(t, q)
}

// Handlers decide: nil acks, Permanent kills with the reason, anything
// else retries (here: fails twice, then succeeds). Every job ends exactly
// once, and a job of a kind nobody handles dies saying so.
func TestRunOutcomes(t *testing.T) {
	rec := &eventtest.Recorder{}
	q, _, _ := newTestQueue(t, realTime(Options{Workers: 3, Events: rec}))
	var (
		mu       sync.Mutex
		attempts = map[string]int{}
		acked    = map[string]int{}
		allAcked = make(chan struct{})
	)
	q.Handle("flaky", func(ctx context.Context, j Job) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[j.ID]++
		if j.Attempts != attempts[j.ID]-1 {
			t.Errorf("job %s: Attempts %d on run %d", j.ID, j.Attempts, attempts[j.ID])
		}
		if attempts[j.ID] < 3 {
			return errors.New("isp.unknow-error")
		}
		acked[j.ID]++
		if len(acked) == 20 {
			close(allAcked)
		}
		return nil
	})
	q.Handle("refused", func(ctx context.Context, j Job) error {
		return Permanent(errors.New("PASS_TEMPLATE_NOT_EXIST"))
	})
	q.Handle("panics", func(ctx context.Context, j Job) error { panic("nil map") })
	for i := range 20 {
		mustEnqueue(t, q, Job{Kind: "flaky", Key: fmt.Sprint(i)})
	}
	refused := mustEnqueue(t, q, Job{Kind: "refused"})
	orphan := mustEnqueue(t, q, Job{Kind: "nobody"})
	panics := mustEnqueue(t, q, Job{Kind: "panics"})
	stop := run(t, q)
	await(t, "flaky jobs done", allAcked)
	for range 3 {
		rec.Wait(t, "dead", func(e event.Event) bool { _, ok := e.(event.Dead); return ok })
	}
	stop() // returns once the last acks are committed
	if p, d, _ := q.Stats(); p != 0 || d != 3 {
		t.Errorf("Stats = %d, %d; want 0 pending, 3 dead", p, d)
	}

	for i := range 20 {
		if id := fmt.Sprint(i + 1); acked[id] != 1 || attempts[id] != 3 {
			t.Errorf("job %s: acked %d times after %d runs, want once after 3", id, acked[id], attempts[id])
		}
	}
	dead, _ := q.Dead()
	reasons := map[string]string{}
	for _, j := range dead {
		reasons[j.ID] = j.LastError
	}
	for id, want := range map[string]string{refused.ID: "PASS_TEMPLATE_NOT_EXIST", orphan.ID: `no handler for kind "nobody"`, panics.ID: "handler panicked: nil map"} {
		if reasons[id] != want {
			t.Errorf("job %s died with %q, want %q", id, reasons[id], want)
		}
	}
	var queued, died int
	for _, e := range rec.All() {
		switch e.(type) {
		case event.Queued:
			queued++
		case event.Dead:
			died++
		}
	}
	if queued != 40 || died != 3 {
		t.Errorf("%d queued and %d dead events, want 40 and 3", queued, died)
	}
	checkConsistent(t, q)
}

// Stopping Run while a handler runs releases its job untouched: no attempt
// counted, available at once to the next Run.
func TestRunStopReleasesJob(t *testing.T) {
	q, _, _ := newTestQueue(t, realTime(Options{}))
	started := make(chan struct{})
	q.Handle("slow", func(ctx context.Context, j Job) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	j := mustEnqueue(t, q, Job{Kind: "slow"})
	stop := run(t, q)
	<-started
	stop()
	l := mustLease(t, q)
	if l.ID != j.ID || l.Attempts != 0 || l.LastError != "" {
		t.Errorf("after stop, leased %+v; want job %s untouched", l, j.ID)
	}
	checkConsistent(t, q)
}

func TestRunTwice(t *testing.T) {
	q, _, _ := newTestQueue(t, realTime(Options{}))
	running := make(chan struct{})
	q.Handle("k", func(ctx context.Context, j Job) error { close(running); return nil })
	mustEnqueue(t, q, Job{Kind: "k"})
	stop := run(t, q)
	defer stop()
	await(t, "Run started", running)
	if err := q.Run(context.Background()); err == nil {
		t.Error("a second Run at once returned nil")
	}
}

// Run waits for a job's time without spinning: a job due in an hour runs
// when an hour has passed (in a synctest bubble, at once), not before.
func TestRunWaitsForNextAt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, _, _ := newTestQueue(t, Options{Now: time.Now})
		ran := make(chan string, 1)
		q.Handle("later", func(ctx context.Context, j Job) error { ran <- j.ID; return nil })
		start := time.Now()
		j := mustEnqueue(t, q, Job{Kind: "later", NextAt: start.Add(time.Hour)})
		stop := run(t, q)
		defer stop()
		synctest.Wait() // Run waits for the job's time
		select {
		case id := <-ran:
			t.Fatalf("job %s ran before its time", id)
		default:
		}
		if id := <-ran; id != j.ID || time.Since(start) != time.Hour {
			t.Errorf("ran %s after %v, want %s after 1h", id, time.Since(start), j.ID)
		}
	})
}

// A deadline passes on time even while no job can be leased (every worker
// busy, or the gateway down and its probe under way): the job dies then,
// and event.Dead says so, without waiting for a free worker.
func TestRunExpiresWhileBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventtest.Recorder{}
		q, _, _ := newTestQueue(t, Options{Workers: 1, Events: rec, Now: time.Now})
		release, started := make(chan struct{}), make(chan struct{})
		q.Handle("coupon", func(ctx context.Context, j Job) error {
			close(started)
			<-release
			return nil
		})
		start := time.Now()
		mustEnqueue(t, q, Job{Kind: "coupon"})
		decode := mustEnqueue(t, q, Job{Kind: "decode", Deadline: start.Add(time.Minute)})
		stop := run(t, q)
		<-started
		time.Sleep(time.Minute - time.Nanosecond)
		synctest.Wait()
		if n := len(rec.All()); n != 0 {
			t.Fatalf("events %v before the deadline", rec.All())
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if d, ok := rec.Last().(event.Dead); !ok || d.JobID != decode.ID || d.Reason != "deadline passed" {
			t.Errorf("events %v at the deadline, want job %s dead with reason %q", rec.All(), decode.ID, "deadline passed")
		}
		close(release)
		stop()
		checkConsistent(t, q) // bbolt's check must not run beside a commit
	})
}

// A database that fails stops Run with the error instead of running jobs
// whose outcomes cannot be recorded.
func TestRunStopsWhenDatabaseFails(t *testing.T) {
	q, _, db := newTestQueue(t, realTime(Options{}))
	done := make(chan error, 1)
	go func() { done <- q.Run(context.Background()) }()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	q.signal()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "database not open") {
			t.Errorf("Run after the database closed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run went on for 10s on a closed database")
	}
}

// A run without a gateway call while the gateway is down (a decode that
// expired in the queue, a payload that cannot be read) is no probe: the job
// is acked or killed as its error says, but the gateway stays down and no
// "up" is emitted.
func TestRunWithoutGatewayCallLeavesGatewayDown(t *testing.T) {
	rec := &eventtest.Recorder{}
	q, _, _ := newTestQueue(t, realTime(Options{Workers: 4, Events: rec}))
	probed := make(chan struct{}, 100)
	q.Handle("probe", func(ctx context.Context, j Job) error {
		probed <- struct{}{}
		return gatewayCall(q, fmt.Errorf("decode: %w", errUnreachable))
	})
	ran := make(chan string, 2)
	q.Handle("expired", func(ctx context.Context, j Job) error {
		ran <- j.ID
		return nil
	})
	q.Handle("unreadable", func(ctx context.Context, j Job) error {
		ran <- j.ID
		return fmt.Errorf("job %s: %w", j.ID, Permanent(errors.New("bad payload")))
	})
	mustEnqueue(t, q, Job{Kind: "probe"})
	stop := run(t, q)
	defer stop()
	rec.Wait(t, "gateway down", func(e event.Event) bool { g, ok := e.(event.Gateway); return ok && g.State == event.GatewayDown })
	expired := mustEnqueue(t, q, Job{Kind: "expired"})
	unreadable := mustEnqueue(t, q, Job{Kind: "unreadable"})
	await(t, "first run without a call", ran)
	await(t, "second run without a call", ran)
	// While down, one job runs at a time: once the probe has run twice
	// more, both outcomes without a call were taken in.
	for len(probed) > 0 {
		<-probed
	}
	await(t, "a probe after the runs without a call", probed)
	await(t, "another probe", probed)

	for _, e := range rec.All() {
		if g, ok := e.(event.Gateway); ok && g.State == event.GatewayUp {
			t.Fatalf("gateway reported up after runs that sent nothing; events %v", rec.All())
		}
	}
	if !health(q).Down() {
		t.Error("Down() = false after runs that sent nothing")
	}
	pending, _ := q.Pending()
	for _, j := range pending {
		if j.ID == expired.ID || j.ID == unreadable.ID {
			t.Errorf("job %s (%s) still pending", j.ID, j.Kind)
		}
	}
	dead, _ := q.Dead()
	if len(dead) != 1 || dead[0].ID != unreadable.ID || dead[0].LastError != "job "+unreadable.ID+": bad payload" {
		t.Errorf("dead jobs %+v, want only %s, dead of %q", dead, unreadable.ID, "bad payload")
	}
}

// A verified answer to a request outside the queue (a scan's own decode)
// ends "down" at once even with no job left to probe with: one "up" event,
// and Down() false; while up it changes nothing.
func TestAnswerOutsideEndsDownWithoutJobs(t *testing.T) {
	rec := &eventtest.Recorder{}
	q, _, _ := newTestQueue(t, realTime(Options{Events: rec}))
	q.Handle("probe", func(ctx context.Context, j Job) error { return gatewayCall(q, errUnreachable) })
	j := mustEnqueue(t, q, Job{Kind: "probe"})
	stop := run(t, q)
	defer stop()
	rec.Wait(t, "gateway down", func(e event.Event) bool { g, ok := e.(event.Gateway); return ok && g.State == event.GatewayDown })
	// Staff drop the job the queue probes with; nothing is left to probe.
	for {
		err := q.Drop(j.ID)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLeased) {
			t.Fatal(err)
		}
		runtime.Gosched()
	}
	health(q).Report(nil)
	rec.Wait(t, "gateway up", func(e event.Event) bool { g, ok := e.(event.Gateway); return ok && g.State == event.GatewayUp })
	if health(q).Down() {
		t.Error("Down() = true after a verified answer")
	}
	health(q).Report(nil)
	var states []string
	for _, e := range rec.All() {
		if g, ok := e.(event.Gateway); ok {
			states = append(states, g.State)
		}
	}
	if strings.Join(states, ",") != "down,up" {
		t.Errorf("gateway events %v, want down then up once", states)
	}
}
