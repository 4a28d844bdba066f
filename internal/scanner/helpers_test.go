package scanner

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// countingSerial is the real go.bug.st/serial, counting opens and standing
// in for the enumerator (a pty has no USB ids).
type countingSerial struct {
	opens atomic.Int32
	ports func() []*enumerator.PortDetails
}

func (c *countingSerial) Open(path string, mode *serial.Mode) (serial.Port, error) {
	c.opens.Add(1)
	return serial.Open(path, mode)
}

func (c *countingSerial) Ports() ([]*enumerator.PortDetails, error) {
	if c.ports == nil {
		return nil, nil
	}
	return c.ports(), nil
}

// next waits for one event, failing the test after a deadline.
func next(t *testing.T, out <-chan Event) Event {
	t.Helper()
	select {
	case e := <-out:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return Event{}
	}
}

func startScanner(t *testing.T, s Scanner) (<-chan Event, context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Event, 16)
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() { done <- s.Run(ctx, out); close(stopped) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return out, cancel, done
}
