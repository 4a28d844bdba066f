package event

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

var at = time.Date(2026, 11, 22, 10, 30, 0, 123e6, time.FixedZone("CST", 8*3600))

func TestMarshalJSONLine(t *testing.T) {
	tests := []struct {
		ev     Event
		fields []string // every field the contract requires, beyond type and time
	}{
		{Scan{Stamp: Stamp{Time: at}, SenceNo: "T1-20261122-000001", CodeMasked: "28**********1234", Source: "sim"}, []string{"sence_no", "code_masked", "source"}},
		{Decoded{Stamp: Stamp{Time: at}, SenceNo: "T1-20261122-000001", UserID: "2088********1234"}, []string{"sence_no", "user_id", "user_id_masked", "school_std_code", "campus_no"}},
		{DecodeFailed{Stamp: Stamp{Time: at}, SubCode: "CODE_EXPIRED"}, []string{"sence_no", "code", "sub_code", "message", "action"}},
		{CouponIssued{Stamp: Stamp{Time: at}}, []string{"sence_no", "tpl_id", "serial_number", "pass_id"}},
		{Queued{Stamp: Stamp{Time: at}, NextAt: at.Add(time.Second)}, []string{"job_id", "kind", "sence_no", "attempt", "next_at", "reason"}},
		{Dead{Stamp: Stamp{Time: at}}, []string{"job_id", "kind", "sence_no", "reason"}},
		{Queued{Stamp: Stamp{Time: at}, TplID: "tpl1", SerialNumber: "s1"}, []string{"job_id", "kind", "sence_no", "tpl_id", "serial_number", "attempt", "next_at", "reason"}},
		{Gateway{Stamp: Stamp{Time: at}, State: GatewayDown, Cause: CauseUnreachable}, []string{"state", "cause", "detail"}},
		{Scanner{Stamp: Stamp{Time: at}, State: ScannerConnected}, []string{"state", "device", "detail"}},
		{ScanRejected{Stamp: Stamp{Time: at}}, []string{"code_masked", "source", "reason", "cause"}},
		{Decoding{Stamp: Stamp{Time: at}, Attempt: 1}, []string{"sence_no", "code_masked", "attempt"}},
		{CouponFailed{Stamp: Stamp{Time: at}}, []string{"sence_no", "tpl_id", "serial_number", "reason"}},
		{Started{Stamp: Stamp{Time: at}}, []string{"version", "run_id", "terminal_id", "gateway_url", "data_dir", "scanner", "api_url", "api_token_file"}},
		{Stopping{Stamp: Stamp{Time: at}}, []string{"reason"}},
		{Payment{Stamp: Stamp{Time: at}}, []string{"sence_no", "out_trade_no", "state", "total_amount", "trade_no", "message", "action", "recovered"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.ev.Type()), func(t *testing.T) {
			b, err := MarshalJSONLine(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(string(b), "\n\r") {
				t.Fatalf("line holds a newline: %s", b)
			}
			prefix := `{"type":"` + string(tt.ev.Type()) + `","time":"2026-11-22T10:30:00.123+08:00","seq":0`
			if !strings.HasPrefix(string(b), prefix) {
				t.Fatalf("got %s, want prefix %s", b, prefix)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("not JSON: %v: %s", err, b)
			}
			if got, want := len(m), len(tt.fields)+3; got != want {
				t.Errorf("%d fields, want %d: %s", got, want, b)
			}
			for _, f := range tt.fields {
				if _, ok := m[f]; !ok {
					t.Errorf("field %q missing: %s", f, b)
				}
			}
			ts, err := time.Parse(time.RFC3339, m["time"].(string))
			if err != nil || !ts.Equal(at) {
				t.Errorf("time %v (%v), want %v", ts, err, at)
			}
		})
	}
}

func TestBusOrderAndFanOut(t *testing.T) {
	b := NewBus()
	s1, s2 := b.Subscribe(), b.Subscribe()
	const n = 1000
	go func() {
		for i := range n {
			b.Publish(Queued{Stamp: Stamp{Time: at}, Attempt: i})
		}
		b.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range []*Subscription{s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				e, err := s.Next(ctx)
				if errors.Is(err, ErrClosed) {
					if i != n {
						t.Errorf("closed after %d events, want %d", i, n)
					}
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				if got := e.(Queued).Attempt; got != i {
					t.Errorf("event %d carries %d: out of order", i, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestBusBacklogDropsOldest(t *testing.T) {
	b := NewBus()
	b.backlog = 3
	s := b.Subscribe()
	for i := range 5 {
		b.Publish(Queued{Attempt: i})
	}
	if got := s.Dropped(); got != 2 {
		t.Fatalf("dropped %d, want 2", got)
	}
	for want := 2; want < 5; want++ {
		e, ok := s.TryNext()
		if !ok || e.(Queued).Attempt != want {
			t.Fatalf("got %v %v, want attempt %d", e, ok, want)
		}
	}
	if _, ok := s.TryNext(); ok {
		t.Fatal("queue should be empty")
	}
}

func TestSubscriptionCloseAndContext(t *testing.T) {
	b := NewBus()
	s := b.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next on cancelled ctx: %v", err)
	}
	s.Close()
	b.Publish(Gateway{State: GatewayUp})
	if _, err := s.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	b.Close()
	if _, err := b.Subscribe().Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after bus Close: %v", err)
	}
}

func TestBusNumbersEvents(t *testing.T) {
	b := NewBus()
	sub := b.Subscribe()
	b.Publish(Gateway{State: GatewayUp})
	b.Publish(Scan{Stamp: Stamp{Time: at}, SenceNo: "s1"})
	b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for want := uint64(1); want <= 2; want++ {
		e, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e.Sequence() != want {
			t.Errorf("%s: seq %d, want %d", e.Type(), e.Sequence(), want)
		}
		if e.When().IsZero() {
			t.Errorf("%s: no time", e.Type())
		}
	}
}

// Every time in an event is RFC 3339 with milliseconds, like "time".
func TestTimesInMilliseconds(t *testing.T) {
	next := time.Date(2026, 12, 3, 7, 26, 9, 929977700, time.UTC)
	line, err := MarshalJSONLine(Queued{Stamp: Stamp{Time: next, Seq: 3}, JobID: "5", Reason: `say "next_at":x`, NextAt: next})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"queued","time":"2026-12-03T07:26:09.929Z","seq":3,"job_id":"5","kind":"","sence_no":"","attempt":0,"next_at":"2026-12-03T07:26:09.929Z","reason":"say \"next_at\":x"}`
	if string(line) != want {
		t.Errorf("got  %s\nwant %s", line, want)
	}
}

// SetFirst continues seq where an earlier run left off, and only before
// the first event.
func TestBusSetFirst(t *testing.T) {
	b := NewBus()
	if err := b.SetFirst(0); err == nil {
		t.Error("SetFirst(0): no error")
	}
	if err := b.SetFirst(1_000_001); err != nil {
		t.Fatal(err)
	}
	if b.First() != 1_000_001 || b.Last() != 1_000_000 {
		t.Errorf("First, Last = %d, %d; want 1000001, 1000000", b.First(), b.Last())
	}
	sub := b.Subscribe()
	b.Publish(Gateway{State: GatewayUp})
	b.Publish(Gateway{State: GatewayDown})
	if err := b.SetFirst(5); !errors.Is(err, ErrPublished) {
		t.Errorf("SetFirst after Publish: %v, want ErrPublished", err)
	}
	b.Close()
	for _, want := range []uint64{1_000_001, 1_000_002} {
		e, ok := sub.TryNext()
		if !ok || e.Sequence() != want {
			t.Fatalf("event %v: seq %d, want %d", ok, e.Sequence(), want)
		}
	}
	if b.Last() != 1_000_002 {
		t.Errorf("Last = %d, want 1000002", b.Last())
	}
}

// Reasons and messages reach subscribers with long digit runs masked,
// whoever published them.
func TestPublishMasksFreeText(t *testing.T) {
	const code, uid = "286861260475412123", "2088123412341234"
	b := NewBus()
	s := b.Subscribe()
	for _, e := range []Event{
		Queued{Reason: "twostage: sub_msg " + code},
		Dead{Reason: "user " + uid},
		DecodeFailed{Message: "code " + code, Action: "ask " + uid},
		CouponFailed{Reason: uid},
		ScanRejected{Reason: code},
		Scanner{Detail: code},
		Stopping{Reason: "error " + code},
		Payment{Message: code, Action: uid},
	} {
		b.Publish(e)
	}
	b.Close()
	for {
		e, err := s.Next(context.Background())
		if errors.Is(err, ErrClosed) {
			break
		}
		line, _ := MarshalJSONLine(e)
		if strings.Contains(string(line), code) || strings.Contains(string(line), uid) {
			t.Errorf("%s event leaks a full id: %s", e.Type(), line)
		}
		if !strings.Contains(string(line), "****") {
			t.Errorf("%s event not masked: %s", e.Type(), line)
		}
	}
}
