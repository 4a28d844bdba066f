package scanner

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// flakySession fails as soon as it is served, after living for life on the
// manual clock.
type flakySession struct {
	clock *manualClock
	life  time.Duration
}

func (s flakySession) serve(ctx context.Context, p *pipeline, flush func() bool) error {
	s.clock.Advance(s.life)
	return errors.New("read: I/O error")
}

func (flakySession) Close() error { return nil }

// A device that opens and fails at once must not be reopened in a loop:
// the waits double. After a session that lasted, they start again low.
func TestManagerBacksOffFlakyDevice(t *testing.T) {
	clock := newManualClock()
	var life atomic.Int64
	var opens atomic.Int32
	m := &manager{
		want:      "dev",
		enumerate: func() ([]Device, error) { return []Device{{Path: "dev"}}, nil },
		match:     func(Device) bool { return true },
		open: func(Device) (session, error) {
			opens.Add(1)
			return flakySession{clock, time.Duration(life.Load())}, nil
		},
		describe: func(Device) string { return "" },
		opts:     Options{Clock: clock, MinBackoff: time.Second, MaxBackoff: 8 * time.Second}.withDefaults(),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Event, 100)
	go m.Run(ctx, out, func(Device) string { return "test" })
	var waits []time.Duration
	for i := range 7 {
		waits = append(waits, <-clock.waits)
		if i == 5 {
			life.Store(int64(time.Hour)) // the session opened after this wait lasts
		}
		clock.Advance(waits[i])
	}
	want := []time.Duration{1, 2, 4, 8, 8, 8, 1}
	for i := range want {
		if waits[i] != want[i]*time.Second {
			t.Fatalf("waits %v, want %v seconds", waits, want)
		}
	}
	if n := opens.Load(); n != 7 && n != 8 {
		t.Fatalf("%d opens for 7 waits", n)
	}
	// Each loss is reported once per connection: connected, disconnected, …
	for range 7 {
		if e := <-out; e.Kind != EventConnected {
			t.Fatalf("got %v, want connected", e.Kind)
		}
		if e := <-out; e.Kind != EventDisconnected || e.Reason != "read: I/O error" {
			t.Fatalf("got %+v", e)
		}
	}
}

func TestManagerEnumerationError(t *testing.T) {
	clock := newManualClock()
	m := &manager{
		want:      "dev",
		enumerate: func() ([]Device, error) { return nil, errors.New("list HID devices: boom") },
		match:     func(Device) bool { return true },
		opts:      Options{Clock: clock}.withDefaults(),
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Event, 100)
	done := make(chan error)
	go func() { done <- m.Run(ctx, out, nil) }()
	for range 3 {
		if d := <-clock.waits; d != DefaultPoll {
			t.Fatalf("waited %v, want the poll interval", d)
		}
		clock.Advance(DefaultPoll)
	}
	<-clock.waits
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("%d events for one lasting error, want 1", len(out))
	}
}
