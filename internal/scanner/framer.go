package scanner

import (
	"bytes"
	"fmt"
	"time"
)

// checkTerminator accepts the terminators a Spec may name.
func checkTerminator(s string) error {
	switch s {
	case "CR", "LF", "CRLF", "TAB", "none":
		return nil
	}
	return fmt.Errorf("terminator %q: want CR, LF, CRLF, TAB or none", s)
}

type frameKind int

const (
	frameData       frameKind = iota // a complete frame
	frameTooLong                     // longer than the maximum: discarded
	frameIncomplete                  // no terminator came: a half read, discarded
)

// frame is what the framer cut. data aliases the framer's buffer and is
// valid until the next call; with an AIM identifier, data[:symLen] holds it.
type frame struct {
	kind   frameKind
	data   []byte
	symLen int
	n      int // bytes the frame had, including what a too-long frame lost
}

// framer cuts a byte stream into frames. Every terminator (CR, LF, TAB)
// ends a frame, whichever one was configured, because scanners set to CR
// are often met sending CRLF; the empty frames that makes are dropped.
// The configured terminator decides what silence means: with "none" a gap
// of idleGap ends a frame; otherwise a frame still open after staleGap is a
// half read and is discarded, never emitted.
//
// The buffer never grows past max: input beyond it is counted and dropped
// up to the next terminator (or the next gap).
type framer struct {
	noTerm         bool // terminator "none"
	prefix, suffix []byte
	max            int
	idleGap        time.Duration
	staleGap       time.Duration

	buf      []byte
	n        int // bytes of the current frame, including those dropped
	last     time.Time
	overflow bool
}

func newFramer(o Options) (framer, error) {
	if err := checkTerminator(o.Terminator); err != nil {
		return framer{}, err
	}
	return framer{
		noTerm:   o.Terminator == "none",
		prefix:   []byte(o.Prefix),
		suffix:   []byte(o.Suffix),
		max:      o.MaxLength,
		idleGap:  o.IdleGap,
		staleGap: o.StaleGap,
		buf:      make([]byte, 0, o.MaxLength),
	}, nil
}

// push adds one byte received at at. It returns a frame when b ended one.
func (f *framer) push(b byte, at time.Time) (frame, bool) {
	if b == '\r' || b == '\n' || b == '\t' {
		return f.end(frameData)
	}
	f.last = at
	f.n++
	if f.overflow {
		return frame{}, false
	}
	if len(f.buf) == f.max {
		f.overflow = true
		return frame{}, false
	}
	f.buf = append(f.buf, b)
	return frame{}, false
}

// idle is called when no byte has come for a while: it ends the open frame
// if the silence since its last byte is long enough.
func (f *framer) idle(now time.Time) (frame, bool) {
	if f.n == 0 {
		return frame{}, false
	}
	gap := now.Sub(f.last)
	if f.noTerm {
		if gap >= f.idleGap {
			return f.end(frameData)
		}
		return frame{}, false
	}
	if gap >= f.staleGap {
		return f.end(frameIncomplete)
	}
	return frame{}, false
}

// reset drops an open frame: the device went away in the middle of it.
func (f *framer) reset() {
	f.buf = f.buf[:0]
	f.n = 0
	f.overflow = false
}

// wait is how long a driver may stay silent before calling idle, or 0 when
// no frame is open.
func (f *framer) wait() time.Duration {
	switch {
	case f.n == 0:
		return 0
	case f.noTerm:
		return f.idleGap
	}
	return f.staleGap
}

func (f *framer) end(kind frameKind) (frame, bool) {
	if f.n == 0 {
		return frame{}, false
	}
	fr := frame{kind: kind, data: f.buf, n: f.n}
	if f.overflow {
		fr.kind = frameTooLong
	}
	f.buf = f.buf[:0]
	f.n = 0
	f.overflow = false
	if fr.kind == frameData {
		fr.data, fr.symLen = f.strip(fr.data)
	}
	return fr, true
}

// strip removes the configured prefix and suffix, then finds an AIM
// symbology identifier (']', a code character, a modifier) at the start.
func (f *framer) strip(d []byte) ([]byte, int) {
	if len(f.prefix) > 0 && bytes.HasPrefix(d, f.prefix) {
		d = d[len(f.prefix):]
	}
	if len(f.suffix) > 0 && bytes.HasSuffix(d, f.suffix) {
		d = d[:len(d)-len(f.suffix)]
	}
	if isAIM(d) {
		return d, 3
	}
	return d, 0
}

func isAIM(d []byte) bool {
	if len(d) < 3 || d[0] != ']' {
		return false
	}
	c, m := d[1], d[2]
	return (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') &&
		(m >= '0' && m <= '9' || m >= 'A' && m <= 'Z' || m >= 'a' && m <= 'z')
}
