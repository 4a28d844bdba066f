package scanner

import (
	"context"
	"strings"
	"testing"
	"time"
)

// typeKeys feeds s starting at start, gap apart, and returns the time of
// the last key.
func typeKeys(w *Wedge, s string, start time.Time, gap time.Duration) time.Time {
	at := start
	for i, r := range s {
		if i > 0 {
			at = at.Add(gap)
		}
		w.Key(r, at)
	}
	return at
}

func startWedge(t *testing.T, o Options) (*Wedge, <-chan Event) {
	t.Helper()
	s, err := Open(Spec{Kind: "wedge", Terminator: "CR"}, o)
	if err != nil {
		t.Fatal(err)
	}
	w := s.(*Wedge)
	out, _, _ := startScanner(t, w)
	if e := next(t, out); e.Kind != EventConnected || e.Device != "wedge" {
		t.Fatalf("got %+v", e)
	}
	return w, out
}

func TestWedgeScannerBurst(t *testing.T) {
	w, out := startWedge(t, Options{Clock: newManualClock()})
	typeKeys(w, code1+"\r", epoch, 8*time.Millisecond)
	if e := next(t, out); e.Kind != EventScan || e.Scan.Code != code1 || e.Scan.Source != "wedge" {
		t.Fatalf("got %+v", e)
	}
}

func TestWedgeIgnoresPeople(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		person func(w *Wedge) time.Time // types, returns when it stopped
	}{
		{"a person types a code and Enter", func(w *Wedge) time.Time { return typeKeys(w, code2+"\r", epoch, 150*ms) }},
		{"a fast typist", func(w *Wedge) time.Time { return typeKeys(w, code2+"\r", epoch, 60*ms) }},
		{"rolled-over keys", func(w *Wedge) time.Time { return typeKeys(w, "ab\r", epoch, 10*ms) }},
		{"a person's digits before the scan", func(w *Wedge) time.Time { return typeKeys(w, "12", epoch, 200*ms) }},
		{"a scanner-fast burst then Enter much later", func(w *Wedge) time.Time {
			last := typeKeys(w, "hello world", epoch, 5*ms) // ends as a rejected burst
			w.Key('\r', last.Add(time.Second))
			return last.Add(time.Second)
		}},
		{"edited with backspace", func(w *Wedge) time.Time { return typeKeys(w, "2812345678901234567\b\r", epoch, 5*ms) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, out := startWedge(t, Options{Clock: newManualClock()})
			end := tt.person(w)
			typeKeys(w, code1+"\r", end.Add(300*ms), 5*ms)
			e := next(t, out)
			if e.Kind == EventRejected && strings.Contains(e.Reason, "no Enter followed") {
				e = next(t, out)
			}
			if e.Kind != EventScan || e.Scan.Code != code1 {
				t.Fatalf("got %+v, want only the scanner's code", e)
			}
		})
	}
}

// A burst handed over whole (KeyBurst) is one scan, even with a gap the
// feeder forgave as a stall of the PC; keys passed one by one with the
// same gap are two reads.
func TestWedgeKeyBurstKeepsItsStall(t *testing.T) {
	const stallAt = 3
	keys := []rune(code1 + "\r")
	at := make([]time.Time, len(keys))
	for i := range at {
		at[i] = epoch.Add(time.Duration(i) * 5 * time.Millisecond)
		if i >= stallAt {
			at[i] = at[i].Add(200 * time.Millisecond)
		}
	}
	w, out := startWedge(t, Options{Clock: newManualClock()})
	w.KeyBurst(keys, at)
	if e := next(t, out); e.Kind != EventScan || e.Scan.Code != code1 {
		t.Fatalf("KeyBurst with a stall: got %+v, want the scan of %s", e, code1)
	}

	w, out = startWedge(t, Options{Clock: newManualClock()})
	for i, r := range keys {
		w.Key(r, at[i])
	}
	if e := next(t, out); e.Kind != EventRejected || e.Scan.Code != code1[stallAt:] {
		t.Fatalf("keys one by one with the same gap: got %+v, want the rest rejected as a read of its own", e)
	}
}

func TestWedgeBurstWithoutEnter(t *testing.T) {
	w, out := startWedge(t, Options{Clock: newManualClock()})
	last := typeKeys(w, code1, epoch, 5*time.Millisecond)
	w.Key('x', last.Add(time.Second))
	e := next(t, out)
	if e.Kind != EventRejected || e.Scan.Code != code1 || !strings.Contains(e.Reason, "set scanner.terminator to none") {
		t.Fatalf("got %+v", e)
	}
}

// With terminator none a burst ends with the silence after it, measured
// on the clock.
func TestWedgeTerminatorNone(t *testing.T) {
	clock := newManualClock()
	s, _ := Open(Spec{Kind: "wedge", Terminator: "none"}, Options{Clock: clock})
	out, _, _ := startScanner(t, s)
	next(t, out)
	typeKeys(s.(*Wedge), code1, epoch, 5*time.Millisecond)
	for {
		select {
		case d := <-clock.waits:
			clock.Advance(d)
			continue
		case e := <-out:
			if e.Kind != EventScan || e.Scan.Code != code1 {
				t.Fatalf("got %+v", e)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no scan")
		}
		break
	}
}

func TestWedgeQueueBound(t *testing.T) {
	w := NewWedge(Options{Clock: newManualClock()})
	typeKeys(w, strings.Repeat("1", wedgeQueue+10), epoch, time.Millisecond)
	if len(w.keys) != wedgeQueue {
		t.Fatalf("%d keys queued, want the bound %d", len(w.keys), wedgeQueue)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Event, 4)
	go w.Run(ctx, out)
	next(t, out) // connected
	if e := next(t, out); e.Kind != EventRejected || !strings.Contains(e.Reason, "lost") {
		t.Fatalf("got %+v, want the loss reported", e)
	}
}

// A flood of keystrokes is reported with how many were lost, at most once
// a second: a count left when the flood stops comes when its second is up.
func TestWedgeFloodReportedWithCountsOnceASecond(t *testing.T) {
	c := newManualClock()
	var box outbox
	p, err := newPipeline("wedge", "wedge", Options{Clock: c}.withDefaults(), box.add)
	if err != nil {
		t.Fatal(err)
	}
	var l lossReport
	l.add(3000, p, c)
	l.add(2000, p, c)
	c.Advance(500 * time.Millisecond)
	l.add(4500, p, c)
	if len(box.events) != 1 || !strings.Contains(box.events[0].Reason, "3000 keystrokes") {
		t.Fatalf("events %+v, want one reporting 3000", box.events)
	}
	c.Advance(500 * time.Millisecond)
	<-l.due
	l.report(p, c)
	if len(box.events) != 2 || !strings.Contains(box.events[1].Reason, "6500 keystrokes") || !box.events[1].Scan.Time.Equal(epoch.Add(time.Second)) {
		t.Fatalf("events %+v, want a second one, a second later, reporting 6500", box.events)
	}
	if box.events[1].Kind != EventRejected {
		t.Errorf("kind %v", box.events[1].Kind)
	}
}
