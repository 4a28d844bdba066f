package scanner

import (
	"strings"
	"testing"
	"time"
)

const code1 = "281234567890123456"
const code2 = "251122334455667788"

type input struct {
	at   time.Duration // since epoch
	data string
	idle bool // call idle at at instead of writing
}

func runPipeline(t *testing.T, o Options, in []input) []Event {
	t.Helper()
	var got []Event
	p, err := newPipeline("test", "dev", o.withDefaults(), func(e Event) { got = append(got, e) })
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range in {
		if i.idle {
			p.idle(epoch.Add(i.at))
		} else {
			p.write([]byte(i.data), epoch.Add(i.at))
		}
	}
	if c := cap(p.fr.buf); c != p.fr.max {
		t.Fatalf("framer buffer grew to %d, max %d", c, p.fr.max)
	}
	return got
}

// brief renders events as "scan:CODE[sym]" or "rejected[cause]:TEXT(reason)" for
// comparison.
func brief(es []Event) string {
	var b strings.Builder
	for _, e := range es {
		if b.Len() > 0 {
			b.WriteString(" | ")
		}
		switch e.Kind {
		case EventScan:
			b.WriteString("scan:" + e.Scan.Code)
			if e.Scan.Symbology != "" {
				b.WriteString("[" + e.Scan.Symbology + "]")
			}
		case EventRejected:
			b.WriteString("rejected[" + e.Cause + "]:" + e.Scan.Code + "(" + e.Reason + ")")
		default:
			b.WriteString(e.Kind.String())
		}
	}
	return b.String()
}

func TestPipeline(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		opts Options
		in   []input
		want string
	}{
		{"CR", Options{}, []input{{0, code1 + "\r", false}}, "scan:" + code1},
		{"LF", Options{Terminator: "LF"}, []input{{0, code1 + "\n", false}}, "scan:" + code1},
		{"CRLF is one scan", Options{Terminator: "CRLF"}, []input{{0, code1 + "\r\n" + code2 + "\r\n", false}}, "scan:" + code1 + " | scan:" + code2},
		{"CRLF sent to a CR config", Options{}, []input{{0, code1 + "\r\n", false}}, "scan:" + code1},
		{"TAB", Options{Terminator: "TAB"}, []input{{0, code1 + "\t", false}}, "scan:" + code1},
		{"pieces", Options{}, []input{{0, "2812", false}, {3 * ms, "345678", false}, {9 * ms, "90123456\r", false}}, "scan:" + code1},
		{"no terminator yet", Options{}, []input{{0, code1, false}}, ""},
		{"prefix and suffix", Options{Prefix: "\x02", Suffix: "\x03"}, []input{{0, "\x02" + code1 + "\x03\r", false}}, "scan:" + code1},
		{"prefix absent", Options{Prefix: "P:"}, []input{{0, code1 + "\r", false}}, "scan:" + code1},
		{"AIM id", Options{}, []input{{0, "]C0" + code1 + "\r", false}}, "scan:" + code1 + "[]C0]"},
		{"AIM id after prefix", Options{Prefix: "P:"}, []input{{0, "P:]Q1" + code1 + "\r", false}}, "scan:" + code1 + "[]Q1]"},
		{"not an AIM id", Options{}, []input{{0, "]0C" + code1 + "\r", false}}, "rejected[not_payment_code]:]0C" + code1 + "(character 1 is ']', want digits only)"},
		{"noise", Options{}, []input{{0, "\x00\x1b[A~~\r", false}}, "rejected[not_payment_code]:\x00\x1b[A~~(character 1 is byte 0x00, want digits only)"},
		{"wrong prefix digits", Options{}, []input{{0, "691234567890123456\r", false}}, "rejected[not_payment_code]:691234567890123456(starts with 69, want 25 to 30)"},
		{"too long then a code", Options{MaxLength: 20}, []input{{0, strings.Repeat("x", 50) + "\r" + code1 + "\r", false}},
			"rejected[too_long]:" + strings.Repeat("x", 20) + "(longer than 20 bytes (50): discarded up to the end of the read) | scan:" + code1},
		{"too long across writes", Options{MaxLength: 20}, []input{{0, strings.Repeat("9", 15), false}, {ms, strings.Repeat("9", 15), false}, {2 * ms, "\r" + code1 + "\r", false}},
			"rejected[too_long]:" + strings.Repeat("9", 20) + "(longer than 20 bytes (30): discarded up to the end of the read) | scan:" + code1},
		{"idle gap ends a frame", Options{Terminator: "none"}, []input{{0, code1, false}, {79 * ms, "", true}, {80 * ms, "", true}}, "scan:" + code1},
		{"idle gap between writes", Options{Terminator: "none"}, []input{{0, code1, false}, {200 * ms, code2, false}, {400 * ms, "", true}}, "scan:" + code1 + " | scan:" + code2},
		{"idle gap too long", Options{Terminator: "none", MaxLength: 20}, []input{{0, strings.Repeat("2", 30), false}, {100 * ms, "", true}},
			"rejected[too_long]:" + strings.Repeat("2", 20) + "(longer than 20 bytes (30): discarded up to the end of the read)"},
		{"half read is never emitted", Options{}, []input{{0, "2812345678", false}, {600 * ms, code1 + "\r", false}},
			"rejected[cut_off]:2812345678(incomplete read: no terminator within 500ms; a partial code is never used) | scan:" + code1},
		{"half read found idle", Options{}, []input{{0, "2812345678", false}, {499 * ms, "", true}, {500 * ms, "", true}},
			"rejected[cut_off]:2812345678(incomplete read: no terminator within 500ms; a partial code is never used)"},
		{"debounce slides", Options{}, []input{{0, code1 + "\r", false}, {time.Second, code1 + "\r", false}, {2 * time.Second, code1 + "\r", false}, {3600 * ms, code1 + "\r", false}},
			"scan:" + code1 + " | scan:" + code1},
		{"debounce per code", Options{}, []input{{0, code1 + "\r", false}, {100 * ms, code2 + "\r", false}, {200 * ms, code1 + "\r", false}},
			"scan:" + code1 + " | scan:" + code2 + " | scan:" + code1},
		{"debounce off", Options{Debounce: -1}, []input{{0, code1 + "\r", false}, {ms, code1 + "\r", false}},
			"scan:" + code1 + " | scan:" + code1},
		{"debounce window option", Options{Debounce: 100 * ms}, []input{{0, code1 + "\r", false}, {100 * ms, code1 + "\r", false}},
			"scan:" + code1 + " | scan:" + code1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := brief(runPipeline(t, tt.opts, tt.in))
			if got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestPipelineScanFields(t *testing.T) {
	es := runPipeline(t, Options{}, []input{{5 * time.Millisecond, "]Q1" + code1 + "\r", false}})
	if len(es) != 1 {
		t.Fatalf("got %d events", len(es))
	}
	want := Event{Kind: EventScan, Device: "dev", Scan: Scan{Code: code1, Symbology: "]Q1", Source: "test", Time: epoch.Add(5 * time.Millisecond)}}
	if es[0] != want {
		t.Fatalf("got %+v\nwant %+v", es[0], want)
	}
}

func TestPipelineResetDropsHalfRead(t *testing.T) {
	var got []Event
	p, _ := newPipeline("test", "dev", Options{}.withDefaults(), func(e Event) { got = append(got, e) })
	p.write([]byte("2812345678"), epoch)
	p.reset()
	p.write([]byte("90123456\r"), epoch.Add(time.Millisecond))
	if b := brief(got); b != "rejected[not_payment_code]:90123456(8 digits, want 16 to 24)" {
		t.Fatalf("got %q", b)
	}
}

func TestBadTerminator(t *testing.T) {
	_, err := newPipeline("t", "d", Options{Terminator: "ETX"}.withDefaults(), func(Event) {})
	if err == nil || !strings.Contains(err.Error(), `"ETX"`) {
		t.Fatalf("error = %v, want one naming the terminator", err)
	}
}

// BenchmarkFrameAndValidate is the steady path of every driver: bytes of
// one scan in, one validated code out. Target: under 2µs and one
// allocation (the code).
func BenchmarkFrameAndValidate(b *testing.B) {
	var n int
	p, _ := newPipeline("bench", "dev", Options{Debounce: -1}.withDefaults(), func(e Event) { n++ })
	in := []byte("]Q1" + code1 + "\r")
	at := epoch
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		at = at.Add(time.Second)
		p.write(in, at)
	}
	if n == 0 {
		b.Fatal("no scans")
	}
}
