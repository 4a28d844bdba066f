package ui

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"posagent/internal/event"
	"posagent/internal/ui/checkout"
)

// BenchmarkEventToScreen measures one event reaching the screen: applied
// to the model and the screen drawn, on the UI goroutine, with checkout.MaxCustomers
// rows in the last scans, one event per draw (the worst case: no batching).
// It reports the p50 of that against the p50 of drawing the same screen
// with no rows and no event (ratio-to-empty), both measured in this run,
// and the allocations of each event with its draw (allocs/op). Most of
// those are the simulation screen's, per cell drawn, whatever the screen
// shows: event-allocs is allocs/op less the allocations of an empty
// screen's draw, what the event itself costs.
func BenchmarkEventToScreen(b *testing.B) {
	empty := start(b, Deps{}, 80, 24)
	empty.drawTimes(b, 50, nil) // warm up
	before := mallocs()
	base := empty.drawTimes(b, 200, nil)
	emptyAllocs := float64(mallocs()-before) / 200

	h := start(b, Deps{}, 80, 24)
	evs := checkoutEvents(7 * checkout.MaxCustomers)
	h.onUI(func() { h.app.apply(evs) })
	evs = checkoutEvents(7 * 1000)
	b.ReportAllocs()
	b.ResetTimer()
	before = mallocs()
	times := h.drawTimes(b, b.N, func(i int) []event.Event { return evs[i%len(evs) : i%len(evs)+1] })
	b.StopTimer()
	b.ReportMetric(float64(mallocs()-before)/float64(b.N)-emptyAllocs, "event-allocs")
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

func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkEventApply measures what one event costs posagent's own code
// with maxScans rows on screen: the model and the widgets updated (the
// draw that follows is tview's and the terminal's, measured above).
func BenchmarkEventApply(b *testing.B) {
	h := start(b, Deps{}, 80, 24)
	h.onUI(func() { h.app.apply(checkoutEvents(7 * checkout.MaxCustomers)) })
	evs := checkoutEvents(7 * 1000)
	b.ReportAllocs()
	b.ResetTimer()
	h.onUI(func() {
		for i := range b.N {
			h.app.apply(evs[i%len(evs) : i%len(evs)+1])
		}
	})
}
