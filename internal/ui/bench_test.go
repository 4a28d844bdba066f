package ui

import (
	"fmt"
	"testing"
	"time"

	"posagent/internal/event"
)

// checkoutEvents is a realistic mix: a scan, its decode, a retry, a
// coupon, the status bar's events.
func checkoutEvents(n int) []event.Event {
	evs := make([]event.Event, 0, n)
	now := time.Now()
	for i := 0; len(evs) < n; i++ {
		st := event.Stamp{Time: now}
		sence := fmt.Sprintf("till3-%06d", i)
		code := fmt.Sprintf("28************%04d", i%10000)
		evs = append(evs,
			event.Scan{Stamp: st, SenceNo: sence, CodeMasked: code, Source: "sim"},
			event.Decoding{Stamp: st, SenceNo: sence, CodeMasked: code, Attempt: 1},
			event.Decoding{Stamp: st, SenceNo: sence, CodeMasked: code, Attempt: 2},
			event.Decoded{Stamp: st, SenceNo: sence, UserIDMasked: "2088********4333", SchoolStdCode: "4136013432", CampusNo: "2018012345"},
			event.CouponIssued{Stamp: st, SenceNo: sence, TplID: "tplA", SerialNumber: sence + "-tplA", PassID: "p"},
			event.Gateway{Stamp: st, State: event.GatewayUp},
			event.Scanner{Stamp: st, State: event.ScannerConnected, Device: "sim"},
		)
	}
	return evs[:n]
}

// waitDrawn waits until n events are on the screen, calling seen with each
// drawn count it observes.
func (h *harness) waitDrawn(tb testing.TB, n uint64, seen func(uint64)) {
	tb.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case got := <-h.app.drawn:
			if seen != nil {
				seen(got)
			}
			if got >= n {
				return
			}
		case <-deadline:
			tb.Fatalf("only part of %d events reached the screen", n)
		}
	}
}

// BenchmarkEventsToScreen measures getting events from the bus onto the
// (simulated) screen, batching and frame pacing included: ns/op is per
// event, events/s the capacity. Redraws are paced at one per frame, so the
// capacity is about maxBatch events per frame by design; what matters is
// that it is far above 1,000 events/s. Events are published in rounds well
// under the subscription's backlog, each waited for, and none may be
// dropped.
func BenchmarkEventsToScreen(b *testing.B) {
	h := start(b, Deps{}, 100, 30)
	const round = 3 * maxBatch
	evs := checkoutEvents(round)
	b.ReportAllocs()
	b.ResetTimer()
	began := time.Now()
	published := uint64(0)
	for published < uint64(b.N) {
		n := min(uint64(round), uint64(b.N)-published)
		for i := range n {
			h.bus.Publish(evs[i])
		}
		published += n
		h.waitDrawn(b, published, nil)
	}
	elapsed := time.Since(began)
	b.StopTimer()
	if d := h.sub.Dropped(); d != 0 {
		b.Fatalf("%d events dropped", d)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// BenchmarkEventsAt1000PerSecond publishes 1,000 events a second for one
// second per iteration, as a busy checkout never would, and reports how far
// the screen fell behind at worst (max-lag-ms: from publishing an event to
// the draw that showed it).
func BenchmarkEventsAt1000PerSecond(b *testing.B) {
	h := start(b, Deps{}, 100, 30)
	evs := checkoutEvents(1000)
	var worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		base := uint64(i * len(evs))
		sent := make([]time.Time, len(evs))
		done := make(chan struct{})
		go func() {
			defer close(done)
			var shown uint64
			h.waitDrawn(b, base+uint64(len(evs)), func(got uint64) {
				if got > base && got-base > shown {
					// The oldest event of this draw waited longest.
					if lag := time.Since(sent[shown]); lag > worst {
						worst = lag
					}
					shown = got - base
				}
			})
		}()
		// Event j is due j ms after the start; each tick publishes those due,
		// so a late tick cannot lower the rate.
		tick := time.NewTicker(time.Millisecond)
		began := time.Now()
		for j := 0; j < len(evs); {
			now := <-tick.C
			for ; j < len(evs) && began.Add(time.Duration(j)*time.Millisecond).Before(now); j++ {
				sent[j] = time.Now()
				h.bus.Publish(evs[j])
			}
		}
		tick.Stop()
		<-done
	}
	b.StopTimer()
	if d := h.sub.Dropped(); d != 0 {
		b.Fatalf("%d events dropped", d)
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-lag-ms")
}
