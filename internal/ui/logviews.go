package ui

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"posagent/internal/event"
	"posagent/internal/redact"
)

const (
	pageEvents  = "events"
	pageScanner = "scanner"
)

// logLines is how many lines each log view keeps.
const logLines = 200

// ring is the last logLines lines of a log view, oldest first. Lines are
// built when the view is drawn, so a hidden view costs an append per line.
type ring struct {
	items []func() string
	next  int
	full  bool
}

func (r *ring) add(line func() string) {
	if len(r.items) < logLines {
		r.items = append(r.items, line)
		return
	}
	r.items[r.next] = line
	r.next = (r.next + 1) % logLines
	r.full = true
}

// text is the lines, newest first.
func (r *ring) text() string {
	var b strings.Builder
	n := len(r.items)
	for i := range n {
		idx := (r.next - 1 - i + 2*n) % n
		if !r.full {
			idx = n - 1 - i
		}
		b.WriteString(r.items[idx]())
		b.WriteByte('\n')
	}
	return b.String()
}

// logView is a page showing a ring, redrawn while it is in front.
type logView struct {
	view  *tview.TextView
	lines ring
	shown bool
	dirty bool
	// person is the newest line when it tells a person's keys: the next
	// keys a person types count on it instead of adding lines, so that the
	// scanner's reads stay in view.
	person *personRun
}

// personRun is a run of keys a person typed, between two other lines of
// the scanner diagnostics.
type personRun struct {
	from, to time.Time
	keys     int
}

func (r *personRun) line() string {
	return fmt.Sprintf("%s person typing → screen, not a scan: %d keys since %s",
		r.to.Local().Format("15:04:05"), r.keys, r.from.Local().Format("15:04:05"))
}

// addPerson counts n keys a person typed at t: on the newest line when it
// tells a person's keys, else on a new one.
func (v *logView) addPerson(t time.Time, n int) {
	if v.person == nil {
		v.person = &personRun{from: t}
		v.lines.add(v.person.line)
	}
	v.person.to = t
	v.person.keys += n
	v.dirty = true
}

func newLogView(title string) *logView {
	v := &logView{view: tview.NewTextView().SetDynamicColors(true)}
	v.view.SetBorder(true).SetTitle(title)
	return v
}

func (v *logView) add(line func() string) {
	v.lines.add(line)
	v.person = nil
	v.dirty = true
}

// render redraws the text if the view is in front and something changed.
func (v *logView) render() {
	if !v.shown || !v.dirty {
		return
	}
	v.dirty = false
	v.view.SetText(v.lines.text())
	v.view.ScrollToBeginning()
}

// eventLine is one event as the event log shows it: its time, seq, type
// and fields, with the full user_id left out and digit runs masked (it is
// for the integration channels only; the screen shows user_id_masked).
func eventLine(e event.Event) string {
	var fields map[string]any
	if data, err := json.Marshal(e); err == nil {
		_ = json.Unmarshal(data, &fields)
	}
	delete(fields, "user_id")
	delete(fields, "type")
	delete(fields, "time")
	delete(fields, "seq")
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		v := fields[k]
		if s, ok := v.(string); ok && s == "" || v == nil || v == false {
			continue
		}
		if t, ok := v.(string); ok && strings.HasSuffix(k, "_at") {
			if at, err := time.Parse(time.RFC3339Nano, t); err == nil {
				v = at.Local().Format("15:04:05")
			}
		}
		fmt.Fprintf(&b, " %s=%v", k, v)
	}
	return fmt.Sprintf("%s %5d %s%s%s%s", e.When().Local().Format("15:04:05"), e.Sequence(), tagKey, e.Type(), tagOff,
		escape(redact.Text(b.String())))
}

// diagKeys is what the scanner diagnostics say about a burst that passed
// the burst gate to the scanner: how many keys, how far apart, the
// terminator. The code is masked like any code.
func diagKeys(at time.Time, keys []*tcell.EventKey, keyTime func(*tcell.EventKey) time.Time) string {
	var text strings.Builder
	var gaps strings.Builder
	term := "no terminator"
	var prev time.Time
	maxGap := time.Duration(0)
	for i, ev := range keys {
		t := keyTime(ev)
		if i > 0 {
			g := t.Sub(prev)
			maxGap = max(maxGap, g)
			fmt.Fprintf(&gaps, " %d", g.Milliseconds())
		}
		prev = t
		switch ev.Key() {
		case tcell.KeyEnter:
			term = "terminator Enter (CR)"
		case tcell.KeyTab:
			term = "terminator Tab"
		default:
			text.WriteRune(ev.Rune())
		}
	}
	return fmt.Sprintf("%s keys %d, %s, max gap %d ms %s→ scanner%s  %s\n         gaps ms:%s",
		at.Local().Format("15:04:05"), len(keys), term, maxGap.Milliseconds(), tagBusy, tagOff, escape(redact.Code(text.String())), gaps.String())
}

// diagEvent is a scanner event for the diagnostics: device, profile,
// rejections and reads.
func diagEvent(e event.Event) (string, bool) {
	t := e.When().Local().Format("15:04:05")
	switch e := e.(type) {
	case event.Scanner:
		return fmt.Sprintf("%s %s%s%s device %s: %s", t, tagKey, strings.ToUpper(e.State), tagOff, escape(e.Device), escape(e.Detail)), true
	case event.Scan:
		return fmt.Sprintf("%s %sREAD%s %s from %s", t, tagOK, tagOff, escape(e.CodeMasked), escape(e.Source)), true
	case event.ScanRejected:
		return fmt.Sprintf("%s %sREJECTED%s %s from %s: %s", t, tagBad, tagOff, escape(e.CodeMasked), escape(e.Source), escape(redact.Text(e.Reason))), true
	}
	return "", false
}
