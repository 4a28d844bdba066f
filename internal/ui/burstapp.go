package ui

import (
	"context"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// capture is the application's input capture: every key passes the burst
// gate before any screen sees it.
func (a *App) capture(ev *tcell.EventKey) *tcell.EventKey {
	if ev.Key() == silenceKey {
		// Ours, from gateTimer (perhaps an older one, overtaken by keys):
		// decide by silence if there has been enough of it.
		a.decided(a.gate.flush(a.gateNow()))
		return nil
	}
	replay, burst, taken := a.gate.key(ev, a.keyTime(ev))
	a.decided(replay, burst)
	if taken {
		return nil
	}
	return a.globalKeys(ev)
}

// decided hands a burst to the scanner and replays a person's keys to the
// screen in front, in the order they were typed; then it arms the timer
// for the keys still held.
func (a *App) decided(replay, burst []*tcell.EventKey) {
	if len(replay) > 0 || len(burst) > 0 {
		now := a.gateNow()
		if len(replay) > 0 {
			a.diag.addPerson(now, len(replay))
		}
		if len(burst) > 0 {
			a.diag.add(constLine(diagKeys(now, burst, a.keyTime)))
		}
		a.diag.render()
	}
	for _, ev := range replay {
		if ev = a.globalKeys(ev); ev != nil && a.root.HasFocus() {
			a.root.InputHandler()(ev, func(p tview.Primitive) { a.tv.SetFocus(p) })
		}
	}
	if burst != nil {
		a.scanned(burst)
	}
	a.checkout.reading(a.gate.holding())
	if d := a.gate.deadline(); !d.IsZero() {
		select {
		case <-a.gateWake:
		default:
		}
		a.gateWake <- d
	}
}

// scanned passes a scanner's burst to the keyboard wedge, whatever screen
// is in front. Without a wedge (posagent reads its scanner another way)
// the burst is dropped: it must not land in a field either way.
func (a *App) scanned(burst []*tcell.EventKey) {
	if a.deps.Keys == nil {
		return
	}
	rs, at := make([]rune, len(burst)), make([]time.Time, len(burst))
	for i, ev := range burst {
		rs[i], at[i] = ev.Rune(), a.keyTime(ev)
		switch ev.Key() {
		case tcell.KeyEnter:
			rs[i] = '\r'
		case tcell.KeyTab:
			rs[i] = '\t'
		}
	}
	if b, ok := a.deps.Keys.(burstFeeder); ok {
		b.KeyBurst(rs, at)
		return
	}
	for i, r := range rs {
		a.deps.Keys.Key(r, at[i])
	}
}

// burstFeeder is a KeyFeeder that takes a whole burst in one piece
// (scanner.Wedge): a pause of the UI goroutine between two keys then
// cannot look like the end of the burst.
type burstFeeder interface {
	KeyBurst(rs []rune, at []time.Time)
}

// silenceKey marks gateTimer's markers: no keyboard or terminal sends F64.
const silenceKey = tcell.KeyF64

// gateTimer decides held keys once the silence after them is long enough:
// a person's single key must not wait for the next one. The decision
// travels as a marker key behind the keys already typed: a busy screen
// takes keys late, and keys waiting in line are no silence.
//
// A timer that fires late says the PC stalled: keys typed meanwhile may
// still wait to be read, and a marker sent now would come before them and
// decide by a silence that was not there. It waits burstKeyGap more first,
// so that they come before it (the gate forgives their gap: burstGate.key).
func (a *App) gateTimer(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	var due time.Time // when t should fire, on the real clock
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-a.gateWake:
			wait := max(d.Sub(a.gateNow()), 0)
			due = time.Now().Add(wait)
			t.Reset(wait)
		case <-t.C:
			if ctx.Err() != nil {
				return
			}
			if !due.IsZero() && time.Since(due) > stallSlack {
				due = time.Time{}
				t.Reset(burstKeyGap)
				continue
			}
			due = time.Time{}
			a.tv.QueueEvent(tcell.NewEventKey(silenceKey, 0, tcell.ModNone))
		}
	}
}

func constLine(s string) func() string { return func() string { return s } }
