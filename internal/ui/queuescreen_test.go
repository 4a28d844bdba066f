package ui

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"posagent/internal/dbfile"
	"posagent/internal/event"
	"posagent/internal/queue"
)

// fakeQueue holds jobs in memory and records the calls.
type fakeQueue struct {
	mu            sync.Mutex
	pending, dead []queue.Job
	calls         []string
	called        chan struct{}
}

func (f *fakeQueue) Pending() ([]queue.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pending), nil
}

func (f *fakeQueue) Dead() ([]queue.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.dead), nil
}

func (f *fakeQueue) RetryDead(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "retry "+id)
	for i, j := range f.dead {
		if j.ID == id {
			j.State, j.Attempts = queue.StatePending, 0
			f.pending = append(f.pending, j)
			f.dead = slices.Delete(f.dead, i, i+1)
			break
		}
	}
	f.called <- struct{}{}
	return nil
}

func (f *fakeQueue) Drop(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "drop "+id)
	f.called <- struct{}{}
	return nil
}

func (f *fakeQueue) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func TestQueueScreenRetriesDeadJobAfterConfirmation(t *testing.T) {
	next := time.Date(2026, 11, 22, 3, 4, 5, 0, time.Local)
	fq := &fakeQueue{
		called:  make(chan struct{}, 4),
		pending: []queue.Job{{ID: "7", Kind: "coupon", Attempts: 2, NextAt: next, LastError: "gateway down", State: queue.StatePending}},
		dead:    []queue.Job{{ID: "9", Kind: "coupon", Attempts: 12, LastError: "KP.AE_ALIPASS_APPID_NOSUPPORT", State: queue.StateDead}},
	}
	now := func() time.Time { return next.Add(-90 * time.Second) }
	h := start(t, Deps{Queue: fq, Now: now}, 100, 30)
	h.waitFor(t, "Queue 1 waiting, 1 dead")
	h.key(tcell.KeyF3, 0, tcell.ModNone)
	h.waitFor(t, "waiting", "03:04:05 (in 1m30s)", "gateway down", "DEAD", "never", "KP.AE_ALIPASS_APPID_NOSUPPORT")

	// A pending job cannot be retried by hand.
	h.key(tcell.KeyRune, 'r', tcell.ModAlt)
	h.waitFor(t, "Job 7 is not dead")

	// Dropping asks first; Cancel does nothing.
	h.key(tcell.KeyDown, 0, tcell.ModNone)
	h.key(tcell.KeyRune, 'd', tcell.ModAlt)
	h.waitFor(t, "Drop dead job 9 (coupon)", "Cancel")
	h.key(tcell.KeyEscape, 0, tcell.ModNone)

	h.key(tcell.KeyRune, 'r', tcell.ModAlt)
	h.waitFor(t, "Retry dead job 9 (coupon)", "attempts reset")
	if calls := fq.recorded(); len(calls) != 0 {
		t.Fatalf("called %v before the confirmation", calls)
	}
	h.key(tcell.KeyEnter, 0, tcell.ModNone) // the first button: Retry
	select {
	case <-fq.called:
	case <-time.After(waitLimit):
		t.Fatal("RetryDead was not called")
	}
	if calls := fq.recorded(); !slices.Equal(calls, []string{"retry 9"}) {
		t.Fatalf("calls %v, want [retry 9]", calls)
	}
	h.waitFor(t, "Job 9: retry done", "Queue 2 waiting │")
}

// TestQueueScreenOnRealQueue drives the screen against a bbolt-backed queue:
// a job killed by its handler shows as dead, and the retry puts it back.
func TestQueueScreenOnRealQueue(t *testing.T) {
	db, err := dbfile.Open(filepath.Join(t.TempDir(), "posagent.db"), dbfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bus := event.NewBus()
	q, err := queue.New(db, queue.Options{Events: bus})
	if err != nil {
		t.Fatal(err)
	}
	// The job dies at its first run; the queue stops once it has.
	events := bus.Subscribe()
	ctx, stop := context.WithCancel(context.Background())
	q.Handle("coupon", func(context.Context, queue.Job) error {
		return queue.Permanent(errors.New("template does not exist"))
	})
	if _, err := q.Enqueue(ctx, queue.Job{Kind: "coupon", Key: "tplA/ser-1", Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- q.Run(ctx) }()
	for {
		wait, cancel := context.WithTimeout(ctx, waitLimit)
		e, err := events.Next(wait)
		cancel()
		if err != nil {
			t.Fatalf("no dead event: %v", err)
		}
		if _, ok := e.(event.Dead); ok {
			break
		}
	}
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	events.Close()

	h := start(t, Deps{Queue: q}, 100, 30)
	h.key(tcell.KeyF3, 0, tcell.ModNone)
	h.waitFor(t, "DEAD", "template does not exist", "Queue 0 waiting, 1 dead")
	h.key(tcell.KeyEnter, 0, tcell.ModNone) // Retry, Drop or Cancel
	h.waitFor(t, "Retry it now, or drop it")
	h.key(tcell.KeyEnter, 0, tcell.ModNone) // Retry
	h.waitFor(t, "retry done", "… waiting", "Queue 1 waiting │")
	if pending, dead, _ := q.Stats(); pending != 1 || dead != 0 {
		t.Fatalf("queue has %d pending, %d dead; want 1, 0", pending, dead)
	}
}

// A job's last error quotes the gateway, which may name a payment code or a
// user_id: the queue screen masks them, in the table and in the dead job's
// dialog, as `posagent queue` does.
func TestQueueScreenMasksDigitRuns(t *testing.T) {
	const (
		userID = "2088123412341234"
		code   = "286861260475412123"
	)
	for _, tc := range []struct {
		name, lastError, masked string
	}{
		{"user id", "KP.AE_ALIPASS_USERID_NOSUPPORT: " + userID, "2088********1234"},
		{"payment code", "decode " + code + " failed", "28************2123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fq := &fakeQueue{
				called: make(chan struct{}, 4),
				dead:   []queue.Job{{ID: "9", Kind: "coupon", Attempts: 12, LastError: tc.lastError, State: queue.StateDead}},
			}
			h := start(t, Deps{Queue: fq}, 120, 30)
			h.waitFor(t, "1 dead")
			h.key(tcell.KeyF3, 0, tcell.ModNone)
			screen := h.waitFor(t, "DEAD", tc.masked)
			if strings.Contains(screen, userID) || strings.Contains(screen, code) {
				t.Errorf("the queue table shows a full number:\n%s", screen)
			}
			h.key(tcell.KeyRune, 'd', tcell.ModAlt)
			screen = h.waitFor(t, "Drop dead job 9 (coupon)", tc.masked)
			if strings.Contains(screen, userID) || strings.Contains(screen, code) {
				t.Errorf("the dead job's dialog shows a full number:\n%s", screen)
			}
		})
	}
}

// TestQueueJobDetailLive: a job's details follow the queue while open: a
// job sent meanwhile says so instead of a stale "next try … (in 2s)".
func TestQueueJobDetailLive(t *testing.T) {
	next := time.Now().Add(2 * time.Second)
	fq := &fakeQueue{
		called:  make(chan struct{}, 4),
		pending: []queue.Job{{ID: "7", Kind: "coupon", Attempts: 2, NextAt: next, LastError: "gateway down", State: queue.StatePending}},
	}
	h := start(t, Deps{Queue: fq}, 80, 24)
	h.key(tcell.KeyF3, 0, tcell.ModNone)
	h.waitFor(t, "gateway down")
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	h.waitFor(t, "Job 7 (coupon): waiting", "It will be tried again by itself.")
	fq.mu.Lock()
	fq.pending = nil
	fq.mu.Unlock()
	// The job was sent: its coupon issued, which has the queue read again.
	h.bus.Publish(event.CouponIssued{SenceNo: "s1", TplID: "tplA", SerialNumber: "s1-tplA", PassID: "p1"})
	screen := h.waitFor(t, "Job 7 is no longer in the queue: it was sent, or dropped.")
	if strings.Contains(screen, "next try") {
		t.Fatalf("stale details:\n%s", screen)
	}
}

// The open job's buttons follow its state: a job that dies while shown
// gets Retry and Drop; one retried meanwhile loses them, so that Drop
// cannot delete it from a stale page.
func TestQueueJobDetailButtonsFollow(t *testing.T) {
	job := queue.Job{ID: "7", Kind: "coupon", Attempts: 2, NextAt: time.Now().Add(time.Hour), LastError: "gateway down", State: queue.StatePending}
	fq := &fakeQueue{called: make(chan struct{}, 8), pending: []queue.Job{job}}
	h := start(t, Deps{Queue: fq}, 80, 24)
	h.key(tcell.KeyF3, 0, tcell.ModNone)
	h.waitFor(t, "gateway down")
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	screen := h.waitFor(t, "Job 7 (coupon): waiting", "Close")
	if strings.Contains(screen, "Drop") {
		t.Fatalf("a waiting job offers Drop:\n%s", screen)
	}
	dead := job
	dead.State = queue.StateDead
	fq.mu.Lock()
	fq.pending, fq.dead = nil, []queue.Job{dead}
	fq.mu.Unlock()
	h.bus.Publish(event.Dead{JobID: "7", Kind: "coupon", Reason: "deadline passed"})
	h.waitFor(t, "Retry it now, or drop it for good?", "Retry", "Drop")
	fq.mu.Lock()
	fq.pending, fq.dead = []queue.Job{job}, nil
	fq.mu.Unlock()
	h.bus.Publish(event.Queued{JobID: "7", Kind: "coupon"})
	h.waitUntil(t, func(s string) string {
		if !strings.Contains(s, "It will be tried again by itself.") || strings.Contains(s, "Drop") {
			return "the retried job without Retry and Drop"
		}
		return ""
	})
}
