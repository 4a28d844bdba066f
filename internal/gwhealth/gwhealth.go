// Package gwhealth owns one fact: whether the Alipay gateway is up. Every
// gateway call reports its outcome here (Report); everything that cares
// asks (Down, State) or listens (Up, and event.Gateway on the bus): the
// queue's pace, the scan's own wait, the TUI's status line, the local API's
// status and /metrics.
//
// Only evidence counts. A verified answer (a result, or the gateway's own
// error code in a signed answer) means up. A request that left and got no
// verified answer means down: it could not reach the gateway (a transport
// failure, a timeout, HTTP 502/503/504, an HTML page), or what answered is
// not known to be the gateway (another HTTP status, an answer unsigned,
// malformed or whose signature does not verify). A request that never left
// (refused before sending, its sence_no not on disk) or that the caller
// cancelled proves nothing and changes nothing.
//
// "Down" has a cause (Cause): the gateway could not be reached
// (event.CauseUnreachable), or something answered that does not verify
// against the configured Alipay key or certificate (event.CauseConfig): a
// wrong alipay_public_key looks like that from the first call, and staff
// must be told to fix the key rather than the cashier to wait. Both stop
// work alike: neither answer may be trusted.
//
// While the gateway is down and no call has reported for ProbeEvery, Run
// probes it, so that its return is seen without waiting for a scan.
package gwhealth

import (
	"context"
	"errors"
	"sync"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/event"
)

// The states State reports; Unknown until the first evidence.
const (
	Unknown = ""
	Up      = event.GatewayUp
	Down    = event.GatewayDown
)

// DefaultProbeEvery is Options.ProbeEvery when zero: how long the gateway
// must have been down with no call reporting before Run probes it, and the
// wait between probes. Queued jobs probe more often while there are any.
const DefaultProbeEvery = 10 * time.Second

// Publisher takes the event.Gateway events (an *event.Bus).
type Publisher interface{ Publish(event.Event) }

// Options configure a Health. The zero value is usable: no events, no
// probes.
type Options struct {
	Events Publisher        // nil: no events
	Now    func() time.Time // default time.Now
	// Probe sends one request that changes nothing at Alipay and returns
	// its error; Run reports it like any call's. nil: Run only waits.
	Probe      func(ctx context.Context) error
	ProbeEvery time.Duration // DefaultProbeEvery when zero
}

// Health is the gateway's state. Its methods are safe for concurrent use.
type Health struct {
	o Options

	mu      sync.Mutex // orders the changes and their events
	state   string
	cause   string        // with Down: event.CauseUnreachable or event.CauseConfig
	last    time.Time     // of the latest report with evidence
	up      chan struct{} // closed while up
	changed chan struct{} // closed at the next change
}

// New returns a Health whose state is Unknown.
func New(o Options) *Health {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProbeEvery <= 0 {
		o.ProbeEvery = DefaultProbeEvery
	}
	return &Health{o: o, up: make(chan struct{}), changed: make(chan struct{})}
}

// Report takes the outcome of a gateway call: err as the alipay client
// returned it (nil for a result).
func (h *Health) Report(err error) {
	switch {
	case Answered(err):
		h.set(Up, "", "")
	case unverified(err):
		h.set(Down, event.CauseConfig, "answers do not verify against alipay_public_key (or alipay_cert): check the key files, then restart")
	case unanswered(err):
		h.set(Down, event.CauseUnreachable, "no answer from the gateway")
	}
}

// unverified reports whether an answer came whose signature does not verify
// under the configured key or certificate.
func unverified(err error) bool {
	return errors.Is(err, alipay.ErrSignature) || errors.Is(err, alipay.ErrUnknownCert)
}

// unanswered reports whether a request left and got no verified answer.
func unanswered(err error) bool {
	var ae *alipay.Error
	return alipay.Unreachable(err) ||
		errors.As(err, &ae) && ae.HTTPStatus != 0 && !errors.Is(err, context.Canceled)
}

// Answered reports whether err is a verified answer from the gateway: nil
// (a result), or the gateway's own error code in an answer that verified.
func Answered(err error) bool {
	var ae *alipay.Error
	return err == nil || errors.As(err, &ae) && ae.Code != "" && ae.Err == nil
}

func (h *Health) set(state, cause, detail string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.o.Now()
	h.last = now
	if h.state == state && h.cause == cause {
		return
	}
	was := h.state
	h.state, h.cause = state, cause
	if state == was {
		// Only the cause changed: the watchers of the state stay as
		// they are; the event says the new cause.
		h.publish(now, detail)
		return
	}
	if state == Up {
		close(h.up)
	} else if h.isClosed(h.up) {
		h.up = make(chan struct{})
	}
	close(h.changed)
	h.changed = make(chan struct{})
	h.publish(now, detail)
}

// publish reports the state and cause; called with mu held.
func (h *Health) publish(now time.Time, detail string) {
	if h.o.Events != nil {
		h.o.Events.Publish(event.Gateway{Stamp: event.Stamp{Time: now}, State: h.state, Cause: h.cause, Detail: detail})
	}
}

func (h *Health) isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// State is Up, Down, or Unknown before the first evidence.
func (h *Health) State() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}

// Cause is why the gateway is down (event.CauseUnreachable or
// event.CauseConfig); "" unless it is.
func (h *Health) Cause() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cause
}

// Down reports whether the latest evidence says the gateway cannot be
// reached.
func (h *Health) Down() bool { return h.State() == Down }

// Up returns a channel that is closed once the gateway is up: at once if
// it is now.
func (h *Health) Up() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.up
}

// Run probes the gateway while it is down and quiet, until ctx is done.
// Without Options.Probe it returns at once.
func (h *Health) Run(ctx context.Context) {
	if h.o.Probe == nil {
		return
	}
	for {
		h.mu.Lock()
		state, changed := h.state, h.changed
		wait := h.o.ProbeEvery - h.o.Now().Sub(h.last)
		h.mu.Unlock()
		if state == Down && wait <= 0 {
			h.Report(h.o.Probe(ctx))
			h.mu.Lock()
			h.last = h.o.Now() // a probe that proved nothing still waits its turn
			h.mu.Unlock()
			continue
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if state == Down {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}
