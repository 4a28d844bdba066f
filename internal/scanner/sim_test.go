package scanner

import (
	"context"
	"testing"
	"time"
)

// collect runs s until it has produced n events, then stops it and checks
// that Run returns nil.
func collect(t *testing.T, s Scanner, n int) []Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Event)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()
	var got []Event
	deadline := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case e := <-out:
			got = append(got, e)
		case err := <-done:
			t.Fatalf("Run returned %v after %d events: %s", err, len(got), brief(got))
		case <-deadline:
			t.Fatalf("timed out after %d events: %s", len(got), brief(got))
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v, want nil on cancel", err)
		}
	case <-deadline:
		t.Fatal("Run did not return after cancel")
	}
	return got
}

func TestDemoScript(t *testing.T) {
	codes := []string{code1, code2, "301234123412341234", "261234567890123456", "271234567890123456"}
	s := NewSim(DemoScript(codes), Options{Clock: newAutoClock()})
	got := brief(collect(t, s, 9))
	want := "connected" +
		" | scan:" + code1 + // then a double read within the debounce window: nothing
		" | scan:" + code2 +
		" | rejected[not_payment_code]:\x00\x1b[A~~(character 1 is byte 0x00, want digits only)" +
		" | scan:301234123412341234" +
		" | rejected[cut_off]:301234123(incomplete read: no terminator within 500ms; a partial code is never used)" +
		" | scan:261234567890123456" +
		" | disconnected | connected"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestDemoScriptDefaultCodes(t *testing.T) {
	for _, st := range DemoScript(nil) {
		if st.Code != "" {
			if err := checkCode(st.Code); err != nil {
				t.Errorf("demo code %s: %v", st.Code, err)
			}
		}
	}
}

func TestSimFaults(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		script []Step
		n      int
		want   string
	}{
		{"chunks arrive apart", Options{}, []Step{{Code: code1, Chunks: 5, Gap: 20 * time.Millisecond}}, 2, "connected | scan:" + code1},
		{"chunks too far apart are a half read", Options{}, []Step{{Code: code1, Chunks: 2, Gap: time.Second}}, 3,
			"connected | rejected[cut_off]:2812345678(incomplete read: no terminator within 500ms; a partial code is never used) | rejected[not_payment_code]:90123456(8 digits, want 16 to 24)"},
		{"unplug mid-code drops the half", Options{}, []Step{{Bytes: []byte("2812345")}, {Unplug: time.Second}, {Code: code2}}, 4,
			"connected | disconnected | connected | scan:" + code2},
		{"terminator none", Options{Terminator: "none"}, []Step{{Code: code1}, {Delay: time.Second, Code: code2}}, 3,
			"connected | scan:" + code1 + " | scan:" + code2},
		{"terminator CRLF", Options{Terminator: "CRLF"}, []Step{{Code: code1}, {Code: code2}}, 3,
			"connected | scan:" + code1 + " | scan:" + code2},
		{"end of script flushes", Options{}, []Step{{Bytes: []byte("25")}}, 2,
			"connected | rejected[cut_off]:25(incomplete read: no terminator within 500ms; a partial code is never used)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Clock = newAutoClock()
			if got := brief(collect(t, NewSim(tt.script, tt.opts), tt.n)); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSimStopsWhileBlockedOnSend(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewSim(DemoScript(nil), Options{Clock: newAutoClock()}).Run(ctx, make(chan Event)) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run blocked on an unread channel after cancel")
	}
}
