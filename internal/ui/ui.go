// Package ui is posagent's terminal user interface: the checkout screen the
// cashier watches, and the screens store staff use to set posagent up (queue,
// settings, agreement confirmation, app-pay orders, help).
//
// It consumes the same events as headless mode and holds no business logic:
// everything it shows comes from an *event.Subscription, and everything it
// does goes through the small interfaces below, which the real packages
// satisfy (queue.Queue, alipay.Client, scanner.Wedge, scanner.List).
//
// Every primitive is touched only on tview's event goroutine. Work from other
// goroutines (events, queue counts, gateway calls) reaches the screen through
// the application's update queue, so a slow gateway never freezes the screen.
package ui

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"posagent/internal/config"
	"posagent/internal/event"
)

// KeyFeeder receives what a keyboard-wedge scanner types into the checkout
// screen (scanner.Wedge). Enter arrives as '\r' and Tab as '\t', so the
// wedge's framer sees the scanner's terminator.
type KeyFeeder interface {
	Key(r rune, at time.Time)
}

// Deps is what the UI needs. Only Events is required; a screen whose
// collaborator is missing says so instead of failing. Leave a missing
// collaborator as a nil interface, not a nil pointer of a real type (a nil
// *scanner.Wedge in Keys is a feeder that panics).
type Deps struct {
	Events *event.Subscription

	// Config is the configuration in use, and ConfigPath the file the
	// settings screen saves to. A nil Config starts the settings form empty.
	Config     *config.Config
	ConfigPath string
	// OnSave is called on the UI goroutine after the settings screen saved
	// the file, so the program can apply what it can without a restart. It
	// returns the changed keys that wait for a restart, which staff are
	// shown, or an error: nothing was applied (the file stays saved).
	OnSave func(*config.Config) (restart []string, err error)

	// StaffPIN is the staff PIN's hash (config key staff_pin, made by
	// staffpin.Hash); empty: staff actions ask for no PIN.
	StaffPIN string

	Queue      QueueStore
	Keys       KeyFeeder
	Agreements AgreementConfirmer
	Orders     OrderBuilder
	Payments   PaymentTaker // the Pay dialog (F7)
	// Scanners lists the scanners the settings screen offers to pick from.
	Scanners ScannerLister

	// Screen is the terminal; nil means the real one. Tests pass
	// tcell.NewSimulationScreen.
	Screen tcell.Screen
	// Now is the clock for the queue's "next try" column; nil is time.Now.
	Now func() time.Time
}

// App is the terminal UI. Create it with New and start it with Run.
type App struct {
	deps     Deps
	now      func() time.Time
	tv       *tview.Application
	staffPIN string // the hash in force: Deps.StaffPIN, or the one saved since

	pages  *tview.Pages
	menu   *tview.TextView
	status *statusBar

	checkout  *checkoutScreen
	settings  *settingsScreen
	queue     *queueScreen
	agreement *agreementDialog
	order     *orderDialog
	pay       *payDialog
	// small: the last draw found the terminal below 80x24, where no
	// prompt can be seen; smallNote is the refusal of a key that needs one.
	small     bool
	smallNote string
	help      *tview.TextView
	events    *logView
	diag      *logView

	// Background work: every goroutine that may queue an update is counted
	// in wg, so Run stops tview only once none of them can block on it.
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
	started chan struct{} // closed after the first draw
	once    sync.Once

	// gate holds typed keys until it knows a scanner's burst from a
	// person's typing; gateWake tells gateTimer when to decide by silence.
	// keyTime is when a key was typed and gateNow the gate's clock (tests
	// replay recorded timings on a clock of their own).
	gate     burstGate
	gateWake chan time.Time
	keyTime  func(*tcell.EventKey) time.Time
	gateNow  func() time.Time
	root     *tview.Flex

	// applied counts events applied to the screen, drawn the events applied
	// when the last draw finished (for tests and the benchmark).
	applied uint64
	drawn   chan uint64
}

// Page names.
const (
	pageCheckout = "checkout"
	pageHelp     = "help"
)

// New builds the UI. Nothing is drawn before Run.
func New(deps Deps) *App {
	setTheme()
	a := &App{
		deps:     deps,
		now:      deps.Now,
		tv:       tview.NewApplication(),
		started:  make(chan struct{}),
		drawn:    make(chan uint64, 1),
		gateWake: make(chan time.Time, 1),
		staffPIN: deps.StaffPIN,
		keyTime:  (*tcell.EventKey).When,
		gateNow:  time.Now,
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.checkout = newCheckoutScreen(a.now)
	a.status = newStatusBar(a.checkout.model, a.now)
	a.help = newHelp()
	a.events = newLogView(" Event log — the last events, newest first, ids masked ")
	a.diag = newLogView(" Scanner diagnostics — keys and reads as they arrive, newest first ")
	a.settings = newSettingsScreen(a, deps.Config, deps.ConfigPath, deps.OnSave)
	a.agreement = newAgreementDialog(a, deps.Agreements)
	a.queue = newQueueScreen(a, deps.Queue)
	a.order = newOrderDialog(a, deps.Orders)
	a.pay = newPayDialog(a, deps.Payments, a.checkout.model)

	a.pages = tview.NewPages().
		AddPage(pageCheckout, a.checkout.view, true, true).
		AddPage(pageHelp, a.help, true, false).
		AddPage(pageEvents, a.events.view, true, false).
		AddPage(pageScanner, a.diag.view, true, false).
		AddPage(pageQueue, a.queue.root, true, false).
		AddPage(pageSettings, a.settings.root, true, false).
		AddPage(pageAgreement, a.agreement.root, true, false).
		AddPage(pageOrder, a.order.root, true, false).
		AddPage(pageOrderQR, a.order.qr, true, false).
		AddPage(pagePay, a.pay.view, true, false)
	a.menu = newMenu(a.show)
	// A click on the menu opens a screen; the keyboard stays with the screens.
	a.menu.SetFocusFunc(func() { a.tv.SetFocus(a.pages) })

	a.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(a.menu, 1, 0, false).
		AddItem(a.pages, 0, 1, true).
		AddItem(a.status.view, 1, 0, false)

	// Paste arrives as one paste event, past the burst gate: staff may
	// paste a path into a field.
	a.tv.SetRoot(a.root, true).
		EnableMouse(true).
		EnablePaste(true).
		SetInputCapture(a.capture).
		SetBeforeDrawFunc(a.beforeDraw).
		SetAfterDrawFunc(a.afterDraw)
	if deps.Screen != nil {
		a.tv.SetScreen(deps.Screen)
	}
	return a
}

// Run shows the UI until ctx is done or staff quit (F10, Alt-X, Ctrl-C). It
// returns the terminal to its normal state before returning.
func (a *App) Run(ctx context.Context) error {
	a.ctx, a.cancel = context.WithCancel(ctx)
	defer a.cancel()
	if a.deps.Events != nil {
		a.goBackground(a.pump)
	}
	if a.deps.Queue != nil {
		a.goBackground(a.queue.refresher)
	}
	a.goBackground(a.gateTimer)
	a.goBackground(a.ticker)
	stopped, ran := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		<-a.ctx.Done()
		// Wait until nothing can queue an update any more, then stop
		// tview: an update queued after Stop would block forever. Stop
		// only a running tview: one stopped before it started would open
		// the real terminal.
		a.wg.Wait()
		select {
		case <-a.started:
			a.tv.Stop()
		case <-ran:
		}
	}()
	err := a.tv.Run()
	close(ran)
	a.cancel()
	// tview returns on its own only when the screen failed; then the
	// background goroutines never started queueing (they wait for the first
	// draw) and the stopper exits at once.
	<-stopped
	return err
}

// quit asks Run to stop; safe on the UI goroutine.
func (a *App) quit() { a.cancel() }

// goBackground runs f in a goroutine Run waits for before stopping tview.
func (a *App) goBackground(f func(ctx context.Context)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f(a.ctx)
	}()
}

// update runs f on the UI goroutine and redraws. It returns false without
// running f once the UI is stopping. Call it only from goroutines started
// with goBackground.
func (a *App) update(f func()) bool {
	select {
	case <-a.started:
	case <-a.ctx.Done():
		return false
	}
	if a.ctx.Err() != nil {
		return false
	}
	a.tv.QueueUpdateDraw(f)
	return true
}

// Smallest terminal the screens are laid out for.
const minWidth, minHeight = 80, 24

// beforeDraw draws, instead of a broken screen, what is wrong with a
// terminal below 80x24; it reports whether it did (tview then draws
// nothing else). A key whose prompt could not be seen there (F10) is
// refused with words; staff resize, then quit.
func (a *App) beforeDraw(screen tcell.Screen) bool {
	w, h := screen.Size()
	a.small = w < minWidth || h < minHeight
	if !a.small {
		a.smallNote = ""
		return false
	}
	screen.Clear()
	lines := []string{
		fmt.Sprintf("Terminal too small (need %dx%d, have %dx%d).", minWidth, minHeight, w, h),
		"Make the window bigger: F10 (quit) asks to confirm,",
		"which needs 80x24.",
	}
	if a.staffPIN != "" {
		lines[1] = "Make the window bigger: F10 (quit) asks for"
		lines[2] = "the staff PIN, which needs 80x24."
	}
	if a.smallNote != "" {
		lines = append(lines, a.smallNote)
	}
	for i, l := range lines {
		y := h/2 - 1 + i
		tview.Print(screen, l, 0, y, w, tview.AlignCenter, tcell.ColorDefault)
	}
	// tview calls no afterDraw for this draw; it is a draw all the same.
	a.afterDraw(screen)
	return true
}

func (a *App) afterDraw(tcell.Screen) {
	a.once.Do(func() { close(a.started) })
	// Keep only the newest count: readers want the latest state.
	select {
	case <-a.drawn:
	default:
	}
	a.drawn <- a.applied
}

// maxBatch bounds one screen update, so that a flood of events still lets
// key presses through between batches.
const maxBatch = 4096

// frame is the shortest time between two event-driven redraws. A redraw of
// the whole screen per event would cost a cashier PC a core at 1,000 events
// a second; at most one per frame, events wait at most a frame and gather
// into the next batch meanwhile.
const frame = 20 * time.Millisecond

// pump drains the subscription in batches and applies each batch in one
// update: while the UI draws, and for the rest of the frame, events gather
// in the subscription, and the next batch takes them all. Nothing is
// dropped and the screen is never more than a frame and a draw behind.
func (a *App) pump(ctx context.Context) {
	sub := a.deps.Events
	batch := make([]event.Event, 0, 64)
	pause := time.NewTimer(0)
	defer pause.Stop()
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			return
		}
		batch = append(batch[:0], e)
		for len(batch) < maxBatch {
			e, ok := sub.TryNext()
			if !ok {
				break
			}
			batch = append(batch, e)
		}
		began := time.Now()
		if !a.update(func() { a.apply(batch) }) {
			return
		}
		pause.Reset(frame - time.Since(began))
		select {
		case <-pause.C:
		case <-ctx.Done():
			return
		}
	}
}

// apply updates every screen's state from a batch of events and re-renders
// once; it runs on the UI goroutine.
func (a *App) apply(batch []event.Event) {
	for _, e := range batch {
		a.events.add(func() string { return eventLine(e) })
		if line, ok := diagEvent(e); ok {
			a.diag.add(func() string { return line })
		}
		a.status.apply(e)
		a.checkout.apply(e)
		a.pay.apply(e)
		if a.deps.Queue != nil {
			a.queue.apply(e)
		}
	}
	a.pay.sync()
	a.status.render()
	a.checkout.render()
	a.events.render()
	a.diag.render()
	a.applied += uint64(len(batch))
}

// ticker redraws what counts down (the next try while the gateway is
// down) once a second.
func (a *App) ticker(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !a.update(func() {
				a.checkout.tick()
				a.pay.sync()          // a code's life ends with the clock
				a.queue.renderShown() // the open job's countdown
				a.status.render()
			}) {
				return
			}
		}
	}
}

// show brings a page to the front, closing any open modal.
func (a *App) show(page string) {
	if page != pageSettings && a.settings.dirty && slices.Contains(a.pages.GetPageNames(true), pageSettings) {
		// Settings in front, or under the PIN dialog or a question.
		a.leaveSettings(page)
		return
	}
	a.closeModal()
	for _, p := range []string{pagePIN, pageJob} {
		if a.pages.HasPage(p) {
			a.pages.RemovePage(p)
		}
	}
	a.pay.leave()
	a.pages.SwitchToPage(page)
	a.tv.SetFocus(a.pages)
	a.menu.Highlight(page)
	a.queue.visible.Store(page == pageQueue)
	a.events.shown, a.diag.shown = page == pageEvents, page == pageScanner
	a.events.render()
	a.diag.render()
	if page == pageQueue {
		a.queue.refresh()
	}
}

// leaveSettings asks what to do with unsaved settings before page opens.
func (a *App) leaveSettings(page string) {
	a.ask("The settings have changes that are not saved.", []string{"Save", "Discard", "Stay"}, func(button string) {
		switch button {
		case "Save":
			a.staff("Save settings", func() {
				a.settings.save()
				if !a.settings.dirty {
					a.show(page)
				}
			})
		case "Discard":
			a.settings.discard()
			a.show(page)
		}
	})
}

// front is the name of the page in front.
func (a *App) front() string {
	name, _ := a.pages.GetFrontPage()
	return name
}

const pageModal = "modal"

// ask shows a modal question over the current page; done gets the chosen
// button, or "" when staff pressed Esc. Focus returns to where it was.
func (a *App) ask(text string, buttons []string, done func(button string)) {
	a.closeModal()
	prev := a.tv.GetFocus()
	m := tview.NewModal().SetText(text).AddButtons(buttons).
		SetBackgroundColor(tcell.ColorNavy).SetTextColor(tcell.ColorWhite).
		SetButtonStyle(buttonStyle).SetButtonActivatedStyle(buttonActiveStyle)
	m.SetDoneFunc(func(_ int, label string) {
		a.closeModal()
		a.tv.SetFocus(prev)
		if done != nil {
			done(label)
		}
	})
	a.pages.AddPage(pageModal, m, true, true)
	a.tv.SetFocus(m)
}

func (a *App) closeModal() {
	if a.pages.HasPage(pageModal) {
		a.pages.RemovePage(pageModal)
	}
}

// globalKeys handles the keys that work on every screen, and passes the
// keys a person types on the checkout screen to the KeyFeeder too (the
// scanner diagnostics show them; the wedge ignores them).
// Screen keys are F-keys and Alt-letters so that they never collide with
// the digits and terminator a scanner types.
func (a *App) globalKeys(ev *tcell.EventKey) *tcell.EventKey {
	if p := a.pageFor(ev); p != "" {
		a.show(p)
		return nil
	}
	switch {
	case (ev.Key() == tcell.KeyF10 || ev.Key() == tcell.KeyCtrlC || isAlt(ev, 'x')) && a.small:
		// Its prompt could not be seen: refused, with words.
		a.smallNote = "F10 refused: make the window 80x24 first."
		return nil
	case ev.Key() == tcell.KeyF10, ev.Key() == tcell.KeyCtrlC, isAlt(ev, 'x'):
		a.quitKey()
		return nil
	case ev.Key() == tcell.KeyEscape && (a.front() == pageHelp || a.front() == pageEvents || a.front() == pageScanner):
		a.show(pageCheckout)
		return nil
	case ev.Key() == tcell.KeyEscape && a.front() == pageOrderQR:
		a.show(pageOrder)
		return nil
	}
	switch a.front() {
	case pageCheckout:
		return a.checkoutKey(ev)
	case pageQueue:
		return a.queue.key(ev)
	case pageSettings:
		return a.settings.key(ev)
	case pageAgreement:
		return a.agreement.key(ev, a.agreement.send)
	case pageOrder:
		if isAlt(ev, 'g') {
			a.order.showQR()
			return nil
		}
		return a.order.key(ev, a.order.send)
	case pagePay:
		if isAlt(ev, 'k') {
			a.pay.cancel()
			return nil
		}
		return a.pay.key(ev, a.pay.send)
	}
	return ev
}

// quitKey quits once staff said so: the staff PIN when one is set, else
// a question whose first (focused) answer is to stay, so that a stray F10
// and Enter do not stop the till.
func (a *App) quitKey() {
	if a.staffPIN != "" {
		a.staff("Quit posagent", a.quit)
		return
	}
	a.ask("Quit posagent? the till stops reading codes", []string{"Stay", "Quit"}, func(button string) {
		if button == "Quit" {
			a.quit()
		}
	})
}

// pageFor maps a key to the page it opens.
func (a *App) pageFor(ev *tcell.EventKey) string {
	for _, k := range screenKeys {
		if ev.Key() == k.fkey || isAlt(ev, k.alt) {
			return k.page
		}
	}
	return ""
}

// checkoutKey feeds the keyboard wedge: printable runes, Enter and Tab.
func (a *App) checkoutKey(ev *tcell.EventKey) *tcell.EventKey {
	var r rune
	switch {
	case ev.Key() == tcell.KeyRune && ev.Modifiers()&(tcell.ModAlt|tcell.ModCtrl|tcell.ModMeta) == 0:
		r = ev.Rune()
	case ev.Key() == tcell.KeyEnter:
		r = '\r'
	case ev.Key() == tcell.KeyTab:
		r = '\t'
	default:
		return ev // arrows etc. scroll the list of last scans
	}
	if a.deps.Keys != nil {
		a.deps.Keys.Key(r, ev.When())
	}
	return nil
}

func isAlt(ev *tcell.EventKey, r rune) bool {
	return r != 0 && ev.Key() == tcell.KeyRune && ev.Modifiers()&tcell.ModAlt != 0 &&
		(ev.Rune() == r || ev.Rune() == r-'a'+'A')
}
