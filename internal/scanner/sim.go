package scanner

import (
	"context"
	"time"
)

// Step is one thing a simulated scanner does.
type Step struct {
	Delay time.Duration // wait before the step
	Code  string        // sent followed by the configured terminator
	Bytes []byte        // sent exactly: noise, a read cut short
	// Chunks splits what is sent into that many reads, Gap apart, the way a
	// serial port delivers a code in pieces.
	Chunks int
	Gap    time.Duration
	// Unplug makes the scanner vanish for this long before the step's
	// bytes (if any) are sent: a Disconnected event, then Connected.
	Unplug time.Duration
}

// sim plays a script through the same pipeline as a real driver.
type sim struct {
	script []Step
	opts   Options
}

// NewSim returns a scanner that plays script once, then stays connected
// and silent until its context ends. Delays run on opts.Clock.
func NewSim(script []Step, opts Options) Scanner {
	return &sim{script: script, opts: opts.withDefaults()}
}

// demoCodes have the shape of payment codes, for a demo without a gateway
// that issues its own.
var demoCodes = []string{"281234567890123456", "287654321098765432", "251122334455667788", "301234123412341234"}

// DemoScript is what `posagent demo` plays: each code in turn, a few
// seconds apart, with the faults a real scanner shows on the way — a
// double read (debounced), line noise, a read cut short, and an unplug.
// With no codes it uses built-in codes of the right shape.
func DemoScript(codes []string) []Step {
	if len(codes) == 0 {
		codes = demoCodes
	}
	var s []Step
	for i, c := range codes {
		s = append(s, Step{Delay: 3 * time.Second, Code: c, Chunks: 3, Gap: 4 * time.Millisecond})
		switch i % 4 {
		case 0:
			s = append(s, Step{Delay: 300 * time.Millisecond, Code: c})
		case 1:
			s = append(s, Step{Delay: 2 * time.Second, Bytes: []byte("\x00\x1b[A~~\r")})
		case 2:
			s = append(s, Step{Delay: 2 * time.Second, Bytes: []byte(c[:len(c)/2])})
		case 3:
			s = append(s, Step{Delay: time.Second, Unplug: 3 * time.Second})
		}
	}
	return s
}

func (s *sim) Run(ctx context.Context, out chan<- Event) error {
	var box outbox
	p, err := newPipeline("sim", "sim", s.opts, box.add)
	if err != nil {
		return err
	}
	clock := s.opts.Clock
	flush := func() bool { return box.flush(ctx, out) }
	// wait sleeps d on the clock, ending a half-read frame when its gap
	// passes on the way.
	wait := func(d time.Duration) bool {
		for d > 0 {
			w := p.fr.wait()
			if w == 0 || w > d {
				w = d
			}
			select {
			case <-clock.After(w):
			case <-ctx.Done():
				return false
			}
			d -= w
			p.idle(clock.Now())
			if !flush() {
				return false
			}
		}
		return ctx.Err() == nil
	}
	connected := Event{Kind: EventConnected, Device: "sim", Reason: "simulated scanner"}
	if !send(ctx, out, connected) {
		return nil
	}
	for _, st := range s.script {
		if !wait(st.Delay) {
			return nil
		}
		if st.Unplug > 0 {
			p.reset()
			if !send(ctx, out, Event{Kind: EventDisconnected, Device: "sim", Reason: "unplugged (simulated)"}) || !wait(st.Unplug) {
				return nil
			}
			if !send(ctx, out, connected) {
				return nil
			}
		}
		data := st.Bytes
		if st.Code != "" {
			data = append([]byte(st.Code), s.terminator()...)
		}
		for i, c := range chunks(data, st.Chunks) {
			if i > 0 && !wait(st.Gap) {
				return nil
			}
			p.write(c, clock.Now())
			if !flush() {
				return nil
			}
		}
	}
	if !wait(p.fr.wait()) {
		return nil
	}
	<-ctx.Done()
	return nil
}

func (s *sim) terminator() string {
	switch s.opts.Terminator {
	case "LF":
		return "\n"
	case "CRLF":
		return "\r\n"
	case "TAB":
		return "\t"
	case "none":
		return ""
	}
	return "\r"
}

func chunks(b []byte, n int) [][]byte {
	if n <= 1 || len(b) <= 1 {
		return [][]byte{b}
	}
	n = min(n, len(b))
	var out [][]byte
	size := (len(b) + n - 1) / n
	for len(b) > 0 {
		k := min(size, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}
