package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/rivo/tview"

	"posagent/internal/event"
	"posagent/internal/ui/checkout"
)

// statusBar is the bottom line: gateway, queue, scanner. The gateway and
// scanner come from the checkout model; the queue counts come from the
// QueueStore when there is one (events cannot tell when a job left the
// queue), else from the events.
type statusBar struct {
	view  *tview.TextView
	model *checkout.Model
	now   func() time.Time
	buf   strings.Builder

	fromStore      bool
	pending, dead  int
	queued, failed map[string]bool // job ids seen in events, without a store
}

func newStatusBar(m *checkout.Model, now func() time.Time) *statusBar {
	s := &statusBar{
		view:   tview.NewTextView().SetDynamicColors(true).SetWrap(false),
		model:  m,
		now:    now,
		queued: make(map[string]bool),
		failed: make(map[string]bool),
	}
	s.render()
	return s
}

func (s *statusBar) apply(e event.Event) {
	switch e := e.(type) {
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
	b := &s.buf
	b.Reset()
	b.WriteString(" Gateway ")
	switch g, _ := s.model.Gateway(); g {
	case checkout.GatewayUp:
		fmt.Fprintf(b, "%s%s up%s", tagOK, symOK, tagOff)
	case checkout.GatewayDown:
		fmt.Fprintf(b, "%s%s DOWN%s", tagBad, symBad, tagOff)
		if now := s.now(); !s.model.NextTry(now).IsZero() {
			fmt.Fprintf(b, " retry in %s", countdown(s.model.NextTry(now), now))
		}
	case checkout.GatewayMisconfigured:
		fmt.Fprintf(b, "%s%s CONFIG PROBLEM%s", tagBad, symBad, tagOff)
	default:
		b.WriteString("? unknown")
	}
	pending, dead := s.counts()
	fmt.Fprintf(b, " │ Queue %d waiting", pending)
	if dead > 0 {
		fmt.Fprintf(b, ", %s%d dead%s", tagBad, dead, tagOff)
	}
	b.WriteString(" │ Scanner ")
	state, device, detail := s.model.Scanner()
	switch state {
	case event.ScannerConnected:
		fmt.Fprintf(b, "%s%s connected%s", tagOK, symOK, tagOff)
		if device != "" {
			fmt.Fprintf(b, " %s", escape(device))
		}
	case event.ScannerDisconnected:
		fmt.Fprintf(b, "%s%s DISCONNECTED%s", tagBad, symBad, tagOff)
		if detail != "" {
			fmt.Fprintf(b, " %s", escape(detail))
		}
	default:
		b.WriteString("? unknown")
	}
	s.view.SetText(b.String())
}
