package ui

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"posagent/internal/config"
	"posagent/internal/scanner"
)

// keystroke is one key of a recording, typed gap after the one before.
type keystroke struct {
	gap time.Duration
	ev  func() *tcell.EventKey
	key string
}

// recording reads testdata/keystrokes/name.txt (see its README).
func recording(t testing.TB, name string) []keystroke {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "keystrokes", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []keystroke
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ms, key, ok := strings.Cut(line, " ")
		gap, err := strconv.Atoi(ms)
		if !ok || err != nil {
			t.Fatalf("%s.txt line %d: want \"GAP-MS KEY\", got %q", name, n, line)
		}
		k := keystroke{gap: time.Duration(gap) * time.Millisecond, key: key}
		switch key {
		case "<Enter>":
			k.ev = func() *tcell.EventKey { return tcell.NewEventKey(tcell.KeyEnter, '\r', tcell.ModNone) }
		case "<Tab>":
			k.ev = func() *tcell.EventKey { return tcell.NewEventKey(tcell.KeyTab, '\t', tcell.ModNone) }
		default:
			r := []rune(key)
			if len(r) != 1 {
				t.Fatalf("%s.txt line %d: unknown key %q", name, n, key)
			}
			k.ev = func() *tcell.EventKey { return tcell.NewEventKey(tcell.KeyRune, r[0], tcell.ModNone) }
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// text is what a recording types, terminator left out.
func text(keys []keystroke) string {
	var b strings.Builder
	for _, k := range keys {
		if !strings.HasPrefix(k.key, "<") {
			b.WriteString(k.key)
		}
	}
	return b.String()
}

func recordings(t testing.TB, prefix string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "keystrokes", prefix+"*.txt"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no recordings %s*: %v", prefix, err)
	}
	for i, n := range names {
		names[i] = strings.TrimSuffix(filepath.Base(n), ".txt")
	}
	return names
}

func keysText(evs []*tcell.EventKey) string {
	var b strings.Builder
	for _, ev := range evs {
		switch ev.Key() {
		case tcell.KeyEnter:
			b.WriteString("<Enter>")
		case tcell.KeyTab:
			b.WriteString("<Tab>")
		default:
			b.WriteRune(ev.Rune())
		}
	}
	return b.String()
}

// gateRun replays keys through a gate as the App drives it: each key read
// when typed, the timer deciding held keys at their deadline. A stall of
// the PC from stallAt for stall holds everything back: keys typed in it
// are read at its end, all at once, and a deadline that falls in it fires
// at its end, late, so gateTimer waits burstKeyGap more before deciding.
// With noTimers no timer fires before the last key is read (a UI far
// behind its input).
func gateRun(keys []keystroke, stallAt time.Time, stall time.Duration, noTimers bool) (passed, scanned []*tcell.EventKey) {
	stallEnd := stallAt.Add(stall)
	inStall := func(t time.Time) bool { return stall > 0 && !t.Before(stallAt) && t.Before(stallEnd) }
	fire := func(deadline time.Time) time.Time {
		if inStall(deadline) {
			return stallEnd.Add(burstKeyGap)
		}
		return deadline
	}
	var g burstGate
	typed := gateEpoch
	for _, k := range keys {
		typed = typed.Add(k.gap)
		read := typed
		if inStall(typed) {
			read = stallEnd
		}
		for d := g.deadline(); !noTimers && !d.IsZero() && fire(d).Before(read); d = g.deadline() {
			replay, burst := g.flush(fire(d))
			passed, scanned = append(passed, replay...), append(scanned, burst...)
		}
		ev := k.ev()
		replay, burst, taken := g.key(ev, read)
		passed, scanned = append(passed, replay...), append(scanned, burst...)
		if !taken {
			passed = append(passed, ev)
		}
	}
	for d := g.deadline(); !d.IsZero(); d = g.deadline() {
		replay, burst := g.flush(fire(d))
		passed, scanned = append(passed, replay...), append(scanned, burst...)
	}
	return passed, scanned
}

var gateEpoch = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)

// TestBurstGateRecordings: every scanner recording is one burst and none
// of its keys reaches the screen; every person's recording reaches the
// screen whole, in order, and nothing goes to the scanner. So it stays
// when the PC stalls (40, 120 or 400 ms; a person's 40 or 120 ms) before
// any key of it, and when the UI takes all the keys before any timer
// fires. Before stalls were forgiven, 166 of these runs split a scan.
func TestBurstGateRecordings(t *testing.T) {
	type run struct {
		name     string
		stallAt  time.Time
		stall    time.Duration
		noTimers bool
	}
	for _, prefix := range []string{"scanner-", "person-"} {
		for _, name := range recordings(t, prefix) {
			t.Run(name, func(t *testing.T) {
				keys := recording(t, name)
				var all strings.Builder
				for _, k := range keys {
					all.WriteString(k.key)
				}
				runs := []run{{name: "on time"}, {name: "no timers", noTimers: true}}
				typed := gateEpoch
				for i, k := range keys {
					typed = typed.Add(k.gap)
					if i == len(keys)-1 {
						break
					}
					stalls := []time.Duration{40 * time.Millisecond, 120 * time.Millisecond, 400 * time.Millisecond}
					if prefix == "person-" {
						// Keys held back 400 ms come at once: six of a
						// fast typist's are then a scanner's burst to
						// anyone (they go to the wedge, which rejects
						// them; none lands in a field).
						stalls = stalls[:2]
					}
					for _, stall := range stalls {
						runs = append(runs, run{name: fmt.Sprintf("stall of %v after key %d", stall, i+1), stallAt: typed.Add(time.Millisecond), stall: stall})
					}
				}
				for _, r := range runs {
					passed, scanned := gateRun(keys, r.stallAt, r.stall, r.noTimers)
					if prefix == "scanner-" {
						if len(passed) != 0 || keysText(scanned) != all.String() {
							t.Errorf("%s: scanner's keys: to the screen %q, to the scanner %q; want all %q to the scanner", r.name, keysText(passed), keysText(scanned), all.String())
						}
					} else if len(scanned) != 0 || keysText(passed) != all.String() {
						t.Errorf("%s: person's keys: to the screen %q, to the scanner %q; want all %q to the screen", r.name, keysText(passed), keysText(scanned), all.String())
					}
				}
			})
		}
	}
}

// play types a recording into the UI at its own timing.
func (h *harness) play(keys []keystroke) {
	for _, k := range keys {
		h.post(k.ev(), k.gap)
	}
	h.clock.advance(time.Second)
}

// startWedge runs a real keyboard wedge for the UI to feed.
func startWedge(t *testing.T) (*scanner.Wedge, <-chan scanner.Event) {
	t.Helper()
	s, err := scanner.Open(scanner.Spec{Kind: scanner.KindWedge, Terminator: "CR"}, scanner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := s.(*scanner.Wedge)
	out := make(chan scanner.Event, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx, out)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w, out
}

// nextScan waits for the wedge's next scan or rejection.
func nextScan(t *testing.T, out <-chan scanner.Event) scanner.Event {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case e := <-out:
			if e.Kind == scanner.EventScan || e.Kind == scanner.EventRejected {
				return e
			}
		case <-deadline:
			t.Fatal("the wedge read nothing")
		}
	}
}

// The screens a burst may meet, with a key that opens each and a line it
// shows once open.
var everyScreen = []struct {
	name  string
	key   tcell.Key
	shows string
}{
	{"checkout", tcell.KeyF2, "Last scans"},
	{"help", tcell.KeyF1, "Help — keys"},
	{"queue", tcell.KeyF3, "Queue — pending"},
	{"settings", tcell.KeyF4, "gateway_url"},
	{"agreement", tcell.KeyF5, "apply_token"},
	{"app-pay", tcell.KeyF6, "total_amount"},
	{"pay", tcell.KeyF7, "Pay — alipay.trade.pay"},
	{"event log", tcell.KeyF8, "Event log"},
	{"scanner diagnostics", tcell.KeyF12, "Scanner diagnostics"},
}

// TestWedgeBurstOnEveryScreen: on each screen, each scanner recording is
// read by a real wedge as the code it is, and no field changes: the
// screen shows nothing of the code, and the settings being edited are as
// they were.
func TestWedgeBurstOnEveryScreen(t *testing.T) {
	cfg, err := config.Load(copyConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, scr := range everyScreen {
		t.Run(scr.name, func(t *testing.T) {
			w, out := startWedge(t)
			h := start(t, Deps{Keys: w, Config: cfg, Queue: &fakeQueue{called: make(chan struct{}, 16)}}, 80, 24)
			h.key(scr.key, 0, tcell.ModNone)
			h.waitFor(t, scr.shows)
			var before *config.Config
			h.onUI(func() { before = cloneConfig(h.app.settings.cfg) })
			for _, name := range recordings(t, "scanner-") {
				keys := recording(t, name)
				h.play(keys)
				if e := nextScan(t, out); e.Kind != scanner.EventScan || e.Scan.Code != text(keys) {
					var diag string
					h.onUI(func() { diag = h.app.diag.lines.text() })
					t.Fatalf("%s: the wedge read %v %q (%s), want the scan %q\n%s", name, e.Kind, e.Scan.Code, e.Reason, text(keys), diag)
				}
				screen := h.waitFor(t, scr.shows)
				if strings.Contains(screen, text(keys)[:6]) {
					t.Fatalf("%s: the code reached the screen:\n%s", name, screen)
				}
			}
			var after *config.Config
			h.onUI(func() { after = cloneConfig(h.app.settings.cfg) })
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("the bursts changed the settings being edited")
			}
		})
	}
}

// TestWedgeBurstWithStall: a scan the PC stalled in the middle of, 150 ms
// after any of its keys, is read by a real wedge as the whole code while
// Settings is open, and no field changes.
func TestWedgeBurstWithStall(t *testing.T) {
	cfg, err := config.Load(copyConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	w, out := startWedge(t)
	h := start(t, Deps{Keys: w, Config: cfg}, 80, 24)
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	h.waitFor(t, "gateway_url")
	var before *config.Config
	h.onUI(func() { before = cloneConfig(h.app.settings.cfg) })
	// One recording per stall: the wedge ignores a code read twice in a
	// row.
	for _, c := range []struct {
		recording string
		after     int // keys before the stall
	}{
		{"scanner-usb-fast", 1},
		{"scanner-usb-slow", 3},
		{"scanner-bt-jitter", 6},
		{"scanner-tab", 12},
		{"scanner-late-suffix", 18},
	} {
		keys := recording(t, c.recording)
		// The keys typed during the stall are read at its end, all at
		// once.
		keys[c.after].gap += 150 * time.Millisecond
		if c.after+1 < len(keys) {
			keys[c.after+1].gap = 0
		}
		h.play(keys)
		if e := nextScan(t, out); e.Kind != scanner.EventScan || e.Scan.Code != text(keys) {
			t.Fatalf("%s, stall after key %d: the wedge read %v %q (%s), want the scan %q", c.recording, c.after, e.Kind, e.Scan.Code, e.Reason, text(keys))
		}
		if screen := h.text(); strings.Contains(screen, text(keys)[:8]) {
			t.Fatalf("%s: part of the code reached the screen:\n%s", c.recording, screen)
		}
	}
	var now *config.Config
	h.onUI(func() { now = cloneConfig(h.app.settings.cfg) })
	if !reflect.DeepEqual(before, now) {
		t.Fatalf("the stalled bursts changed the settings being edited")
	}
}

// TestPersonTypesIntoFields: a person's typing still reaches the focused
// field, digits and Enter included.
func TestPersonTypesIntoFields(t *testing.T) {
	w, out := startWedge(t)
	h := start(t, Deps{Keys: w, Config: &config.Config{}}, 100, 30)
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	h.waitFor(t, "gateway_url")
	for _, c := range []struct{ recording, field string }{
		{"person-terminal-id", "terminal_id"},
		{"person-digits", "pay_pid"},
		{"person-fast-rollover", "gateway_url"},
	} {
		h.focusField(t, c.field)
		keys := recording(t, c.recording)
		h.play(keys)
		screen := h.waitFor(t, text(keys))
		if line := row(screen, text(keys)); !strings.Contains(line, c.field) {
			t.Fatalf("%s went to the wrong line: %q", c.recording, line)
		}
	}
	// Leaving asks about the unsaved edits; Discard drops them.
	h.key(tcell.KeyF5, 0, tcell.ModNone)
	h.waitFor(t, "The settings have changes that", "Discard")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	h.waitFor(t, "SMS code")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	keys := recording(t, "person-sms")
	h.play(keys)
	h.waitFor(t, text(keys))
	select {
	case e := <-out:
		if e.Kind == scanner.EventScan || e.Kind == scanner.EventRejected {
			t.Fatalf("a person's typing reached the scanner as %v %q", e.Kind, e.Scan.Code)
		}
	default:
	}
}

// A pause inside a burst long enough is forgiven only when the keys after
// it come at once, as keys a stalled PC reads late do: a person's key, or
// a second read at a scanner's pace, after a scanner with no suffix stays
// apart from the scan.
func TestBurstGateSplitsWithoutStall(t *testing.T) {
	const code = "286834519283746512"
	keyOf := func(r rune) *tcell.EventKey { return tcell.NewEventKey(tcell.KeyRune, r, tcell.ModNone) }
	type step struct {
		r   rune
		gap time.Duration
	}
	for _, tc := range []struct {
		name       string
		after      []step
		wantBursts []string
		wantScreen string
	}{
		{"a person's key after the scan", []step{{'7', 120 * time.Millisecond}}, []string{code}, "7"},
		{"a second read at a scanner's pace", func() []step {
			s := []step{{'2', 150 * time.Millisecond}}
			for _, r := range code[1:] {
				s = append(s, step{r, 5 * time.Millisecond})
			}
			return s
		}(), []string{code, code}, ""},
		{"the rest read late, all at once", func() []step {
			s := []step{{'9', 150 * time.Millisecond}}
			for _, r := range "9999" {
				s = append(s, step{r, 0})
			}
			return s
		}(), []string{code + "99999"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g burstGate
			var bursts []string
			var screen strings.Builder
			take := func(replay, burst []*tcell.EventKey) {
				if burst != nil {
					bursts = append(bursts, keysText(burst))
				}
				screen.WriteString(keysText(replay))
			}
			at := gateEpoch
			for _, r := range code {
				at = at.Add(5 * time.Millisecond)
				replay, burst, _ := g.key(keyOf(r), at)
				take(replay, burst)
			}
			for _, s := range tc.after {
				at = at.Add(s.gap)
				replay, burst, _ := g.key(keyOf(s.r), at)
				take(replay, burst)
			}
			for d := g.deadline(); !d.IsZero(); d = g.deadline() {
				take(g.flush(d))
			}
			if !slices.Equal(bursts, tc.wantBursts) || screen.String() != tc.wantScreen {
				t.Errorf("bursts %q, screen %q; want %q, %q", bursts, screen.String(), tc.wantBursts, tc.wantScreen)
			}
		})
	}
}
