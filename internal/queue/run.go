package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Handler does a job's work. It returns nil when the work is done (the job
// is acknowledged), an error wrapped with Permanent when retrying cannot
// help (the job dies), and any other error to have it retried after a
// backoff. Its context ends when the lease does or Run stops.
//
// The handler's gateway calls report to the gateway's health
// (Options.Gateway), which Run asks: the queue does not read the gateway's
// state from handler errors.
type Handler func(ctx context.Context, j Job) error

type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Permanent marks err as final: the job goes to the dead list with err as
// its reason instead of being retried. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// isPermanent reports whether err was marked with Permanent.
func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryBy is implemented by a handler's error that must be retried no later
// than a time of its own, before the job's deadline (a decode: before its
// payment code expires). Retry then cuts the wait it draws to end by then,
// rather than let the last chance pass while the job still lives. Found
// with errors.As, so a handler's package need not import this one.
type RetryBy interface {
	error
	RetryBy() time.Time
}

// Handle sets the handler for jobs of kind. Set handlers before Run: a job
// whose kind has no handler when it is leased dies with that reason (it can
// be retried by hand once the handler exists).
func (q *Queue) Handle(kind string, h Handler) {
	q.hmu.Lock()
	defer q.hmu.Unlock()
	q.handlers[kind] = h
}

func (q *Queue) handler(kind string) Handler {
	q.hmu.RLock()
	defer q.hmu.RUnlock()
	return q.handlers[kind]
}

// outcome is what a finished run tells Run: the error of recording it.
type outcome struct{ err error }

// Run works the queue until ctx is done: it leases ready jobs and runs their
// handlers, Workers at once at first, then as many as runs end well allow
// (up to MaxInFlight), starting at most MaxPerSecond a second. While Options.Gateway is down it runs one
// job at a time, as a probe, waiting a growing, jittered delay (up to
// MaxProbeDelay) after each run that ends with the gateway still down; once
// the gateway is up, however that was learnt, it drains the queue with
// Workers again at once.
//
// Run returns nil once ctx is done and the running handlers have returned.
// It returns an error if the database fails: a queue that cannot record
// outcomes must stop rather than run jobs again and again.
func (q *Queue) Run(ctx context.Context) error {
	if !q.running.CompareAndSwap(false, true) {
		return errors.New("queue: Run called while running")
	}
	defer q.running.Store(false)
	// A failure stops the handlers too: their outcomes could not be
	// recorded anyway.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	done := make(chan outcome)
	// ran: a handler returned. Its request is over, so another may start
	// while its outcome is committed (the disk's sync would otherwise add
	// to every round trip). Buffered for all that may run at once, so a
	// worker never waits to say so.
	// It carries whether the job is to be retried (the gateway did not
	// answer well).
	ran := make(chan bool, q.opts.MaxInFlight)
	var (
		inflight  int              // workers: handlers running or recording an outcome
		running   int              // handlers running
		window    = q.opts.Workers // handlers allowed at once while up
		nextStart time.Time        // MaxPerSecond: no start before it
		probes    int
		nextProbe time.Time
		failed    error
	)
	for {
		if ctx.Err() != nil || failed != nil {
			cancel()
			for ; inflight > 0; inflight-- {
				<-done
			}
			return failed
		}
		now := q.now()
		// Deadlines pass whether or not the gateway is up: a decode
		// retry's death is news for the cashier.
		wake, err := q.sweep(now)
		if err != nil {
			failed = err
			continue
		}
		down := q.opts.Gateway.Down()
		var up <-chan struct{}
		if down {
			up = q.opts.Gateway.Up()
			// Probes say nothing of how many requests the gateway takes
			// once back: the drain starts again from Workers.
			window = q.opts.Workers
		}
		switch {
		case down && inflight > 0:
			// one probe at a time
		case down && now.Before(nextProbe):
			wake = earliest(wake, nextProbe)
		case !down && running >= window:
			// wait for a run to end
		case now.Before(nextStart):
			wake = earliest(wake, nextStart)
		default:
			j, ok, w, err := q.lease(now)
			if err != nil {
				failed = err
				continue
			}
			if ok {
				inflight++
				running++
				if q.opts.MaxPerSecond > 0 {
					nextStart = later(nextStart, now).Add(time.Duration(float64(time.Second) / q.opts.MaxPerSecond))
				}
				go func() { done <- q.work(ctx, j, func(retry bool) { ran <- retry }) }()
				continue
			}
			wake = earliest(wake, w)
		}
		var timer <-chan time.Time
		if !wake.IsZero() {
			// A timer left behind when another case wins is collected:
			// no Stop needed since Go 1.23.
			timer = time.After(wake.Sub(now))
		}
		select {
		case <-ctx.Done():
		case <-q.wake:
		case <-timer:
		case <-up:
			probes, nextProbe = 0, time.Time{}
		case retry := <-ran:
			running--
			switch {
			case retry:
				window = max(1, window/2)
			case window < q.opts.MaxInFlight:
				window++
			}
		case o := <-done:
			inflight--
			switch {
			case o.err != nil:
				failed = o.err
			case q.opts.Gateway.Down():
				probes++
				nextProbe = q.now().Add(jitter(probes, rand.Float64(), q.opts.BaseDelay, q.opts.MaxProbeDelay))
			default:
				probes, nextProbe = 0, time.Time{}
			}
		}
	}
}

// work runs one leased job and records its outcome; ended is told, once the
// handler has returned and before the outcome is recorded, whether the job
// is to be retried. The outcome is recorded even when ctx has ended
// meanwhile, unless the handler failed because it did: then the job is
// only released, as if never leased.
func (q *Queue) work(ctx context.Context, j Job, ended func(retry bool)) outcome {
	record := context.WithoutCancel(ctx)
	h := q.handler(j.Kind)
	if h == nil {
		ended(false)
		return q.settle(q.kill(record, j, fmt.Sprintf("no handler for kind %q", j.Kind)), outcome{})
	}
	hctx, cancel := context.WithTimeout(ctx, q.opts.Lease)
	err := call(hctx, h, j)
	cancel()
	ended(err != nil && ctx.Err() == nil && !isPermanent(err))
	switch {
	case err == nil:
		return q.settle(q.ack(record, j), outcome{})
	case ctx.Err() != nil:
		if id, err := parseID(j.ID); err == nil {
			q.release(id, j.lease)
		}
		return outcome{}
	case isPermanent(err):
		return q.settle(q.kill(record, j, err.Error()), outcome{})
	default:
		return q.settle(q.retry(record, j, err), outcome{})
	}
}

// settle adds the error of recording an outcome, unless it only says that
// someone else decided the job's fate first (its lease expired and another
// worker took it, or it was dropped).
func (q *Queue) settle(err error, o outcome) outcome {
	if err != nil && !errors.Is(err, errNoLease) && !errors.Is(err, ErrNotFound) {
		o.err = err
	}
	return o
}

// call runs h, turning a panic into a permanent error: one bad job must not
// take the till down, and running it again would panic again.
func call(ctx context.Context, h Handler, j Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("handler panicked: %v", r))
		}
	}()
	return h(ctx, j)
}
