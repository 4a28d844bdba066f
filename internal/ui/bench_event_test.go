package ui

import (
	"slices"
	"testing"
	"time"

	"posagent/internal/event"
)

// BenchmarkEventToScreen measures one event reaching the screen: applied
// to the model and the screen drawn, on the UI goroutine, with maxScans
// rows in the last scans, one event per draw (the worst case: no batching).
// It reports the p50 of that against the p50 of drawing the same screen
// with no rows and no event (ratio-to-empty), both measured in this run,
// and the allocations of each event with its draw (allocs/op).
func BenchmarkEventToScreen(b *testing.B) {
	empty := start(b, Deps{}, 80, 24)
	base := empty.drawTimes(b, 200, nil)

	h := start(b, Deps{}, 80, 24)
	evs := checkoutEvents(7 * maxScans)
	h.onUI(func() { h.app.apply(evs) })
	evs = checkoutEvents(7 * 1000)
	b.ReportAllocs()
	b.ResetTimer()
	times := h.drawTimes(b, b.N, func(i int) []event.Event { return evs[i%len(evs) : i%len(evs)+1] })
	b.StopTimer()
	p50, p50Empty := median(times), median(base)
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p50Empty.Microseconds()), "empty-p50-µs")
	b.ReportMetric(float64(p50)/float64(p50Empty), "ratio-to-empty")
}

// onUI runs f on the UI goroutine and waits for it.
func (h *harness) onUI(f func()) { h.app.tv.QueueUpdate(f) }

// drawTimes applies n batches (batch(i); nil applies nothing) one per
// draw and returns how long each took from queueing to drawn.
func (h *harness) drawTimes(_ testing.TB, n int, batch func(i int) []event.Event) []time.Duration {
	times := make([]time.Duration, n)
	for i := range n {
		var evs []event.Event
		if batch != nil {
			evs = batch(i)
		}
		began := time.Now()
		// QueueUpdateDraw returns after the update and its draw.
		h.app.tv.QueueUpdateDraw(func() { h.app.apply(evs) })
		times[i] = time.Since(began)
	}
	return times
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
