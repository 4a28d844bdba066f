package ui

import (
	"fmt"
	"strings"

	"github.com/rivo/tview"

	"posagent/internal/event"
)

// statusBar is the bottom line: scanner, gateway, queue. Its state comes
// from events; the queue counts come from the QueueStore when there is one
// (events cannot tell when a job left the queue), else from the events.
type statusBar struct {
	view *tview.TextView

	scanner, scannerDevice, scannerDetail string
	gateway                               string

	fromStore      bool
	pending, dead  int
	queued, failed map[string]bool // job ids seen in events, without a store
}

func newStatusBar() *statusBar {
	s := &statusBar{
		view:   tview.NewTextView().SetDynamicColors(true).SetWrap(false),
		queued: make(map[string]bool),
		failed: make(map[string]bool),
	}
	s.render()
	return s
}

func (s *statusBar) apply(e event.Event) {
	switch e := e.(type) {
	case event.Scanner:
		s.scanner, s.scannerDevice, s.scannerDetail = e.State, e.Device, e.Detail
	case event.Gateway:
		s.gateway = e.State
	case event.Queued:
		if !s.fromStore {
			s.queued[e.JobID] = true
		}
	case event.Dead:
		if !s.fromStore {
			delete(s.queued, e.JobID)
			s.failed[e.JobID] = true
		}
	}
}

// setCounts takes the queue's own counts, which from now on win over events.
func (s *statusBar) setCounts(pending, dead int) {
	s.fromStore = true
	s.pending, s.dead = pending, dead
	clear(s.queued)
	clear(s.failed)
}

func (s *statusBar) counts() (pending, dead int) {
	if s.fromStore {
		return s.pending, s.dead
	}
	return len(s.queued), len(s.failed)
}

func (s *statusBar) render() {
	// Fixed-width parts first: the scanner's device and detail may be long
	// and are the part cut off on a narrow terminal.
	var b strings.Builder
	b.WriteString(" Gateway ")
	switch s.gateway {
	case event.GatewayUp:
		fmt.Fprintf(&b, "%s%s up%s", tagOK, symOK, tagOff)
	case event.GatewayDown:
		fmt.Fprintf(&b, "%s%s DOWN%s", tagBad, symBad, tagOff)
	default:
		b.WriteString("? unknown")
	}
	pending, dead := s.counts()
	fmt.Fprintf(&b, " │ Queue %d waiting", pending)
	if dead > 0 {
		fmt.Fprintf(&b, ", %s%d dead%s", tagBad, dead, tagOff)
	}
	b.WriteString(" │ Scanner ")
	switch s.scanner {
	case event.ScannerConnected:
		fmt.Fprintf(&b, "%s%s connected%s", tagOK, symOK, tagOff)
		if s.scannerDevice != "" {
			fmt.Fprintf(&b, " %s", tview.Escape(s.scannerDevice))
		}
	case event.ScannerDisconnected:
		fmt.Fprintf(&b, "%s%s DISCONNECTED%s", tagBad, symBad, tagOff)
		if s.scannerDetail != "" {
			fmt.Fprintf(&b, " %s", tview.Escape(s.scannerDetail))
		}
	default:
		b.WriteString("? unknown")
	}
	s.view.SetText(b.String())
}
