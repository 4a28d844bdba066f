package scanner

import "time"

// Clock is the time a driver sees: injected by tests so that debounce,
// idle gaps and backoff are exercised without waiting.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the wall clock.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// backoff doubles a wait from min to max. It is what keeps a driver from
// spinning while its device is gone or refuses to open.
type backoff struct {
	min, max, next time.Duration
}

func newBackoff(min, max time.Duration) backoff { return backoff{min: min, max: max, next: min} }

// Next returns the wait to use now and doubles the one after.
func (b *backoff) Next() time.Duration {
	d := b.next
	b.next = min(2*b.next, b.max)
	return d
}

func (b *backoff) Reset() { b.next = b.min }
