package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"posagent/internal/event"
)

// scanState is where one scan stands, as the cashier sees it.
type scanState int

const (
	stateRead     scanState = iota // read, not yet sent
	stateDecoding                  // first decode request on its way
	stateRetrying                  // a later attempt
	stateDecoded
	stateFailed
	stateRejected // not a payment code; refused before the gateway
)

// word is the state in capitals with its symbol: it must read without colour.
func (s scanState) word() string {
	switch s {
	case stateRead:
		return tagBusy + symWait + " READ" + tagOff
	case stateDecoding:
		return tagBusy + symBusy + " DECODING" + tagOff
	case stateRetrying:
		return tagWarn + symBusy + " RETRYING" + tagOff
	case stateDecoded:
		return tagOK + symOK + " DECODED" + tagOff
	case stateFailed:
		return tagBad + symBad + " FAILED" + tagOff
	case stateRejected:
		return tagBad + symBad + " NOT A PAYMENT CODE" + tagOff
	}
	return "?"
}

// scanView is one scan and what became of it. Every value arrives masked in
// the events; the UI shows it as it came.
type scanView struct {
	at                     time.Time
	code, source, senceNo  string
	state                  scanState
	attempt                int
	userID, school, campus string
	subCode, message       string
	action                 string // what the cashier should do, in plain words
}

// couponState is where one coupon stands.
type couponState int

const (
	couponIssued  couponState = iota
	couponPending             // waiting in the queue
	couponFailed
)

// couponView is one coupon: issued, failed, or waiting in the queue.
type couponView struct {
	at                   time.Time
	state                couponState
	tplID, serial, pass  string
	jobID, reason, extra string
}

// How much history the screen keeps; older entries are only in the log.
const (
	maxScans   = 200
	maxCoupons = 50
)

// checkoutScreen is the cashier's screen: the current scan, the customer,
// the coupons and the last scans.
type checkoutScreen struct {
	root     *tview.Flex
	current  *tview.TextView
	customer *tview.TextView
	coupons  *tview.TextView
	last     *tview.Table

	scans      []*scanView   // oldest first
	couponList []*couponView // oldest first
	typing     int           // characters a wedge typed since its last terminator
	dirty      bool
}

func newCheckoutScreen() *checkoutScreen {
	c := &checkoutScreen{
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
	c.last.SetBorder(true).SetTitle(" Last scans ")
	top := tview.NewFlex().
		AddItem(c.current, 0, 5, false).
		AddItem(c.customer, 0, 3, false)
	c.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(top, 6, 0, false).
		AddItem(c.coupons, 5, 0, false).
		AddItem(c.last, 0, 1, true)
	c.dirty = true
	c.render()
	return c
}

// reading shows how many keys wait at the burst gate: a code being read.
// It is 0 as soon as the read ended or timed out.
func (c *checkoutScreen) reading(n int) {
	if n == c.typing {
		return
	}
	c.typing = n
	c.dirty = true
	c.render()
}

func (c *checkoutScreen) apply(e event.Event) {
	switch e := e.(type) {
	case event.Scan:
		c.add(&scanView{at: e.Time, code: e.CodeMasked, source: e.Source, state: stateRead})
	case event.ScanRejected:
		c.add(&scanView{at: e.Time, code: e.CodeMasked, source: e.Source, state: stateRejected, message: e.Reason,
			action: "Scan the customer's Alipay payment code, not another barcode."})
	case event.Decoding:
		s := c.find(e.SenceNo, e.CodeMasked, e.Time)
		s.senceNo, s.attempt = e.SenceNo, e.Attempt
		if s.code == "" {
			s.code = e.CodeMasked
		}
		s.state = stateDecoding
		if e.Attempt > 1 {
			s.state = stateRetrying
		}
	case event.Decoded:
		s := c.find(e.SenceNo, "", e.Time)
		s.senceNo, s.state = e.SenceNo, stateDecoded
		s.userID, s.school, s.campus = e.UserIDMasked, e.SchoolStdCode, e.CampusNo
	case event.DecodeFailed:
		s := c.find(e.SenceNo, "", e.Time)
		s.senceNo, s.state = e.SenceNo, stateFailed
		s.subCode, s.message, s.action = e.SubCode, e.Message, e.Action
		if s.subCode == "" {
			s.subCode = e.Code
		}
	case event.CouponIssued:
		c.coupon(&couponView{at: e.Time, state: couponIssued, tplID: e.TplID, serial: e.SerialNumber, pass: e.PassID})
	case event.CouponFailed:
		c.coupon(&couponView{at: e.Time, state: couponFailed, tplID: e.TplID, serial: e.SerialNumber, reason: e.Reason})
	case event.Queued:
		if strings.Contains(e.Kind, "coupon") {
			c.coupon(&couponView{at: e.Time, state: couponPending, jobID: e.JobID, reason: e.Reason,
				extra: "next try " + clock(e.NextAt)})
		}
	case event.Dead:
		if strings.Contains(e.Kind, "coupon") {
			c.coupon(&couponView{at: e.Time, state: couponFailed, jobID: e.JobID, reason: e.Reason})
		}
	default:
		return
	}
	c.dirty = true
}

func (c *checkoutScreen) add(s *scanView) {
	if len(c.scans) == maxScans {
		copy(c.scans, c.scans[1:])
		c.scans = c.scans[:maxScans-1]
	}
	c.scans = append(c.scans, s)
	c.typing = 0
}

// find returns the scan an event belongs to, among the recent ones: for a
// Decoding (which has the code), the newest scan of that code still waiting
// to be sent, since a rescan of a code carries the sence_no of its first
// decode; else the newest scan with the sence_no; else the newest scan
// still waiting; failing all, a new scan (the events may start mid-way).
func (c *checkoutScreen) find(senceNo, code string, at time.Time) *scanView {
	recent := c.scans[max(0, len(c.scans)-20):]
	newest := func(match func(s *scanView) bool) *scanView {
		for i := len(recent) - 1; i >= 0; i-- {
			if match(recent[i]) {
				return recent[i]
			}
		}
		return nil
	}
	waiting := func(s *scanView) bool { return s.senceNo == "" && s.state == stateRead }
	if s := newest(func(s *scanView) bool { return code != "" && waiting(s) && s.code == code }); s != nil {
		return s
	}
	if s := newest(func(s *scanView) bool { return senceNo != "" && s.senceNo == senceNo }); s != nil {
		return s
	}
	if s := newest(waiting); s != nil {
		return s
	}
	s := &scanView{at: at, state: stateRead}
	c.add(s)
	return s
}

// coupon records a coupon; a later event for the same serial number or job
// replaces the earlier one.
func (c *checkoutScreen) coupon(v *couponView) {
	for i, old := range c.couponList {
		if (v.serial != "" && old.serial == v.serial) || (v.jobID != "" && old.jobID == v.jobID) {
			c.couponList = append(c.couponList[:i], c.couponList[i+1:]...)
			break
		}
	}
	if len(c.couponList) == maxCoupons {
		c.couponList = c.couponList[1:]
	}
	c.couponList = append(c.couponList, v)
}

// render redraws the widgets from the state, if anything changed.
func (c *checkoutScreen) render() {
	if !c.dirty {
		return
	}
	c.dirty = false
	c.renderCurrent()
	c.renderCoupons()
	c.renderLast()
}

func (c *checkoutScreen) renderCurrent() {
	var cur, cust strings.Builder
	var s *scanView
	if len(c.scans) > 0 {
		s = c.scans[len(c.scans)-1]
	}
	switch {
	case c.typing > 0:
		fmt.Fprintf(&cur, "%s%s READING%s %d characters\n", tagBusy, symWait, tagOff, c.typing)
	case s == nil:
		cur.WriteString("Waiting for a scan.\nScan the customer's Alipay payment code.")
	}
	if s != nil {
		if c.typing == 0 {
			fmt.Fprintf(&cur, "%s", s.state.word())
			if s.state == stateRetrying {
				fmt.Fprintf(&cur, " (attempt %d)", s.attempt)
			}
			if s.subCode != "" || s.message != "" {
				fmt.Fprintf(&cur, " %s", tview.Escape(strings.TrimSpace(s.subCode+" "+s.message)))
			}
			cur.WriteString("\n")
			if s.action != "" {
				fmt.Fprintf(&cur, "%sCashier:%s %s\n", tagKey, tagOff, tview.Escape(s.action))
			}
		}
		fmt.Fprintf(&cur, "code  %s  at %s\n", tview.Escape(s.code), clock(s.at))
		if s.senceNo != "" {
			fmt.Fprintf(&cur, "sence %s", tview.Escape(s.senceNo))
		}
	}
	c.current.SetText(cur.String())
	if s != nil && s.source != "" {
		c.current.SetTitle(" Current scan — " + tview.Escape(s.source) + " ")
	}

	if s != nil && s.state == stateDecoded {
		fmt.Fprintf(&cust, "user   %s\nschool %s\ncampus %s",
			tview.Escape(s.userID), orDash(s.school), orDash(s.campus))
	} else {
		cust.WriteString("—")
	}
	c.customer.SetText(cust.String())
}

func (c *checkoutScreen) renderCoupons() {
	var b strings.Builder
	if len(c.couponList) == 0 {
		b.WriteString("No coupons yet.")
	}
	for i := len(c.couponList) - 1; i >= 0; i-- {
		v := c.couponList[i]
		switch v.state {
		case couponIssued:
			fmt.Fprintf(&b, "%s%s ISSUED%s  %s  tpl %s  serial %s  pass %s\n", tagOK, symOK, tagOff,
				clock(v.at), tview.Escape(v.tplID), tview.Escape(v.serial), tview.Escape(v.pass))
		case couponPending:
			fmt.Fprintf(&b, "%s%s PENDING%s %s  job %s  %s: %s\n", tagWarn, symWait, tagOff,
				clock(v.at), tview.Escape(v.jobID), v.extra, tview.Escape(v.reason))
		default:
			fmt.Fprintf(&b, "%s%s FAILED%s  %s  %s%s  %s\n", tagBad, symBad, tagOff, clock(v.at),
				tview.Escape(v.tplID), tview.Escape(v.jobID), tview.Escape(v.reason))
		}
	}
	c.coupons.SetText(b.String())
	c.coupons.ScrollToBeginning()
}

func (c *checkoutScreen) renderLast() {
	t := c.last
	t.Clear()
	for col, h := range []string{"Time", "Code", "State", "Customer", "School / campus"} {
		t.SetCell(0, col, tview.NewTableCell(h).SetAttributes(tcell.AttrBold).SetSelectable(false))
	}
	for i := len(c.scans) - 1; i >= 0; i-- {
		s := c.scans[i]
		row := len(c.scans) - i
		campus := ""
		if s.school != "" || s.campus != "" {
			campus = s.school + " / " + s.campus
		}
		state := s.state.word()
		if s.state == stateFailed && s.subCode != "" {
			state += " " + tview.Escape(s.subCode)
		}
		t.SetCell(row, 0, tview.NewTableCell(clock(s.at)))
		t.SetCell(row, 1, tview.NewTableCell(tview.Escape(s.code)))
		t.SetCell(row, 2, tview.NewTableCell(state))
		t.SetCell(row, 3, tview.NewTableCell(tview.Escape(s.userID)))
		t.SetCell(row, 4, tview.NewTableCell(tview.Escape(campus)).SetExpansion(1))
	}
}

// clock formats a time for a column: local time of day, or blank.
func clock(t time.Time) string {
	if t.IsZero() {
		return "--:--:--"
	}
	return t.Local().Format("15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return tview.Escape(s)
}
