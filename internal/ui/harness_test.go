package ui

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"posagent/internal/event"
)

// harness runs a real App on tcell's simulation screen.
type harness struct {
	bus    *event.Bus
	sub    *event.Subscription
	screen tcell.SimulationScreen
	app    *App
	cancel context.CancelFunc
	exited chan struct{} // closed when Run returned, with its error in err
	err    error
	clock  *keyClock
}

// keyClock is the burst gate's clock in tests: keys carry the time a
// recording (or a simulated person) typed them, and the gate's "now" is
// the time of the newest key the UI has taken (plus any silence after it),
// so timings replay exactly however busy the machine is and however far
// the test runs ahead of the UI.
type keyClock struct {
	mu      sync.Mutex
	now     time.Time // the UI's now
	typed   time.Time // when the newest posted key was typed
	at      map[*tcell.EventKey]time.Time
	silence map[*tcell.EventKey]time.Duration // after the key
	taken   map[*tcell.EventKey]bool
	newest  *tcell.EventKey
}

func newKeyClock() *keyClock {
	now := time.Now()
	return &keyClock{now: now, typed: now, at: make(map[*tcell.EventKey]time.Time),
		silence: make(map[*tcell.EventKey]time.Duration), taken: make(map[*tcell.EventKey]bool)}
}

func (c *keyClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// keyTime is when ev was typed; the UI taking it moves the clock there.
func (c *keyClock) keyTime(ev *tcell.EventKey) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[ev]
	if !ok {
		return c.now
	}
	if !c.taken[ev] {
		c.taken[ev] = true
		if end := t.Add(c.silence[ev]); end.After(c.now) {
			c.now = end
		}
	}
	return t
}

// stamp notes that ev is typed gap after the previous key.
func (c *keyClock) stamp(ev *tcell.EventKey, gap time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.typed = c.typed.Add(gap)
	c.at[ev] = c.typed
	c.newest = ev
}

// advance lets d of silence pass after the newest key.
func (c *keyClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.typed = c.typed.Add(d)
	if c.newest == nil || c.taken[c.newest] {
		if c.typed.After(c.now) {
			c.now = c.typed
		}
		return
	}
	c.silence[c.newest] += d
}

// waitLimit bounds every wait; a UI that needs longer is broken.
const waitLimit = 10 * time.Second

func start(t testing.TB, deps Deps, w, h int) *harness {
	bus := event.NewBus()
	sub := bus.Subscribe()
	screen := tcell.NewSimulationScreen("UTF-8")
	deps.Events, deps.Screen = sub, screen
	app := New(deps)
	clock := newKeyClock()
	app.keyTime, app.gateNow = clock.keyTime, clock.Now
	screen.SetSize(w, h)
	ctx, cancel := context.WithCancel(context.Background())
	hs := &harness{bus: bus, sub: sub, screen: screen, app: app, cancel: cancel, exited: make(chan struct{}), clock: clock}
	go func() {
		defer close(hs.exited)
		hs.err = app.Run(ctx)
	}()
	t.Cleanup(hs.stop)
	select {
	case <-app.started:
	case <-time.After(waitLimit):
		t.Fatal("the UI did not draw")
	}
	return hs
}

// stop ends Run and checks it returns.
func (h *harness) stop() {
	h.cancel()
	select {
	case <-h.exited:
	case <-time.After(waitLimit):
		panic("App.Run did not return after its context was cancelled")
	}
}

// waitExit waits for Run to return by itself.
func (h *harness) waitExit(t testing.TB) error {
	t.Helper()
	select {
	case <-h.exited:
		return h.err
	case <-time.After(waitLimit):
		t.Fatal("App.Run did not return")
		return nil
	}
}

// text is the screen as rows of text, read on the UI goroutine.
func (h *harness) text() string {
	var b strings.Builder
	h.app.tv.QueueUpdate(func() {
		cells, w, ht := h.screen.GetContents()
		for y := 0; y < ht; y++ {
			for x := 0; x < w; x++ {
				c := cells[y*w+x]
				if len(c.Runes) == 0 {
					b.WriteByte(' ')
					continue
				}
				b.WriteString(string(c.Runes))
			}
			b.WriteByte('\n')
		}
	})
	return b.String()
}

// waitFor waits until every want is on the screen.
func (h *harness) waitFor(t testing.TB, want ...string) string {
	t.Helper()
	return h.waitUntil(t, func(screen string) string {
		flowed := reflow(screen)
		for _, w := range want {
			if !strings.Contains(screen, w) && !strings.Contains(flowed, w) {
				return fmt.Sprintf("%q", w)
			}
		}
		return ""
	})
}

// reflow joins the screen's lines with single spaces, so that a message a
// widget wrapped at a width that depends on the test (a temporary path is
// longer on one machine than on another) still matches as one phrase.
func reflow(screen string) string {
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " ")
}

// waitUntil checks the screen after each draw until check finds nothing
// missing (returns ""), or fails the test naming what is missing.
func (h *harness) waitUntil(t testing.TB, check func(screen string) (missing string)) string {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		screen := h.text()
		missing := check(screen)
		if missing == "" {
			return screen
		}
		select {
		case <-h.app.drawn:
		case <-deadline:
			t.Fatalf("screen never showed %s; it shows:\n%s", missing, screen)
		}
	}
}

// personGap is how far apart a simulated person types.
const personGap = 120 * time.Millisecond

// key injects one key press, as a person types it.
func (h *harness) key(k tcell.Key, r rune, mod tcell.ModMask) {
	h.post(tcell.NewEventKey(k, r, mod), personGap)
	h.clock.advance(personGap)
}

// typeText injects runes as key presses, as a person types them.
func (h *harness) typeText(s string) {
	for _, r := range s {
		h.post(tcell.NewEventKey(tcell.KeyRune, r, tcell.ModNone), personGap)
	}
	// The silence after the last key lets the gate hand it on.
	h.clock.advance(personGap)
}

// post injects ev typed gap after the previous key.
func (h *harness) post(ev *tcell.EventKey, gap time.Duration) {
	h.clock.stamp(ev, gap)
	// The screen's event queue is small: wait for room, as a terminal
	// waits when its reader is behind.
	for h.screen.PostEvent(ev) != nil {
		runtime.Gosched()
	}
}

// fakeKeys records what the checkout screen fed to the keyboard wedge.
type fakeKeys struct {
	mu    sync.Mutex
	runes []rune
	fed   chan struct{}
}

func newFakeKeys() *fakeKeys { return &fakeKeys{fed: make(chan struct{}, 1)} }

func (k *fakeKeys) Key(r rune, _ time.Time) {
	k.mu.Lock()
	k.runes = append(k.runes, r)
	k.mu.Unlock()
	select {
	case k.fed <- struct{}{}:
	default:
	}
}

func (k *fakeKeys) text() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return string(k.runes)
}

// waitText waits until the wedge was fed want.
func (k *fakeKeys) waitText(t testing.TB, want string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for k.text() != want {
		select {
		case <-k.fed:
		case <-deadline:
			t.Fatalf("wedge got %q, want %q", k.text(), want)
		}
	}
}
