package scanner

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"posagent/internal/event"
)

// Keyboard wedge timing. A scanner types a whole code in one burst with
// keys 1–20 ms apart; a person's keys are 80 ms or more apart.
const (
	DefaultMaxKeyGap = 35 * time.Millisecond
	// DefaultTermGap is how long after a burst its terminator may come:
	// some scanners, and a terminal passing keys on (a remote session, a
	// busy PC), send the suffix later than the code. Nobody types six keys
	// 35 ms apart, so a longer wait here cannot take a person's typing for
	// a scan. It is the serial framer's stale gap.
	DefaultTermGap = DefaultStaleGap
	// MinBurst is the shortest burst taken for a scanner: two or three
	// fast keys happen when a person rolls over keys. The TUI's input gate
	// decides with the same rule (DefaultMaxKeyGap, DefaultTermGap,
	// MinBurst), so what it hands the wedge as a scan the wedge keeps.
	MinBurst = 6
	// wedgeQueue bounds keys waiting for Run; a TUI that feeds keys while
	// Run is not running must not grow memory without end.
	wedgeQueue = 4096
	// lostEvery is how often keystrokes lost to a flood are reported: with
	// their count since the last report, so that a flood of thousands is
	// a few events that say how many, not thousands of events or one.
	lostEvery = time.Second
)

// Wedge reads a scanner in keyboard mode through the keystrokes the
// checkout screen passes it. On Windows this is the only way to read such
// a scanner: no program can open a keyboard there. It keeps the scanner's
// bursts and ignores what a person types.
type Wedge struct {
	opts   Options
	maxGap time.Duration

	mu      sync.Mutex
	keys    []keystroke
	dropped int
	wake    chan struct{}
}

type keystroke struct {
	r  rune
	at time.Time
	// joined: the feeder decided this key belongs to the burst of the key
	// before it (KeyBurst), whatever the gap between them says.
	joined bool
}

// NewWedge returns a wedge; Open returns one for kind "wedge".
func NewWedge(o Options) *Wedge {
	return &Wedge{opts: o.withDefaults(), maxGap: DefaultMaxKeyGap, wake: make(chan struct{}, 1)}
}

// Key passes one keystroke, typed at at. It never blocks: the TUI calls it
// from its event loop.
func (w *Wedge) Key(r rune, at time.Time) {
	w.mu.Lock()
	if len(w.keys) < wedgeQueue {
		w.keys = append(w.keys, keystroke{r: r, at: at})
	} else {
		w.dropped++
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// KeyBurst passes a whole burst at once (rs[i] typed at at[i]): a feeder
// that knows it has a burst (the TUI's burst gate) hands it over in one
// piece, so that a pause in the feeder cannot cut it in two, nor a gap
// the feeder forgave as a stall of the PC. It never blocks.
func (w *Wedge) KeyBurst(rs []rune, at []time.Time) {
	w.mu.Lock()
	if len(w.keys)+len(rs) <= wedgeQueue {
		for i, r := range rs {
			w.keys = append(w.keys, keystroke{r: r, at: at[i], joined: i > 0})
		}
	} else {
		w.dropped += len(rs)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Wedge) take(into []keystroke) ([]keystroke, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	into = append(into[:0], w.keys...)
	w.keys = w.keys[:0]
	d := w.dropped
	w.dropped = 0
	return into, d
}

// Run turns bursts into scans until ctx ends.
func (w *Wedge) Run(ctx context.Context, out chan<- Event) error {
	var box outbox
	p, err := newPipeline("wedge", "wedge", w.opts, box.add)
	if err != nil {
		return err
	}
	b := burst{p: p, maxGap: w.maxGap, noTerm: w.opts.Terminator == "none"}
	if !send(ctx, out, Event{Kind: EventConnected, Device: "wedge", Reason: "keyboard wedge: reads what a scanner types into the checkout screen"}) {
		return nil
	}
	var keys []keystroke
	var lost lossReport
	for {
		var gap <-chan time.Time
		switch {
		case b.n >= MinBurst && !b.noTerm:
			gap = w.opts.Clock.After(DefaultTermGap)
		case len(b.text) > 0:
			gap = w.opts.Clock.After(w.maxGap)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-gap:
			b.end(b.last)
		case <-lost.due:
			lost.report(p, w.opts.Clock)
		case <-w.wake:
			var dropped int
			keys, dropped = w.take(keys)
			if dropped > 0 {
				b.reset()
				lost.add(dropped, p, w.opts.Clock)
			}
			for _, k := range keys {
				b.key(k.r, k.at, k.joined)
			}
		}
		if !box.flush(ctx, out) {
			return nil
		}
	}
}

// burst collects keys that come scanner-fast.
type burst struct {
	p      *pipeline
	maxGap time.Duration
	noTerm bool // terminator "none": a burst ends with the silence after it
	text   []byte
	n      int // runes in text
	last   time.Time
}

// key takes one key; joined says it belongs to the burst before it
// whatever its gap.
func (b *burst) key(r rune, at time.Time, joined bool) {
	term := r == '\r' || r == '\n' || r == '\t'
	if gap := at.Sub(b.last); !joined && b.n > 0 && gap > b.maxGap && (!term || b.n < MinBurst || gap > DefaultTermGap) {
		b.end(b.last)
	}
	switch {
	case term:
		if b.n >= MinBurst {
			b.text = append(b.text, '\r')
			b.p.write(b.text, at)
		}
		b.reset()
		return
	case r < 0x20 || r == 0x7f:
		// Backspace, Escape and the like: a person is editing.
		b.reset()
		return
	}
	b.text = utf8.AppendRune(b.text, r)
	b.n++
	b.last = at
}

// end closes a burst that stopped without a terminator.
func (b *burst) end(at time.Time) {
	switch {
	case b.n < MinBurst:
		// A person typing.
	case b.noTerm:
		b.text = append(b.text, '\r')
		b.p.write(b.text, at)
	default:
		b.p.reject(b.text, event.RejectCutOff, "typed as fast as a scanner but no Enter followed (if the scanner sends no suffix, set scanner.terminator to none)", at)
	}
	b.reset()
}

func (b *burst) reset() {
	b.text = b.text[:0]
	b.n = 0
}

// lossReport counts keystrokes lost to a flood and reports them at most
// once per lostEvery, with the count since the last report; a count left
// when a flood stops is reported when its second is up.
type lossReport struct {
	n    int
	last time.Time
	due  <-chan time.Time // set while a count waits for its report
}

func (l *lossReport) add(n int, p *pipeline, c Clock) {
	l.n += n
	if l.due != nil {
		return
	}
	if wait := lostEvery - c.Now().Sub(l.last); !l.last.IsZero() && wait > 0 {
		l.due = c.After(wait)
		return
	}
	l.report(p, c)
}

func (l *lossReport) report(p *pipeline, c Clock) {
	now := c.Now()
	p.reject(nil, event.RejectCutOff, fmt.Sprintf("%d keystrokes came faster than they were read and were lost", l.n), now)
	l.n, l.last, l.due = 0, now, nil
}
