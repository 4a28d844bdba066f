package ui

import (
	"slices"
	"time"

	"github.com/gdamore/tcell/v2"

	"posagent/internal/scanner"
)

// A keyboard-wedge scanner types into whatever has focus. The burst gate
// sits at the application's input capture, in front of every screen: it
// holds typed keys for a moment and decides whether they came from a
// scanner (a burst: keys a few milliseconds apart, ending in the
// terminator) or from a person (keys 80 ms or more apart). A burst goes to
// the scanner and never reaches a field; a person's keys are replayed, in
// order, to the screen in front.
const (
	// burstKeyGap is the longest gap between two keys of one burst:
	// scanners type 2–15 ms apart, people 80 ms and more.
	burstKeyGap = scanner.DefaultMaxKeyGap
	// burstTermGap is how long after a burst the terminator may come: some
	// scanners (and a terminal passing keys on) send the suffix a little
	// later than the code. No person types six keys 35 ms apart, so waiting
	// longer here cannot take a person's typing for a scan.
	burstTermGap = scanner.DefaultTermGap
	// burstMin is the shortest run of fast keys taken for a scanner; a
	// person rolling over keys makes two or three.
	burstMin = scanner.MinBurst
	// stallSlack: a timer that fires more than this late says the PC
	// stalled (tcell's reader and the timer alike): keys typed meanwhile
	// are read late, all at once, so that their gap measures the stall
	// and not the typing (gateTimer, burstGate.key).
	stallSlack = 10 * time.Millisecond
	// stallMax is the longest stall forgiven inside one burst: longer, and
	// the keys are two reads (the serial framer's stale gap).
	stallMax = scanner.DefaultStaleGap
	// bunchGap: keys a stalled PC reads late come all at once, closer
	// together than a scanner types them.
	bunchGap = 2 * time.Millisecond
)

// burstGate is the decision, without a screen or a clock of its own: key
// and flush are given the time, so that recorded timings replay exactly.
type burstGate struct {
	held []*tcell.EventKey
	last time.Time // when the newest held key was typed
	// stalled: one gap in the held keys was forgiven as a stall. One per
	// run: a run with two slow gaps is a person's, however it is read.
	stalled bool
	// joinAt > 0: held[joinAt] came after a pause in a burst long enough,
	// forgiven on trust until the key after it shows whether keys were
	// read late (it comes at once, or it is the terminator, which may come
	// late anyway): else the burst
	// ended before held[joinAt] (a scanner with no suffix, then a person's
	// key or a second read), and the two are split there.
	joinAt int
}

// keyClass is what a key means to the gate.
type keyClass int

const (
	keyOther keyClass = iota // F-keys, arrows, Alt-, Ctrl-, Esc, Backspace: a person
	keyText                  // a printable rune a scanner may type
	keyTerm                  // Enter or Tab: a scanner's terminator
)

func classify(ev *tcell.EventKey) keyClass {
	switch {
	case ev.Key() == tcell.KeyRune && ev.Modifiers()&(tcell.ModAlt|tcell.ModCtrl|tcell.ModMeta) == 0:
		return keyText
	case ev.Key() == tcell.KeyEnter, ev.Key() == tcell.KeyTab:
		return keyTerm
	}
	return keyOther
}

// key takes one key typed at at. replay are keys held earlier that turned
// out to be a person's, to be handled as if typed now and before ev;
// burst is a scanner's burst, terminator included when there was one;
// taken reports that ev itself is held or part of burst (else the caller
// handles ev after replay).
func (g *burstGate) key(ev *tcell.EventKey, at time.Time) (replay, burst []*tcell.EventKey, taken bool) {
	class := classify(ev)
	if g.joinAt > 0 {
		if gap := at.Sub(g.last); gap <= bunchGap || (class == keyTerm && gap <= burstTermGap) {
			g.joinAt = 0 // read late, all at once: the pause was a stall
		} else {
			burst = g.split()
		}
	}
	if len(g.held) > 0 {
		gap := at.Sub(g.last)
		late := gap > burstKeyGap
		if class == keyTerm && len(g.held) >= burstMin {
			late = gap > burstTermGap
		}
		if late && !g.stalled && gap <= stallMax {
			switch {
			case at.After(g.deadline()):
				// Held keys still undecided after their deadline: the
				// timer did not decide them on time (it would have been
				// first in line), so this gap is a stall of the PC, not
				// silence.
				late, g.stalled = false, true
			case len(g.held) >= burstMin && class == keyText:
				// A burst long enough waits for its terminator anyway
				// (burstTermGap): more of it after a pause may be a
				// stall; the next key tells (joinAt).
				late, g.stalled, g.joinAt = false, true, len(g.held)
			}
		}
		if late {
			r, b := g.resolve()
			replay = append(replay, r...)
			if b != nil {
				burst = b
			}
		}
	}
	switch class {
	case keyText:
		g.held = append(g.held, ev)
		g.last = at
		return replay, burst, true
	case keyTerm:
		if len(g.held) >= burstMin && burst == nil {
			burst = append(g.held, ev)
			g.held, g.stalled, g.joinAt = nil, false, 0
			return replay, burst, true
		}
	}
	// A person: what was held is theirs too.
	replay = append(replay, g.held...)
	g.held, g.stalled, g.joinAt = nil, false, 0
	return replay, burst, false
}

// split ends the burst before held[joinAt], returning it, and keeps the
// keys from there as a run of their own.
func (g *burstGate) split() []*tcell.EventKey {
	first := g.held[:g.joinAt:g.joinAt]
	g.held = slices.Clone(g.held[g.joinAt:])
	g.joinAt, g.stalled = 0, false
	return first
}

// deadline is when the held keys are decided by silence; zero when none
// are held.
func (g *burstGate) deadline() time.Time {
	switch {
	case len(g.held) == 0:
		return time.Time{}
	case len(g.held) >= burstMin:
		return g.last.Add(burstTermGap)
	}
	return g.last.Add(burstKeyGap)
}

// flush decides the held keys if nothing was typed since long enough
// before now.
func (g *burstGate) flush(now time.Time) (replay, burst []*tcell.EventKey) {
	if d := g.deadline(); d.IsZero() || now.Before(d) {
		return nil, nil
	}
	return g.resolve()
}

// resolve decides the held keys after a silence: a run of fast keys long
// enough is a scanner that sent no terminator (the wedge decides whether
// that is a scan or a cut read), anything shorter a person.
func (g *burstGate) resolve() (replay, burst []*tcell.EventKey) {
	if g.joinAt > 0 {
		// Nothing came after the pause: the burst had ended before it.
		burst = g.split()
	}
	held := g.held
	g.held, g.stalled = nil, false
	if burst == nil && len(held) >= burstMin {
		return nil, held
	}
	return held, burst
}

// holding is how many keys wait for a decision.
func (g *burstGate) holding() int { return len(g.held) }
