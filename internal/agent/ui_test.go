package agent

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"posagent/internal/config"
	"posagent/internal/event"
	"posagent/internal/ui"
)

// The product with its TUI: a scan is decoded and its coupons issued while
// the UI runs on a simulated screen; F10 quits the UI and stops the agent,
// leaving nothing running.
func TestWithUI(t *testing.T) {
	srv := newServer(t)
	scan := make(feed)
	a := newAgent(t, srv, t.TempDir(), scan)
	w := &watcher{t: t, sub: a.Bus.Subscribe()}
	screen := tcell.NewSimulationScreen("UTF-8")
	if err := screen.Init(); err != nil {
		t.Fatal(err)
	}
	screen.SetSize(100, 30)
	done := make(chan error, 1)
	go func() { done <- withUI(context.Background(), a, ui.Deps{Screen: screen}) }()

	scan <- srv.IssueCode(student.UserID)
	w.until("decoded", isType(event.TypeDecoded))
	w.reach("coupons issued", 2, isType(event.TypeCouponIssued))
	screen.InjectKey(tcell.KeyF10, 0, tcell.ModNone)
	screen.InjectKey(tcell.KeyRight, 0, tcell.ModNone) // from Stay to Quit
	screen.InjectKey(tcell.KeyEnter, 0, tcell.ModNone)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("withUI: %v", err)
		}
	case <-time.After(patience):
		t.Fatal("F10 did not stop the UI and the agent")
	}
	if _, err := a.Queue.Pending(); err == nil {
		t.Error("the database is still open after the UI quit")
	}
	// In TUI mode too the run starts with started and ends with stopping.
	st := w.until("stopping", isType(event.TypeStopping)).(event.Stopping)
	if w.seen[0].Type() != event.TypeStarted || st.Reason != errQuit.Error() {
		t.Errorf("first event %s, stopping reason %q; want started first and %q", w.seen[0].Type(), st.Reason, errQuit)
	}
	if _, err := w.sub.Next(context.Background()); err == nil {
		t.Error("an event after stopping")
	}
}

// Saving the settings applies new coupon rules at once and names the keys
// that wait for a restart.
func TestApply(t *testing.T) {
	srv := newServer(t)
	scan := make(feed)
	a := newAgent(t, srv, t.TempDir(), scan)
	w := start(t, a)

	c := *a.Config
	c.Coupons = []config.CouponRule{{Match: config.Match{AnyUser: true}, TplID: "tplNew"}}
	if got, err := a.Apply(&c); err != nil || len(got.Restart) != 0 || !slices.Contains(got.Live, "coupons") {
		t.Fatalf("Apply(coupons only) = %+v, %v", got, err)
	}
	scan <- srv.IssueCode(student.UserID)
	w.reach("a coupon", 1, isType(event.TypeCouponIssued))
	if p := srv.Passes(); len(p) != 1 || p[0].TplID != "tplNew" {
		t.Errorf("passes %+v, want the new rule's", p)
	}

	c.TerminalID, c.GatewayURL = "till2", "http://127.0.0.1:1/gateway.do"
	got, err := a.Apply(&c)
	if err != nil || strings.Join(got.Restart, ", ") != "gateway_url, terminal_id" {
		t.Errorf("Apply(terminal and gateway) = %+v, %v, want both named", got, err)
	}
	// The staff PIN is in effect at once (the screen uses the saved one):
	// not a key that waits for a restart.
	c.StaffPIN = "pbkdf2-sha256$new"
	if got, err := a.Apply(&c); err != nil || slices.Contains(got.Restart, "staff_pin") || !slices.Contains(got.Live, "staff_pin") {
		t.Errorf("Apply(staff_pin) = %+v, %v, want it live", got, err)
	}
	c.Coupons = []config.CouponRule{{Match: config.Match{AnyUser: true}, TplID: "x", TplParams: []byte(`{"a":"{nope}"}`)}}
	if _, err := a.Apply(&c); err == nil || !strings.Contains(err.Error(), "coupons[0].tpl_params.a") {
		t.Errorf("Apply(bad placeholder) = %v", err)
	}
}

// An agent that stops on its own (here its scanner fails) stops the UI with
// it: withUI returns the agent's error instead of leaving a screen that
// looks live while no code can be read.
func TestWithUIStopsWhenAgentStops(t *testing.T) {
	srv := newServer(t)
	a := newAgent(t, srv, t.TempDir(), brokenScanner{})
	screen := tcell.NewSimulationScreen("UTF-8")
	if err := screen.Init(); err != nil {
		t.Fatal(err)
	}
	screen.SetSize(100, 30)
	done := make(chan error, 1)
	go func() { done <- withUI(context.Background(), a, ui.Deps{Screen: screen}) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no such device") {
			t.Fatalf("withUI: %v, want the scanner's error", err)
		}
	case <-time.After(patience):
		t.Fatal("the UI kept running after the agent stopped")
	}
	if _, err := a.Queue.Pending(); err == nil {
		t.Error("the database is still open after the agent stopped")
	}
}
