// Package eventtest records events for tests, like net/http/httptest's
// ResponseRecorder: a Recorder stands where a package publishes to the bus
// and lets the test read what was published, or wait for an event.
package eventtest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"posagent/internal/event"
)

// Patience bounds Wait: an event that has not come by then is not coming.
const Patience = 10 * time.Second

// Recorder keeps every event it is given, in order. The zero value is ready
// to use; its methods are safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	events  []event.Event
	waited  int           // events Wait has gone past
	changed chan struct{} // closed at the next Publish
}

// Publish records e.
func (r *Recorder) Publish(e event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

// All returns the events recorded so far.
func (r *Recorder) All() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Types returns the types of the events recorded so far.
func (r *Recorder) Types() []event.Type {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := make([]event.Type, len(r.events))
	for i, e := range r.events {
		ts[i] = e.Type()
	}
	return ts
}

// Last returns the latest event, or nil before the first.
func (r *Recorder) Last() event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return nil
	}
	return r.events[len(r.events)-1]
}

// Wait returns the first event after the one the previous Wait returned
// that ok accepts, waiting for it to be published. It fails the test,
// naming what, if none comes within Patience.
func (r *Recorder) Wait(t testing.TB, what string, ok func(event.Event) bool) event.Event {
	t.Helper()
	deadline := time.NewTimer(Patience)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for ; r.waited < len(r.events); r.waited++ {
			if e := r.events[r.waited]; ok(e) {
				r.waited++
				r.mu.Unlock()
				return e
			}
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no %s event within %v; got %v", what, Patience, r.All())
			return nil
		}
	}
}
