package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"posagent/internal/event"
	"posagent/internal/ui/checkout"
)

// stateWords is each state in capitals with its symbol: it must read
// without colour.
var stateWords = [...]string{
	checkout.Read:     tagBusy + symWait + " READ" + tagOff,
	checkout.Decoding: tagBusy + symBusy + " DECODING" + tagOff,
	checkout.Retrying: tagWarn + symBusy + " RETRYING" + tagOff,
	checkout.Waiting:  tagWarn + symWait + " WAITING FOR ALIPAY" + tagOff,
	checkout.Decoded:  tagOK + symOK + " DECODED" + tagOff,
	checkout.Failed:   tagBad + symBad + " FAILED" + tagOff,
	checkout.Rejected: tagBad + symBad + " NOT A PAYMENT CODE" + tagOff,
	checkout.Expired:  tagBad + symBad + " CODE EXPIRED" + tagOff,
	checkout.CutOff:   tagWarn + symBad + " SCAN CUT OFF" + tagOff,
}

// outageAdvice is what the cashier does while Alipay cannot be reached:
// the customer pays now, the coupons are owed and go out later.
const outageAdvice = checkout.OutageAction

// checkoutScreen is the cashier's screen, drawing the checkout model: the
// newest customer (scan, customer, coupons) and the last scans. The table
// is kept row by row: an event changes the cells of its customer's row
// only, a new scan inserts one row at the top.
type checkoutScreen struct {
	model *checkout.Model
	now   func() time.Time

	root       *tview.Flex
	view       *fitted         // root, with the current scan's rows fitted to its text
	banner     *tview.TextView // what the cashier does about the gateway; empty while it is fine
	bannerRows int
	current    *tview.TextView
	customer   *tview.TextView
	coupons    *tview.TextView
	last       *tview.Table
	rows       []uint64 // the table's rows under the header: customer IDs, newest first

	// panels: the newest customer's panels (or the outage banner) changed.
	panels bool
	buf    strings.Builder
}

// Columns of the last scans.
const (
	colTime = iota
	colCode
	colState
	colCustomer
	colCampus
	columns
)

func newCheckoutScreen(now func() time.Time) *checkoutScreen {
	c := &checkoutScreen{
		model:    checkout.New(),
		now:      now,
		banner:   tview.NewTextView().SetDynamicColors(true).SetWrap(false),
		current:  tview.NewTextView().SetDynamicColors(true),
		customer: tview.NewTextView().SetDynamicColors(true),
		coupons:  tview.NewTextView().SetDynamicColors(true).SetWrap(false),
		last:     tview.NewTable().SetFixed(1, 0).SetSelectable(true, false).SetSelectedStyle(selectedStyle),
	}
	for _, v := range []*tview.TextView{c.current, c.customer, c.coupons} {
		v.SetBorderPadding(0, 0, 1, 1)
	}
	c.current.SetBorder(true).SetTitle(" Current scan ")
	c.customer.SetBorder(true).SetTitle(" Customer ")
	c.coupons.SetBorder(true).SetTitle(" Coupons ")
	c.last.SetBorder(true).SetTitle(" Last scans (newest first) ")
	header(c.last, []string{"Time", "Code", "State", "Customer", "School / campus"}, []int{8, 18, 16, 16})
	top := tview.NewFlex().
		AddItem(c.current, 0, 5, false).
		AddItem(c.customer, 0, 3, false)
	c.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(c.banner, 0, 0, false).
		AddItem(top, 7, 0, false).
		AddItem(c.coupons, 4, 0, false).
		AddItem(c.last, 0, 1, true)
	// The current scan grows to its text (the cashier's instruction is
	// read whole), leaving the last scans their header and two rows.
	c.view = newFitted(c.root, &fit{parent: c.root, item: top, view: c.current, frame: 2, least: 7,
		most: func(height int) int { return height - c.bannerRows - 4 - 5 }})
	c.panels = true
	c.render()
	return c
}

// reading shows how many keys wait at the burst gate: a code being read.
// It is 0 as soon as the read ended or timed out.
func (c *checkoutScreen) reading(n int) {
	if c.model.SetReading(n) {
		c.panels = true
		c.render()
	}
}

// apply feeds one event to the model and updates the rows it changed.
// It reports whether the status (gateway, scanner) changed.
func (c *checkoutScreen) apply(e event.Event) bool {
	ch := c.model.Apply(e)
	if ch.Dropped != nil {
		if i := c.row(ch.Dropped.ID); i >= 0 {
			c.removeRow(i)
		}
	}
	if cu := ch.Customer; cu != nil {
		switch {
		case ch.New:
			c.insertRow(c.model.Index(cu), cu)
		case ch.Moved:
			if i := c.row(cu.ID); i >= 0 {
				c.removeRow(i)
			}
			c.insertRow(0, cu)
		default:
			if i := c.row(cu.ID); i >= 0 {
				c.fillRow(i+1, cu)
			}
		}
		if c.model.Len() > 0 && c.model.Newest(0) == cu {
			c.panels = true
		}
	}
	if ch.Status {
		c.panels = true
	}
	return ch.Status
}

// row is the index in rows of the customer id, or -1.
func (c *checkoutScreen) row(id uint64) int {
	for i, r := range c.rows {
		if r == id {
			return i
		}
	}
	return -1
}

func (c *checkoutScreen) removeRow(i int) {
	c.last.RemoveRow(i + 1)
	c.rows = append(c.rows[:i], c.rows[i+1:]...)
}

// insertRow puts cu at place i from the top (the model's Index); one on
// top is shown: the newest scan is always in view.
func (c *checkoutScreen) insertRow(i int, cu *checkout.Customer) {
	c.last.InsertRow(i + 1)
	c.rows = slices.Insert(c.rows, i, cu.ID)
	for col := range columns {
		cell := tview.NewTableCell("")
		if col == colCampus {
			cell.SetExpansion(1)
		}
		c.last.SetCell(i+1, col, cell)
	}
	c.fillRow(i+1, cu)
	if i == 0 {
		c.last.Select(1, 0)
		c.last.ScrollToBeginning()
	}
}

// fillRow writes cu into the cells of table row r.
func (c *checkoutScreen) fillRow(r int, cu *checkout.Customer) {
	c.last.GetCell(r, colTime).SetText(clock(cu.At))
	c.last.GetCell(r, colCode).SetText(escape(cu.Code))
	state := stateWords[cu.State]
	if cu.State == checkout.Failed && cu.SubCode != "" {
		state += " " + escape(cu.SubCode)
	}
	state += paymentMark(cu.Payment)
	c.last.GetCell(r, colState).SetText(state)
	c.last.GetCell(r, colCustomer).SetText(escape(cu.User))
	campus := ""
	if cu.School != "" || cu.Campus != "" {
		campus = escape(cu.School + " / " + cu.Campus)
	}
	c.last.GetCell(r, colCampus).SetText(campus)
}

// render redraws the panels of the newest customer, if they changed.
func (c *checkoutScreen) render() {
	if !c.panels {
		return
	}
	c.panels = false
	var cu *checkout.Customer
	if c.model.Len() > 0 {
		cu = c.model.Newest(0)
	}
	c.renderBanner()
	c.renderCurrent(cu)
	c.renderCustomer(cu)
	c.renderCoupons(cu)
}

// tick redraws what depends on the time: the countdown to the next try,
// and the codes whose life ended.
func (c *checkoutScreen) tick() {
	for _, cu := range c.model.Tick(c.now()) {
		if i := c.row(cu.ID); i >= 0 {
			c.fillRow(i+1, cu)
		}
		if c.model.Newest(0) == cu {
			c.panels = true
		}
	}
	if g, _ := c.model.Gateway(); g == checkout.GatewayDown || c.waiting() {
		c.panels = true
	}
	c.render()
}

func (c *checkoutScreen) waiting() bool {
	return c.model.Len() > 0 && c.model.Newest(0).State == checkout.Waiting
}

// renderBanner says, on one full-width line over the panels, what the
// cashier does while the gateway cannot decode: the countdown to the next
// try is in the status bar, the configuration problem's words in the
// current scan.
func (c *checkoutScreen) renderBanner() {
	text := ""
	switch g, _ := c.model.Gateway(); g {
	case checkout.GatewayDown:
		text = tagBad + symBad + " " + outageAdvice + tagOff
	case checkout.GatewayMisconfigured:
		text = tagBad + symBad + " Configuration problem (not an outage):" + tagOff + " call support; take another payment."
	}
	if text == c.banner.GetText(false) {
		return
	}
	c.banner.SetText(text)
	c.bannerRows = min(len(text), 1)
	c.root.ResizeItem(c.banner, c.bannerRows, 0)
}

func (c *checkoutScreen) renderCurrent(cu *checkout.Customer) {
	b := &c.buf
	b.Reset()
	now := c.now()
	if g, why := c.model.Gateway(); g == checkout.GatewayMisconfigured && (cu == nil || cu.State != checkout.Failed) {
		// The failed scan that showed the problem says it itself.
		fmt.Fprintf(b, "%sConfiguration:%s %s\n", tagKey, tagOff, escape(why))
	}
	switch {
	case c.model.Reading() > 0:
		fmt.Fprintf(b, "%s%s READING%s %d characters\n", tagBusy, symWait, tagOff, c.model.Reading())
	case cu == nil:
		b.WriteString("Waiting for a scan.\nScan the customer's Alipay payment code.")
	}
	if cu != nil {
		if c.model.Reading() == 0 && !cu.PaidBefore() {
			// A rescan of a paid code says ALREADY PAID, not DECODED.
			b.WriteString(stateWords[cu.State])
			switch cu.State {
			case checkout.Retrying:
				fmt.Fprintf(b, " (attempt %d)", cu.Attempt)
			case checkout.Waiting:
				if cu.NextAt.After(now) {
					fmt.Fprintf(b, " next try in %s", countdown(cu.NextAt, now))
				}
			}
			if cu.State == checkout.Failed || cu.State == checkout.Rejected || cu.State == checkout.Expired {
				if m := strings.TrimSpace(cu.SubCode + " " + cu.Message); m != "" {
					fmt.Fprintf(b, " %s", escape(m))
				}
			}
			b.WriteString("\n")
			if cu.Action != "" && cu.State != checkout.Decoded {
				fmt.Fprintf(b, "%sCashier:%s %s\n", tagKey, tagOff, escape(cu.Action))
			}
		}
		if c.model.Reading() == 0 {
			switch p := cu.Payment; {
			case cu.PaidBefore():
				// A rescan of a used code: nothing to hand over again.
				fmt.Fprintf(b, "%s%s ALREADY PAID%s %s yuan\nthis code was already paid at %s\n",
					tagWarn, symWait, tagOff, escape(p.Amount), clock(p.At))
				fmt.Fprintf(b, "%sCashier:%s not a new sale; ask for a new code.\n", tagKey, tagOff)
			case p.State != "":
				fmt.Fprintf(b, "%s\n%s yuan at %s %s\n", paymentWord(p.State), escape(p.Amount), clock(p.At), escape(p.Message))
				if p.Action != "" {
					fmt.Fprintf(b, "%sCashier:%s %s\n", tagKey, tagOff, escape(p.Action))
				}
			case cu.State == checkout.Decoded:
				fmt.Fprintf(b, "%sCashier:%s ring up the sale; F7 to take the payment.\n", tagKey, tagOff)
			}
		}
		fmt.Fprintf(b, "code %s at %s", escape(cu.Code), clock(cu.At))
	}
	c.current.SetText(b.String())
	c.current.ScrollToBeginning()
	if cu != nil && cu.Source != "" {
		c.current.SetTitle(" Current scan — " + escape(cu.Source) + " ")
	}
}

func (c *checkoutScreen) renderCustomer(cu *checkout.Customer) {
	if cu == nil || cu.State != checkout.Decoded {
		c.customer.SetText("—")
		return
	}
	b := &c.buf
	b.Reset()
	fmt.Fprintf(b, "user   %s\nschool %s\ncampus %s", escape(cu.User), orDash(cu.School), orDash(cu.Campus))
	c.customer.SetText(b.String())
}

// renderCoupons lists the newest customer's coupons, each on its own row
// that changes in place as the coupon goes from pending to issued or
// failed.
func (c *checkoutScreen) renderCoupons(cu *checkout.Customer) {
	if cu == nil || len(cu.Coupons) == 0 {
		c.coupons.SetTitle(" Coupons ")
		c.coupons.SetText("No coupons for this customer yet.")
		return
	}
	c.coupons.SetTitle(" Coupons — " + escape(cu.User) + " ")
	b := &c.buf
	b.Reset()
	now := c.now()
	for _, v := range cu.Coupons {
		switch v.State {
		case checkout.CouponIssued:
			fmt.Fprintf(b, "%s%s ISSUED%s  %s  %s  pass %s\n", tagOK, symOK, tagOff, clock(v.At), escape(v.TplID), escape(v.PassID))
		case checkout.CouponPending:
			fmt.Fprintf(b, "%s%s PENDING%s %s  %s  next try %s: %s\n", tagWarn, symWait, tagOff, clock(v.At), escape(v.TplID),
				nextTry(v.NextAt, now), escape(v.Reason))
		default:
			fmt.Fprintf(b, "%s%s FAILED%s  %s  %s  %s\n", tagBad, symBad, tagOff, clock(v.At), escape(v.TplID), escape(v.Reason))
		}
	}
	c.coupons.SetText(b.String())
	c.coupons.ScrollToBeginning()
}

// paymentWord is a payment's state in words a cashier reads, in
// capitals where it is an outcome, with its symbol.
func paymentWord(state string) string {
	switch state {
	case event.PaymentPaid:
		return tagOK + symOK + " PAID" + tagOff
	case event.PaymentFailed:
		return tagBad + symBad + " PAYMENT FAILED" + tagOff
	case event.PaymentCancelled:
		return tagBad + symBad + " PAYMENT CANCELLED" + tagOff
	case event.PaymentRefunded:
		return tagBad + symBad + " PAYMENT REFUNDED" + tagOff
	case event.PaymentUnknown:
		return tagWarn + symBusy + " PAYMENT OUTCOME UNKNOWN (being checked)" + tagOff
	case event.PaymentSending:
		return tagBusy + symBusy + " sending the payment to Alipay" + tagOff
	case event.PaymentWaitingBuyer:
		return tagBusy + symWait + " waiting for the customer to confirm" + tagOff
	case event.PaymentCancelling:
		return tagBusy + symBusy + " cancelling the payment with Alipay" + tagOff
	}
	return tagBusy + symBusy + " payment " + escape(strings.ReplaceAll(state, "_", " ")) + tagOff
}

// paymentMark is the short word for a payment in the last scans' state
// column: its outcome stays in view for its customer.
func paymentMark(p checkout.Payment) string {
	switch p.State {
	case "":
		return ""
	case event.PaymentPaid:
		return " " + tagOK + "PAID" + tagOff
	case event.PaymentFailed:
		return " " + tagBad + "PAY FAILED" + tagOff
	case event.PaymentCancelled:
		return " " + tagBad + "PAY CANCELLED" + tagOff
	case event.PaymentRefunded:
		return " " + tagBad + "REFUNDED" + tagOff
	case event.PaymentUnknown:
		return " " + tagWarn + "PAY UNKNOWN" + tagOff
	}
	return " " + tagBusy + "PAYING" + tagOff
}

// header sets a table's header row, each label as wide as its column's
// usual value (widths), so that the columns of an empty table sit where
// its rows will.
func header(t *tview.Table, labels []string, widths []int) {
	for col, h := range labels {
		if col < len(widths) && len(h) < widths[col] {
			h += strings.Repeat(" ", widths[col]-len(h))
		}
		t.SetCell(0, col, tview.NewTableCell(h).SetAttributes(tcell.AttrBold).SetSelectable(false))
	}
}

// countdown is the time from now to t, to the second.
func countdown(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	if d < time.Second {
		return "a moment"
	}
	if d < time.Minute {
		return fmt.Sprintf("%d s", d/time.Second)
	}
	return fmt.Sprintf("%d min %02d s", d/time.Minute, (d%time.Minute)/time.Second)
}

func nextTry(t, now time.Time) string {
	if t.IsZero() {
		return "soon"
	}
	if t.After(now) {
		return "in " + countdown(t, now)
	}
	return "now"
}

// clock formats a time for a column: local time of day, or blank.
func clock(t time.Time) string {
	if t.IsZero() {
		return "--:--:--"
	}
	return t.Local().Format("15:04:05")
}

// escape is tview.Escape without its cost for the usual text: codes, ids
// and states hold no '['.
func escape(s string) string {
	if !strings.Contains(s, "[") {
		return s
	}
	return tview.Escape(s)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return escape(s)
}
