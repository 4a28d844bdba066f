package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"posagent/internal/event"
	"posagent/internal/queue"
)

// TestQueueDetailAndRetryOutcome: jobs are listed newest first; Enter
// shows a job whole (local times to the second, the reason masked); a
// retry then says what really became of the job.
func TestQueueDetailAndRetryOutcome(t *testing.T) {
	created := time.Date(2026, 12, 3, 8, 1, 2, 0, time.Local)
	subject := event.Subject{SenceNo: "till1-s1", TplID: "tplLunch", SerialNumber: "till1-s1-tplLunch"}
	for _, tc := range []struct {
		name string
		then event.Event
		says string
	}{
		{"failed again", event.Queued{JobID: "9", Kind: "coupon", Attempt: 1, Reason: "gateway down", NextAt: created.Add(time.Hour)}, "failed again (attempt 1): gateway down; next try 09:01:02"},
		{"dead again", event.Dead{JobID: "9", Kind: "coupon", Reason: "template gone"}, "dead again: template gone"},
		{"sent", event.CouponIssued{SenceNo: "till1-s1", TplID: "tplLunch", SerialNumber: "till1-s1-tplLunch", PassID: "p"}, "sent: coupon tplLunch issued"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fq := &fakeQueue{called: make(chan struct{}, 4), dead: []queue.Job{
				{ID: "5", Kind: "coupon", Attempts: 3, LastError: "older", State: queue.StateDead, Created: created.Add(-time.Hour)},
				{ID: "9", Kind: "coupon", Attempts: 12, State: queue.StateDead, Created: created, Deadline: created.Add(24 * time.Hour),
					Subject: subject, LastError: "KP.AE_ALIPASS_USERID_NOSUPPORT for 2088123412341234"},
			}}
			h := start(t, Deps{Queue: fq}, 100, 30)
			h.key(tcell.KeyF3, 0, tcell.ModNone)
			screen := h.waitFor(t, "older", "2088********1234")
			if strings.Index(screen, "2088********1234") > strings.Index(screen, "older") {
				t.Fatalf("not newest first:\n%s", screen)
			}
			h.key(tcell.KeyEnter, 0, tcell.ModNone)
			screen = h.waitFor(t, "Job 9 (coupon): DEAD", "attempts 12", "created  2026-12-03 08:01:02",
				"gives up 2026-12-04 08:01:02", "coupon tplLunch, serial till1-s1-tplLunch", "Retry it now")
			if strings.Contains(screen, "2088123412341234") {
				t.Fatalf("the detail shows a full user id:\n%s", screen)
			}
			h.key(tcell.KeyEnter, 0, tcell.ModNone) // Retry
			h.waitFor(t, "back in line")
			h.bus.Publish(tc.then)
			h.waitFor(t, "Retried job 9 (coupon): ", tc.says)
		})
	}
}

// TestEventLogMasked: the event log shows the events, without the full
// user_id and with digit runs masked.
func TestEventLogMasked(t *testing.T) {
	h := start(t, Deps{}, 100, 30)
	h.bus.Publish(event.Decoded{SenceNo: "till1-s1", UserID: "2088102122524333", UserIDMasked: "2088********4333", SchoolStdCode: "4136013432"})
	h.bus.Publish(event.DecodeFailed{SenceNo: "till1-s2", Code: "40004", Message: "code 281234567890123456 expired"})
	h.key(tcell.KeyF8, 0, tcell.ModNone)
	screen := h.waitFor(t, "Event log", "decoded", "user_id_masked=2088********4333", "decode_failed", "28************3456")
	if strings.Contains(screen, "2088102122524333") || strings.Contains(screen, "281234567890123456") {
		t.Fatalf("the event log shows a full id:\n%s", screen)
	}
	if strings.Index(screen, "decode_failed") > strings.Index(screen, "decoded ") {
		t.Fatalf("not newest first:\n%s", screen)
	}
}

// TestScannerDiagnostics: the diagnostics show each burst and each
// person's keys as they pass the gate, with timings and terminator, masked.
func TestScannerDiagnostics(t *testing.T) {
	w, _ := startWedge(t)
	h := start(t, Deps{Keys: w}, 100, 30)
	h.bus.Publish(event.Scanner{State: event.ScannerConnected, Device: "wedge", Detail: "keyboard wedge: reads what a scanner types"})
	h.key(tcell.KeyF12, 0, tcell.ModNone)
	h.waitFor(t, "Scanner diagnostics", "CONNECTED device wedge")
	keys := recording(t, "scanner-usb-slow")
	h.play(keys)
	screen := h.waitFor(t, "keys 19, terminator Enter (CR), max gap 15 ms → scanner  26************5792", "gaps ms: 10 15")
	if strings.Contains(screen, text(keys)) {
		t.Fatalf("the diagnostics show a full code:\n%s", screen)
	}
	h.typeText("12")
	h.waitFor(t, "person typing → screen, not a scan: 2 keys since")
}

// TestDiagnosticsGroupPersonKeys: a person's keys take one line per run,
// however many, so the scanner's reads stay in view at 80x24.
func TestDiagnosticsGroupPersonKeys(t *testing.T) {
	w, _ := startWedge(t)
	h := start(t, Deps{Keys: w}, 80, 24)
	h.key(tcell.KeyF12, 0, tcell.ModNone)
	h.waitFor(t, "Scanner diagnostics")
	h.play(recording(t, "scanner-usb-slow"))
	h.waitFor(t, "keys 19, terminator Enter (CR)")
	h.typeText("abcdefghijklmnopqrstuvwxyz")
	screen := h.waitFor(t, "person typing → screen, not a scan: 26 keys since", "keys 19, terminator Enter (CR)")
	if n := strings.Count(screen, "person typing"); n != 1 {
		t.Fatalf("%d lines for one person's run of keys:\n%s", n, screen)
	}
}

// TestEmptyTableHeaders: before any scan the last scans' header stands
// where its columns will be, not squeezed to the labels' widths.
func TestEmptyTableHeaders(t *testing.T) {
	h := start(t, Deps{}, 80, 24)
	h.waitFor(t, "║Time     Code               State            Customer         School / campus")
}
