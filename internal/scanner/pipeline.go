package scanner

import (
	"bytes"
	"fmt"
	"time"

	"posagent/internal/event"
)

// pipeline is the path every driver's input takes: framing, validation,
// debounce. It is synchronous and owned by one goroutine; emit is called
// for each event it produces.
type pipeline struct {
	fr       framer
	source   string // Scan.Source
	device   string // Event.Device
	debounce time.Duration
	last     string // the last code emitted, for debounce
	lastAt   time.Time
	emit     func(Event)
	scratch  []byte
}

func newPipeline(source, device string, o Options, emit func(Event)) (*pipeline, error) {
	fr, err := newFramer(o)
	if err != nil {
		return nil, err
	}
	return &pipeline{fr: fr, source: source, device: device, debounce: o.Debounce, emit: emit}, nil
}

// write feeds bytes that arrived at at.
func (p *pipeline) write(b []byte, at time.Time) {
	p.idle(at)
	for _, c := range b {
		if f, ok := p.fr.push(c, at); ok {
			p.frame(f, at)
		}
	}
}

// idle tells the pipeline that nothing came until now.
func (p *pipeline) idle(now time.Time) {
	if f, ok := p.fr.idle(now); ok {
		p.frame(f, now)
	}
}

// reset drops a half-read frame, so that it is never emitted.
func (p *pipeline) reset() { p.fr.reset() }

func (p *pipeline) frame(f frame, at time.Time) {
	switch f.kind {
	case frameTooLong:
		p.reject(f.data, event.RejectTooLong, fmt.Sprintf("longer than %d bytes (%d): discarded up to the end of the read", p.fr.max, f.n), at)
	case frameIncomplete:
		p.reject(f.data, event.RejectCutOff, fmt.Sprintf("incomplete read: no terminator within %v; a partial code is never used", p.fr.staleGap), at)
	default:
		p.code(f.data, f.symLen, at)
	}
}

// code validates and debounces one complete frame; with symLen > 0,
// data[:symLen] is its AIM identifier.
func (p *pipeline) code(data []byte, symLen int, at time.Time) {
	code := data[symLen:]
	if err := checkCode(code); err != nil {
		p.reject(code, event.RejectNotPaymentCode, err.(*CodeError).Reason, at)
		return
	}
	if p.debounce > 0 && string(code) == p.last && at.Sub(p.lastAt) < p.debounce {
		// A scanner in continuous mode reads the code again and again
		// while it is held up: the window slides so that is one scan.
		p.lastAt = at
		return
	}
	s := string(data) // one allocation: code and symbology share it
	p.last, p.lastAt = s[symLen:], at
	p.emit(Event{Kind: EventScan, Device: p.device, Scan: Scan{
		Code: s[symLen:], Symbology: s[:symLen], Source: p.source, Time: at,
	}})
}

// whole takes a code that arrived whole (HID POS): no framing, but it may
// still carry the scanner's terminator, prefix and suffix.
func (p *pipeline) whole(c posCode, at time.Time) {
	if c.tooLong {
		p.reject(c.data, event.RejectTooLong, fmt.Sprintf("longer than %d bytes (%d): discarded", p.fr.max, c.n), at)
		return
	}
	data, symLen := p.fr.strip(bytes.TrimRight(c.data, "\r\n\t"))
	if symLen == 0 && c.sym != nil {
		p.scratch = append(append(p.scratch[:0], c.sym...), data...)
		data, symLen = p.scratch, len(c.sym)
	}
	p.code(data, symLen, at)
}

func (p *pipeline) reject(data []byte, cause, reason string, at time.Time) {
	p.emit(Event{Kind: EventRejected, Device: p.device, Reason: reason, Cause: cause,
		Scan: Scan{Code: string(data), Source: p.source, Time: at}})
}
