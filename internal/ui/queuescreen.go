package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"posagent/internal/event"
	"posagent/internal/queue"
	"posagent/internal/redact"
)

const pageQueue = "queue"

// QueueStore is the retry queue as the UI sees it (queue.Queue).
type QueueStore interface {
	Pending() ([]queue.Job, error)
	Dead() ([]queue.Job, error)
	RetryDead(id string) error
	Drop(id string) error
}

// queueCounter is what a store may offer to count jobs without listing
// them; queue.Queue does.
type queueCounter interface {
	Stats() (pending, dead int, err error)
}

// countEvery is how often the status bar's queue counts are read even
// without an event: a job that succeeds leaves the queue without one.
const countEvery = 5 * time.Second

// queueScreen lists pending and dead jobs and retries or drops a dead one
// after asking.
type queueScreen struct {
	app     *App
	store   QueueStore
	root    *tview.Flex
	table   *tview.Table
	msg     *tview.TextView
	jobs    []queue.Job // the table's rows, after its header
	visible atomic.Bool // read by the refresher goroutine
	kick    chan struct{}
	note    string
	// retried are jobs put back in line from this screen, until their
	// next event says what became of them.
	retried map[string]queue.Job

	rendering bool
	// shown is the job whose details are open (pageJob), kept up to date
	// as the queue is read again: nil when none is.
	shown *shownJob
}

// shownJob is the open details page of a job.
type shownJob struct {
	id      string
	view    *tview.TextView
	buttons *tview.Form
	back    func()
	actions string // what the buttons were made for: "dead", "pending" or "gone"
}

func newQueueScreen(a *App, store QueueStore) *queueScreen {
	q := &queueScreen{
		app:     a,
		store:   store,
		table:   tview.NewTable().SetFixed(1, 0).SetSelectable(true, false).SetSelectedStyle(selectedStyle),
		msg:     tview.NewTextView().SetDynamicColors(true),
		kick:    make(chan struct{}, 1),
		retried: make(map[string]queue.Job),
	}
	q.table.SetBorder(true).SetTitle(" Queue — pending and dead jobs ")
	q.table.SetSelectedFunc(func(row, _ int) { q.choose(row) })
	q.table.SetDoneFunc(func(k tcell.Key) {
		if k == tcell.KeyEscape {
			a.show(pageCheckout)
		}
	})
	q.table.SetSelectionChangedFunc(func(int, int) {
		if !q.rendering { // staff moved: the last note was about another row
			q.note = ""
			q.showMessage()
		}
	})
	q.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(q.table, 0, 1, true).
		AddItem(q.msg, 2, 0, false)
	q.render()
	return q
}

// refresh asks the refresher to read the queue now.
func (q *queueScreen) refresh() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// apply notes events that change the queue, and says what became of a
// job retried from this screen: sent, failed again, or dead.
func (q *queueScreen) apply(e event.Event) {
	switch e.(type) {
	case event.Queued, event.Dead, event.CouponIssued, event.CouponFailed, event.Decoded, event.Gateway:
		q.refresh()
	}
	if len(q.retried) == 0 {
		return
	}
	for id, j := range q.retried {
		outcome := retryOutcome(j, e)
		if outcome == "" {
			continue
		}
		delete(q.retried, id)
		q.note = fmt.Sprintf(" Retried job %s (%s): %s", escape(id), escape(j.Kind), outcome)
		q.showMessage()
	}
}

// retryOutcome is what e says became of the retried job j, or "".
func retryOutcome(j queue.Job, e event.Event) string {
	s := j.Subject
	switch e := e.(type) {
	case event.Queued:
		if e.JobID == j.ID {
			return fmt.Sprintf("%s%s failed again%s (attempt %d): %s; next try %s", tagWarn, symWait, tagOff, e.Attempt,
				escape(redact.Line(e.Reason)), clock(e.NextAt))
		}
	case event.Dead:
		if e.JobID == j.ID {
			return fmt.Sprintf("%s%s dead again:%s %s", tagBad, symBad, tagOff, escape(redact.Line(e.Reason)))
		}
	case event.CouponIssued:
		if s.SerialNumber != "" && e.SerialNumber == s.SerialNumber {
			return fmt.Sprintf("%s%s sent: coupon %s issued%s", tagOK, symOK, escape(e.TplID), tagOff)
		}
	case event.CouponFailed:
		if s.SerialNumber != "" && e.SerialNumber == s.SerialNumber {
			return fmt.Sprintf("%s%s sent, and refused:%s %s", tagBad, symBad, tagOff, escape(redact.Line(e.Reason)))
		}
	case event.Decoded:
		if s.SenceNo != "" && s.TplID == "" && e.SenceNo == s.SenceNo {
			return fmt.Sprintf("%s%s sent: customer %s decoded%s", tagOK, symOK, escape(e.UserIDMasked), tagOff)
		}
	}
	return ""
}

// refresher reads the queue off the UI goroutine: counts for the status
// bar always, the lists while the screen shows. bbolt reads are quick, but a
// big queue or a busy disk must never stall the screen.
func (q *queueScreen) refresher(ctx context.Context) {
	tick := time.NewTicker(countEvery)
	defer tick.Stop()
	for {
		var (
			pending, dead []queue.Job
			np, nd        int
			err           error
		)
		lists := q.visible.Load()
		if lists {
			pending, err = q.store.Pending()
			if err == nil {
				dead, err = q.store.Dead()
			}
			np, nd = len(pending), len(dead)
		} else if c, ok := q.store.(queueCounter); ok {
			np, nd, err = c.Stats()
		} else {
			pending, err = q.store.Pending()
			if err == nil {
				dead, err = q.store.Dead()
			}
			np, nd = len(pending), len(dead)
		}
		if !q.app.update(func() {
			if err != nil {
				q.note = fmt.Sprintf(" %s%s Cannot read the queue:%s %s", tagBad, symBad, tagOff, tview.Escape(err.Error()))
				q.showMessage()
				return
			}
			q.app.status.setCounts(np, nd)
			q.app.status.render()
			if lists {
				q.jobs = newestFirst(append(pending, dead...))
				q.render()
				q.renderShown()
			}
		}) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		case <-tick.C:
		}
	}
}

func (q *queueScreen) render() {
	q.rendering = true
	defer func() { q.rendering = false }()
	t := q.table
	row, _ := t.GetSelection()
	t.Clear()
	header(t, []string{"State", "Job", "Kind", "Attempts", "Next try", "Reason"}, []int{9, 3, 6, 8})
	for i, j := range q.jobs {
		state := tagWarn + symWait + " waiting" + tagOff
		next := clock(j.NextAt) + " " + until(j.NextAt, q.app.now())
		switch j.State {
		case queue.StateRunning:
			state, next = tagBusy+symBusy+" running"+tagOff, "now"
		case queue.StateDead:
			state, next = tagBad+symBad+" DEAD"+tagOff, "never"
		}
		t.SetCell(i+1, 0, tview.NewTableCell(state))
		t.SetCell(i+1, 1, tview.NewTableCell(tview.Escape(j.ID)))
		t.SetCell(i+1, 2, tview.NewTableCell(tview.Escape(j.Kind)))
		t.SetCell(i+1, 3, tview.NewTableCell(fmt.Sprint(j.Attempts)).SetAlign(tview.AlignRight))
		t.SetCell(i+1, 4, tview.NewTableCell(next))
		t.SetCell(i+1, 5, tview.NewTableCell(tview.Escape(redact.Line(j.LastError))).SetExpansion(1))
	}
	if len(q.jobs) > 0 {
		t.Select(min(max(row, 1), len(q.jobs)), 0)
	}
	q.showMessage()
}

func (q *queueScreen) showMessage() {
	switch {
	case q.store == nil:
		q.msg.SetText(" This posagent has no queue.")
	case q.note != "":
		q.msg.SetText(q.note)
	case len(q.jobs) == 0:
		q.msg.SetText(" " + symOK + " The queue is empty.")
	default:
		q.msg.SetText(" Enter or Alt-R retries the chosen dead job, Alt-D drops it; Alt-U refreshes.")
	}
}

// selected is the dead job the table's selection is on.
func (q *queueScreen) selected() (queue.Job, bool) {
	row, _ := q.table.GetSelection()
	if row < 1 || row > len(q.jobs) {
		return queue.Job{}, false
	}
	j := q.jobs[row-1]
	if j.State != queue.StateDead {
		q.note = " Job " + tview.Escape(j.ID) + " is not dead: it will be tried again by itself."
		q.showMessage()
		return j, false
	}
	return j, true
}

// newestFirst orders jobs by when they were made, newest first.
func newestFirst(jobs []queue.Job) []queue.Job {
	slices.SortStableFunc(jobs, func(a, b queue.Job) int { return b.Created.Compare(a.Created) })
	return jobs
}

// detail is everything about a job, for its dialog: times in local time
// to the second, the whole reason with ids masked.
func (q *queueScreen) detail(j queue.Job) string {
	var b strings.Builder
	state := "waiting"
	switch j.State {
	case queue.StateRunning:
		state = "running"
	case queue.StateDead:
		state = "DEAD"
	}
	fmt.Fprintf(&b, "Job %s (%s): %s\n\n", j.ID, j.Kind, state)
	if s := j.Subject; s.SenceNo != "" {
		fmt.Fprintf(&b, "customer sence_no %s\n", s.SenceNo)
		if s.TplID != "" || s.SerialNumber != "" {
			fmt.Fprintf(&b, "coupon %s, serial %s\n", s.TplID, redact.Text(s.SerialNumber))
		}
	}
	fmt.Fprintf(&b, "attempts %d\ncreated  %s\n", j.Attempts, stamp(j.Created))
	if j.State != queue.StateDead {
		fmt.Fprintf(&b, "next try %s %s\n", stamp(j.NextAt), until(j.NextAt, q.app.now()))
	}
	fmt.Fprintf(&b, "gives up %s\n\n", stamp(j.Deadline))
	reason := redact.Text(j.LastError)
	if reason == "" {
		reason = "(none)"
	}
	fmt.Fprintf(&b, "%s\n%s", map[bool]string{true: "why it died:", false: "last error:"}[j.State == queue.StateDead], reason)
	return b.String()
}

// stamp is a date and time in local time to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// choose shows a job's details on a page of their own (Enter or a click);
// for a dead job, with both actions.
func (q *queueScreen) choose(row int) {
	if row < 1 || row > len(q.jobs) {
		return
	}
	j := q.jobs[row-1]
	text := tview.NewTextView().SetDynamicColors(true)
	text.SetBorder(true).SetTitle(" Job " + escape(j.ID) + " — Esc returns ")
	buttons := styleForm(tview.NewForm()).SetButtonsAlign(tview.AlignCenter)
	back := func() {
		q.shown = nil
		q.app.pages.RemovePage(pageJob)
		q.app.tv.SetFocus(q.table)
	}
	buttons.SetCancelFunc(back)
	page := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(text, 0, 1, false).
		AddItem(buttons, 3, 0, true)
	q.app.pages.AddPage(pageJob, page, true, true)
	q.shown = &shownJob{id: j.ID, view: text, buttons: buttons, back: back}
	q.renderShown()
	q.app.tv.SetFocus(buttons)
}

// setActions gives the open job's page the buttons its job's state allows
// (j: the job as last read; nil once it left the queue): Retry and Drop
// only for a dead job, so that a job retried meanwhile is not dropped
// from a stale page.
func (q *queueScreen) setActions(j *queue.Job) {
	s := q.shown
	actions := "gone"
	if j != nil {
		actions = "pending"
		if j.State == queue.StateDead {
			actions = "dead"
		}
	}
	if actions == s.actions {
		return
	}
	s.actions = actions
	focused := s.buttons.HasFocus()
	s.buttons.ClearButtons()
	if actions == "dead" {
		job := *j
		s.buttons.AddButton("Retry", func() { s.back(); q.do("retry", job, q.store.RetryDead) })
		s.buttons.AddButton("Drop", func() {
			s.back()
			q.app.staff("Drop job "+job.ID, func() { q.do("drop", job, q.store.Drop) })
		})
	}
	s.buttons.AddButton("Close", s.back)
	if focused {
		s.buttons.SetFocus(0)
		q.app.tv.SetFocus(s.buttons)
	}
}

// renderShown writes the open job's details as the queue was last read:
// its next try and attempts move on, and a job sent or dropped meanwhile
// says so instead of a stale countdown.
func (q *queueScreen) renderShown() {
	if q.shown == nil {
		return
	}
	if !q.app.pages.HasPage(pageJob) {
		q.shown = nil
		return
	}
	i := slices.IndexFunc(q.jobs, func(j queue.Job) bool { return j.ID == q.shown.id })
	if i < 0 {
		q.setActions(nil)
	} else {
		q.setActions(&q.jobs[i])
	}
	var text string
	switch {
	case i < 0:
		text = "Job " + q.shown.id + " is no longer in the queue: it was sent, or dropped.\nSee the event log (F8) for what became of it."
	case q.jobs[i].State == queue.StateDead:
		text = q.detail(q.jobs[i]) + "\n\nRetry it now, or drop it for good?"
	default:
		text = q.detail(q.jobs[i]) + "\n\nIt will be tried again by itself."
	}
	if text = escape(text); text != q.shown.view.GetText(false) {
		q.shown.view.SetText(text)
	}
}

// pageJob is the page of one job's details, over the queue.
const pageJob = "job"

func (q *queueScreen) retry() {
	if j, ok := q.selected(); ok {
		q.app.ask(fmt.Sprintf("Retry dead job %s (%s) now?\nIt goes back in line with its attempts reset.", j.ID, j.Kind),
			[]string{"Retry", "Cancel"}, func(button string) {
				if button == "Retry" {
					q.do("retry", j, q.store.RetryDead)
				}
			})
	}
}

func (q *queueScreen) drop() {
	if j, ok := q.selected(); ok {
		q.app.ask(fmt.Sprintf("Drop dead job %s (%s) for good?\nIts work will never be done.", j.ID, j.Kind),
			[]string{"Drop", "Cancel"}, func(button string) {
				if button == "Drop" {
					q.app.staff("Drop job "+j.ID, func() { q.do("drop", j, q.store.Drop) })
				}
			})
	}
}

// do runs a confirmed action off the UI goroutine, then refreshes.
func (q *queueScreen) do(verb string, j queue.Job, f func(id string) error) {
	q.note = fmt.Sprintf(" %s%s %s job %s…%s", tagBusy, symBusy, verb, tview.Escape(j.ID), tagOff)
	q.showMessage()
	q.app.goBackground(func(ctx context.Context) {
		err := f(j.ID)
		q.app.update(func() {
			switch {
			case err != nil:
				q.note = fmt.Sprintf(" %s%s Could not %s job %s:%s %s", tagBad, symBad, verb, tview.Escape(j.ID), tagOff, tview.Escape(err.Error()))
			case verb == "retry":
				q.retried[j.ID] = j
				q.note = fmt.Sprintf(" %s%s Job %s: retry done: back in line, waiting for its run…%s", tagBusy, symBusy, tview.Escape(j.ID), tagOff)
			default:
				q.note = fmt.Sprintf(" %s%s Job %s: %s done.%s", tagOK, symOK, tview.Escape(j.ID), verb, tagOff)
			}
			q.showMessage()
			q.refresh()
		})
	})
}

// key handles the queue screen's keys.
func (q *queueScreen) key(ev *tcell.EventKey) *tcell.EventKey {
	if q.store == nil {
		return ev
	}
	switch {
	case isAlt(ev, 'r'):
		q.retry()
	case isAlt(ev, 'd'):
		q.drop()
	case isAlt(ev, 'u'):
		q.note = ""
		q.refresh()
	default:
		return ev
	}
	return nil
}

// until says how long until t, for a person: "(in 4m10s)" or "(due)".
func until(t, now time.Time) string {
	d := t.Sub(now)
	if d <= 0 {
		return "(due)"
	}
	return "(in " + d.Round(time.Second).String() + ")"
}
