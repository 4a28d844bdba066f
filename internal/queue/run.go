package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"posagent/internal/event"
)

// Handler does a job's work. It returns nil when the work is done (the job
// is acknowledged), an error wrapped with Permanent when retrying cannot
// help (the job dies), and any other error to have it retried after a
// backoff. Its context ends when the lease does or Run stops.
//
// A handler that finished without a request to the gateway (a decode whose
// code expired meanwhile, a job it cannot read) says so with NotSent: its
// run then tells Run nothing about the gateway.
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

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
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

// ErrNotSent is the result of a handler that finished its job without a
// request to the gateway; see NotSent.
var ErrNotSent = errors.New("finished without a request to the gateway")

type notSentError struct{ err error }

func (n *notSentError) Error() string   { return n.err.Error() }
func (n *notSentError) Unwrap() []error { return []error{n.err, ErrNotSent} }

// NotSent marks a handler's result as reached without contacting the
// gateway. The job's fate is err's, as if unmarked (NotSent(nil), which is
// ErrNotSent, acknowledges it; NotSent(Permanent(err)) kills it), but the
// run does not count as an answer from the gateway: while the gateway is
// taken to be down it is not a probe that got through, and Run stays down
// rather than report "up" on no evidence.
func NotSent(err error) error {
	if err == nil {
		return ErrNotSent
	}
	return &notSentError{err}
}

// notSent reports whether the handler marked its result with NotSent, and
// the result that decides the job's fate: nil for ErrNotSent alone (or
// wrapped with words), else the error itself (Permanent is found through
// the marking).
func notSent(err error) (bool, error) {
	var n *notSentError
	switch {
	case errors.As(err, &n):
		return true, err
	case errors.Is(err, ErrNotSent):
		return true, nil
	}
	return false, err
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

// Down reports whether the gateway is taken to be unreachable: the last
// handler error was one Options.Unreachable recognised and no run has
// reached the gateway since, nor has Reached been called.
func (q *Queue) Down() bool { return q.down.Load() }

// Reached tells the queue that a request outside it got a verified answer
// from the gateway (a success or the gateway's own error, not a transport
// failure): a scan's own decode, say. If the gateway was taken to be down
// it is up again: event.Gateway "up" is emitted and Run goes back to
// Workers handlers at once. Without it, "down" would last until a queued
// job got through, and forever once no job is left to probe with.
func (q *Queue) Reached() {
	q.setDown(false)
}

// setDown records the gateway's state and emits event.Gateway when it
// changes; it reports whether it did. The lock keeps the events in the
// order of the changes.
func (q *Queue) setDown(down bool) bool {
	q.gmu.Lock()
	defer q.gmu.Unlock()
	if !q.down.CompareAndSwap(!down, down) {
		return false
	}
	state := event.GatewayUp
	if down {
		state = event.GatewayDown
	}
	q.publish(event.Gateway{Stamp: event.Stamp{Time: q.now()}, State: state})
	if !down {
		q.signal() // Run may lease more jobs at once
	}
	return true
}

// outcome is what a finished run tells Run.
type outcome struct {
	reached     bool  // the gateway answered (success or its own error)
	unreachable bool  // the gateway could not be reached
	err         error // the outcome could not be recorded
}

// Run works the queue until ctx is done: it leases ready jobs and runs their
// handlers, up to Workers at once. After a handler error that
// Options.Unreachable recognises, it emits event.Gateway "down" and runs one
// job at a time, as a probe, waiting a growing, jittered delay (up to
// MaxProbeDelay) between probes; when one reaches the gateway (or Reached
// is called) it emits "up" and drains the queue with Workers again. A run
// marked NotSent is no probe: it leaves the state as it was.
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
	var (
		inflight  int
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
		down := q.down.Load()
		switch {
		case down && inflight > 0:
			// one probe at a time
		case down && now.Before(nextProbe):
			wake = earliest(wake, nextProbe)
		case inflight < q.opts.Workers:
			j, ok, w, err := q.lease(now)
			if err != nil {
				failed = err
				continue
			}
			if ok {
				inflight++
				go func() { done <- q.work(ctx, j) }()
				continue
			}
			wake = earliest(wake, w)
		}
		var timer <-chan time.Time
		if !wake.IsZero() {
			timer = q.opts.After(wake.Sub(now))
		}
		select {
		case <-ctx.Done():
		case <-q.wake:
		case <-timer:
		case o := <-done:
			inflight--
			now := q.now()
			switch {
			case o.err != nil:
				failed = o.err
			case o.unreachable:
				if q.setDown(true) {
					probes = 0
				} else {
					probes++
				}
				nextProbe = now.Add(jitter(probes+1, rand.Float64(), q.opts.BaseDelay, q.opts.MaxProbeDelay))
			case o.reached:
				q.setDown(false)
			}
		}
	}
}

// work runs one leased job and records its outcome. The outcome is recorded
// even when ctx has ended meanwhile, unless the handler failed because it
// did: then the job is only released, as if never leased.
func (q *Queue) work(ctx context.Context, j Job) outcome {
	record := context.WithoutCancel(ctx)
	h := q.handler(j.Kind)
	if h == nil {
		return q.settle(q.Kill(record, j, fmt.Sprintf("no handler for kind %q", j.Kind)), outcome{})
	}
	hctx, cancel := context.WithTimeout(ctx, q.opts.Lease)
	unsent, err := notSent(call(hctx, h, j))
	cancel()
	sent := !unsent
	switch {
	case err == nil:
		return q.settle(q.Ack(record, j), outcome{reached: sent})
	case ctx.Err() != nil:
		if id, err := parseID(j.ID); err == nil {
			q.release(id, j.lease)
		}
		return outcome{}
	case IsPermanent(err):
		return q.settle(q.Kill(record, j, err.Error()), outcome{reached: sent})
	default:
		unreachable := sent && q.opts.Unreachable(err)
		return q.settle(q.Retry(record, j, err), outcome{reached: sent && !unreachable, unreachable: unreachable})
	}
}

// settle adds the error of recording an outcome, unless it only says that
// someone else decided the job's fate first (its lease expired and another
// worker took it, or it was dropped).
func (q *Queue) settle(err error, o outcome) outcome {
	if err != nil && !errors.Is(err, ErrNoLease) && !errors.Is(err, ErrNotFound) {
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
