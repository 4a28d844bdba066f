package event

import (
	"context"
	"errors"
	"sync"
	"time"
)

// DefaultBacklog is how many events a subscriber may fall behind before the
// bus drops the oldest of them for that subscriber. At 1,000 events a second
// it is over a minute of backlog: a subscriber that far behind is stuck, and
// holding more would only grow memory without bound.
const DefaultBacklog = 1 << 16

// ErrClosed is returned by Next once the subscription or the bus is closed and
// every queued event has been read.
var ErrClosed = errors.New("event: subscription closed")

// Bus fans events out to subscribers. Publish never blocks on a slow
// subscriber: each subscriber has its own queue, so the TUI being busy never
// holds up the checkout flow.
type Bus struct {
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	closed  bool
	now     func() time.Time
	backlog int
	seq     uint64 // of the last event published
	first   uint64 // of the first event
	started bool   // something was published: the first seq is fixed
}

// NewBus returns an empty bus.
func NewBus() *Bus {
	return &Bus{subs: make(map[*Subscription]struct{}), now: time.Now, backlog: DefaultBacklog, first: 1}
}

// ErrPublished is returned by SetFirst once an event was published.
var ErrPublished = errors.New("event: the bus has published already")

// SetFirst makes first (≥ 1) the seq of the first event published, so that
// seq can keep growing across runs of one data_dir instead of starting at 1
// again (a stream client's Last-Event-ID then never names an event of this
// run by mistake). Call it before anything is published.
func (b *Bus) SetFirst(first uint64) error {
	if first == 0 {
		return errors.New("event: the first seq must be at least 1")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return ErrPublished
	}
	b.first, b.seq = first, first-1
	return nil
}

// First is the seq of the bus's first event (1 unless SetFirst said
// otherwise).
func (b *Bus) First() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.first
}

// Last is the seq of the last event published: First()-1 before any.
func (b *Bus) Last() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// Subscribe returns a subscription that receives every event published from
// now on, in order.
func (b *Bus) Subscribe() *Subscription {
	s := &Subscription{bus: b, ready: make(chan struct{}, 1), max: b.backlog}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.closed = true
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// Publish numbers e (its seq: one more than the event before it) and sends
// it to every subscriber; an event with no time gets the bus's clock. Free
// text (reasons, messages, details) is masked on the way (see masked).
// Publishing on a closed bus does nothing.
//
// Numbering happens under the same lock as delivery, so every subscriber
// sees seq in order and without holes, except where it fell more than the
// backlog behind (Dropped).
func (b *Bus) Publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	st := e.stamp()
	if st.Time.IsZero() {
		st.Time = b.now()
	}
	b.seq++
	b.started = true
	st.Seq = b.seq
	e = masked(e).with(st)
	for s := range b.subs {
		s.push(e)
	}
}

// Close ends every subscription once its queued events have been read.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for s := range b.subs {
		s.close()
	}
	b.subs = nil
}

// Subscription is one subscriber's ordered queue of events.
type Subscription struct {
	bus     *Bus
	ready   chan struct{} // holds a token while queue is non-empty or closed
	mu      sync.Mutex
	queue   []Event
	max     int
	dropped uint64
	closed  bool
}

func (s *Subscription) push(e Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= s.max {
		s.queue = s.queue[1:]
		s.dropped++
	}
	s.queue = append(s.queue, e)
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (s *Subscription) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}

// Next returns the next event, waiting until one arrives, ctx is done, or
// the subscription is closed and drained (ErrClosed).
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		if e, ok, err := s.pop(); ok || err != nil {
			return e, err
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// TryNext returns the next event without waiting; ok is false when none is
// queued.
func (s *Subscription) TryNext() (e Event, ok bool) {
	e, ok, _ = s.pop()
	return e, ok
}

func (s *Subscription) pop() (Event, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 {
		e := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		if len(s.queue) > 0 || s.closed {
			s.signal()
		}
		return e, true, nil
	}
	if s.closed {
		s.signal()
		return nil, false, ErrClosed
	}
	return nil, false, nil
}

// Dropped counts events discarded because this subscriber fell more than the
// backlog behind.
func (s *Subscription) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Close stops this subscription; Next returns ErrClosed once drained.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
	s.close()
}
