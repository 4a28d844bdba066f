package agent

import (
	"context"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

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
}
