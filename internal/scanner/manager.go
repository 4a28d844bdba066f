package scanner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// session is an open device. serve reads it into p until the device fails
// or ctx ends, calling flush after each read. The manager closes it from the
// goroutine that read it: closing while another goroutine is inside a read
// is what crashes hidapi.
type session interface {
	serve(ctx context.Context, p *pipeline, flush func() bool) error
	Close() error
}

// manager finds, opens and reopens one device. Neither serial nor HID
// libraries call back on hot-plug, so it polls enumeration. Every path
// through its loop waits on the clock: a missing device waits the poll
// interval, a device that will not open or keeps failing waits a backoff
// that doubles up to MaxBackoff. It never spins.
type manager struct {
	want      string // what is looked for, for messages: "/dev/ttyACM0", "05e0:1200"
	enumerate func() ([]Device, error)
	match     func(Device) bool
	open      func(Device) (session, error)
	describe  func(Device) string // the Connected event's Reason
	opts      Options
}

var errNotFound = errors.New("not found")

func (m *manager) Run(ctx context.Context, out chan<- Event, source func(Device) string) error {
	var box outbox
	emit := box.add
	flush := func() bool { return box.flush(ctx, out) }
	clock := m.opts.Clock
	wait := func(d time.Duration) bool {
		select {
		case <-clock.After(d):
			return true
		case <-ctx.Done():
			return false
		}
	}
	bo := newBackoff(m.opts.MinBackoff, m.opts.MaxBackoff)
	// lastDown is the reason last reported for being disconnected: a device
	// that stays away is reported once, not on every poll, and one that is
	// merely missing after a reported loss is not news.
	lastDown := ""
	down := func(dev string, err error) bool {
		if err.Error() == lastDown || lastDown != "" && errors.Is(err, errNotFound) {
			return true
		}
		lastDown = err.Error()
		return send(ctx, out, Event{Kind: EventDisconnected, Device: dev, Reason: lastDown, Err: err})
	}
	for ctx.Err() == nil {
		d, err := m.find()
		if err != nil {
			if !down(m.want, err) || !wait(m.opts.Poll) {
				return nil
			}
			continue
		}
		s, err := m.open(d)
		if err != nil {
			if !down(d.Path, err) || !wait(bo.Next()) {
				return nil
			}
			continue
		}
		lastDown = ""
		if !send(ctx, out, Event{Kind: EventConnected, Device: d.Path, Reason: m.describe(d)}) {
			s.Close()
			return nil
		}
		p, err := newPipeline(source(d), d.Path, m.opts, emit)
		if err != nil {
			s.Close()
			return err
		}
		start := clock.Now()
		err = s.serve(ctx, p, flush)
		s.Close()
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("device closed")
		}
		if !down(d.Path, err) {
			return nil
		}
		// A session that lasted longer than the longest wait was a
		// working device: the next loss starts the backoff from the bottom.
		if clock.Now().Sub(start) >= m.opts.MaxBackoff {
			bo.Reset()
		}
		if !wait(bo.Next()) {
			return nil
		}
	}
	return nil
}

func (m *manager) find() (Device, error) {
	devs, err := m.enumerate()
	if err != nil {
		return Device{}, err
	}
	for _, d := range devs {
		if m.match(d) {
			return d, nil
		}
	}
	return Device{}, fmt.Errorf("%s: %w", m.want, errNotFound)
}
