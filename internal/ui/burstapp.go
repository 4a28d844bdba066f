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
	if ev == a.silence.Load() {
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
	if len(replay) > 0 && a.front() != pageCheckout || len(burst) > 0 {
		now := a.gateNow()
		if len(replay) > 0 {
			a.diag.add(constLine(diagKeys(now, replay, a.keyTime, false)))
		}
		if len(burst) > 0 {
			a.diag.add(constLine(diagKeys(now, burst, a.keyTime, true)))
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
	for _, ev := range burst {
		r := ev.Rune()
		switch ev.Key() {
		case tcell.KeyEnter:
			r = '\r'
		case tcell.KeyTab:
			r = '\t'
		}
		a.deps.Keys.Key(r, a.keyTime(ev))
	}
}

// gateTimer decides held keys once the silence after them is long enough:
// a person's single key must not wait for the next one. The decision
// travels as a marker key behind the keys already typed: a busy screen
// takes keys late, and keys waiting in line are no silence.
func (a *App) gateTimer(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-a.gateWake:
			t.Reset(d.Sub(a.gateNow()))
		case <-t.C:
			if ctx.Err() != nil {
				return
			}
			m := tcell.NewEventKey(tcell.KeyF64, 0, tcell.ModNone)
			a.silence.Store(m)
			a.tv.QueueEvent(m)
		}
	}
}

func constLine(s string) func() string { return func() string { return s } }
