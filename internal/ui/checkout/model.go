// Package checkout is the checkout screen's model: one entry per customer
// (a scan and all that followed it), keyed by sence_no, and the state of
// the gateway as the cashier must hear it. It is fed events and holds no
// heuristics: an event joins the customer whose sence_no it carries, a
// coupon the row of its serial number (or template) within that customer.
//
// It is plain Go with no screen: the views in package ui draw it, and
// Apply says what changed so that they redraw only that.
package checkout

import (
	"strings"
	"time"

	"posagent/internal/event"
)

// State is where a customer's scan stands.
type State int

const (
	Read     State = iota // read, not yet sent
	Decoding              // the first decode request is on its way
	Retrying              // a later attempt
	Waiting               // queued: the gateway did not answer, a retry waits
	Decoded
	Failed
	Rejected // not a payment code; refused before the gateway
	// Expired: decoded, and the code's life (CodeExpires) ended with no
	// payment asked for: stage two would refuse it.
	Expired
	// CutOff: a read that ended before its code did (no terminator, keys
	// lost): not a wrong barcode, the same code scanned again will do.
	CutOff
)

// CouponState is where one coupon stands.
type CouponState int

const (
	CouponPending CouponState = iota // waiting in the queue
	CouponIssued
	CouponFailed
)

// Coupon is one coupon owed to a customer.
type Coupon struct {
	At     time.Time
	State  CouponState
	TplID  string
	Serial string
	PassID string
	JobID  string
	Reason string
	NextAt time.Time // of a pending one
}

// Customer is one scan and what became of it. Every value arrives masked
// in the events (the full user_id is never kept); the screen shows them as
// they came.
type Customer struct {
	// ID identifies the entry for the views; it never changes.
	ID      uint64
	At      time.Time
	Code    string
	Source  string
	SenceNo string
	State   State
	Attempt int
	NextAt  time.Time // of a Waiting decode
	User    string    // masked
	School  string
	Campus  string
	SubCode string
	Message string
	Action  string // what the cashier should do, in plain words
	Coupons []Coupon
	Payment Payment // the payment taken with this customer's code, if any
	// CodeExpires is when stage two refuses the code (from the decoded
	// event; zero when not told): no payment can be asked for after it.
	CodeExpires time.Time
	// Scanned reports that the customer's scan was seen, not only work
	// that followed it (a run of posagent before this one scanned it).
	Scanned bool
}

// Payment is where the payment with a customer's code stands, as the
// payment events tell it (never guessed).
type Payment struct {
	State      string // event.PaymentSending … PaymentRefunded; "" none
	Amount     string // yuan, "12.50"
	OutTradeNo string // the payment's, to cancel it whoever started it
	Message    string
	Action     string
	// At is when the payment reached its state: for a paid one, when it
	// was paid, which a rescan of the same code must be told.
	At time.Time
}

// Final reports whether the payment has ended (paid, failed, cancelled,
// refunded): nothing more will happen to it.
func (p Payment) Final() bool {
	switch p.State {
	case event.PaymentPaid, event.PaymentFailed, event.PaymentCancelled, event.PaymentRefunded:
		return true
	}
	return false
}

// PaidBefore reports whether c's code was paid before c was last scanned:
// the scan is a rescan of a code already used, not a sale to finish.
func (c *Customer) PaidBefore() bool {
	return c.Payment.State == event.PaymentPaid && c.At.After(c.Payment.At)
}

// Gateway is what the cashier must know about the gateway.
type Gateway int

const (
	GatewayUnknown Gateway = iota
	GatewayUp
	GatewayDown
	// GatewayMisconfigured: the gateway answered, and refused this
	// terminal's signature, app or authorisation: a configuration problem
	// for support, not an outage to wait out.
	GatewayMisconfigured
)

// MaxCustomers is how many customers the model keeps; older ones are only
// in the log.
const MaxCustomers = 200

// Change says what Apply changed, for a view that redraws only that.
type Change struct {
	// Customer is the entry that changed (nil: none did). New reports it
	// was added (as the newest when scanned, else below the current
	// customer: Index says where); Moved that an existing one became the
	// newest (the same code scanned again). Dropped is the oldest entry,
	// removed to make room.
	Customer *Customer
	New      bool
	Moved    bool
	Dropped  *Customer
	// Status reports that the gateway or scanner state changed.
	Status bool
}

// Model is the checkout's state. Use it from one goroutine.
type Model struct {
	customers []*Customer // oldest first
	bySence   map[string]*Customer
	nextID    uint64

	gateway   Gateway
	configWhy string // with GatewayMisconfigured: what the gateway refused
	// keyProblem: the configuration problem is the health component's
	// (answers that do not verify), which a verified answer ends; one
	// from a refused decode ends only with a decoded customer.
	keyProblem bool
	nextTry    time.Time // earliest retry announced while down
	reading    int
	scanner    string
	scanDevice string
	scanDetail string
}

// New returns an empty model.
func New() *Model { return &Model{bySence: make(map[string]*Customer)} }

// Len is the number of customers.
func (m *Model) Len() int { return len(m.customers) }

// Newest returns the i-th newest customer (0 is the newest).
func (m *Model) Newest(i int) *Customer { return m.customers[len(m.customers)-1-i] }

// Current is the customer the cashier serves: the newest, if it was
// scanned; nil before any scan. Work for a customer the model never saw
// scanned (news of an earlier run's scan) never takes its place.
func (m *Model) Current() *Customer {
	if len(m.customers) == 0 || !m.customers[len(m.customers)-1].Scanned {
		return nil
	}
	return m.customers[len(m.customers)-1]
}

// Index is c's place from the newest (0), or -1 if it is no longer kept.
func (m *Model) Index(c *Customer) int {
	for i := len(m.customers) - 1; i >= 0; i-- {
		if m.customers[i] == c {
			return len(m.customers) - 1 - i
		}
	}
	return -1
}

// PaymentUnderWay is the customer of the most recent payment not in a
// final state, whichever scan is newest; nil when none is under way. A
// misread after the customer's scan must not hide the payment the cashier
// may have to cancel.
func (m *Model) PaymentUnderWay() *Customer {
	var under *Customer
	for _, c := range m.customers {
		if p := c.Payment; p.State != "" && !p.Final() && (under == nil || !p.At.Before(under.Payment.At)) {
			under = c
		}
	}
	return under
}

// Gateway is the gateway's state, with the configuration problem's words
// when it is GatewayMisconfigured.
func (m *Model) Gateway() (Gateway, string) { return m.gateway, m.configWhy }

// NextTry is the earliest retry the queue announced since the gateway went
// down that is still after now; zero if none.
func (m *Model) NextTry(now time.Time) time.Time {
	if m.gateway != GatewayDown || !m.nextTry.After(now) {
		return time.Time{}
	}
	return m.nextTry
}

// Scanner is the scanner's state (event.ScannerConnected or
// ScannerDisconnected; "" before the first report), device and detail.
func (m *Model) Scanner() (state, device, detail string) {
	return m.scanner, m.scanDevice, m.scanDetail
}

// Reading is how many keys of a code being typed by a keyboard-wedge
// scanner are in; 0 when no read is under way.
func (m *Model) Reading() int { return m.reading }

// SetReading sets Reading and reports whether it changed.
func (m *Model) SetReading(n int) bool {
	if n == m.reading {
		return false
	}
	m.reading = n
	return true
}

// Apply takes one event.
func (m *Model) Apply(e event.Event) Change {
	switch e := e.(type) {
	case event.Scan:
		return m.scan(e)
	case event.ScanRejected:
		c := m.add("", true)
		c.At, c.Code, c.Source, c.State, c.Message = e.Time, e.CodeMasked, e.Source, Rejected, e.Reason
		c.Action = "Scan the customer's Alipay payment code, not another barcode."
		if e.Cause == event.RejectCutOff {
			// The setup hint in the reason is for store IT (F12, the
			// log), not the cashier.
			c.State, c.Message, c.Action = CutOff, "", "The scan was cut off: scan again."
		}
		return m.changed(c, true)
	case event.Decoding:
		c, added := m.customer(e.SenceNo, e.Time)
		if c.Code == "" {
			c.Code = e.CodeMasked
		}
		c.Attempt, c.State = e.Attempt, Decoding
		if e.Attempt > 1 {
			c.State = Retrying
		}
		return m.changed(c, added)
	case event.Decoded:
		c, added := m.customer(e.SenceNo, e.Time)
		c.State, c.User, c.School, c.Campus = Decoded, e.UserIDMasked, e.SchoolStdCode, e.CampusNo
		c.SubCode, c.Message, c.Action = "", "", ""
		c.CodeExpires = time.Time(e.CodeExpiresAt)
		ch := m.changed(c, added)
		// A verified answer: the gateway works and is configured right.
		if m.gateway == GatewayMisconfigured {
			m.gateway, m.configWhy, m.keyProblem = GatewayUnknown, "", false
		}
		ch.Status = m.setGateway(GatewayUp, "")
		return ch
	case event.DecodeFailed:
		c, added := m.customer(e.SenceNo, e.Time)
		c.State, c.Message, c.Action = Failed, e.Message, e.Action
		c.SubCode = e.SubCode
		if c.SubCode == "" {
			c.SubCode = e.Code
		}
		if e.SubCode == subCodeExpired && m.gateway == GatewayDown {
			// The code's life ended while the gateway was down: a fresh
			// code would wait the same way.
			c.Action = OutageAction
		}
		if e.SubCode == subCodeExpired && m.gateway == GatewayMisconfigured && m.keyProblem {
			// The code expired while the answers did not verify: a
			// fresh code would fail the same way.
			c.SubCode, c.Message, c.Action = "config", "Alipay's answers do not verify: a configuration problem, not the code.", configAction
		}
		ch := m.changed(c, added)
		if why, ok := configProblem(e); ok {
			ch.Status = m.setGateway(GatewayMisconfigured, why)
		}
		return ch
	case event.CouponIssued:
		return m.coupon(e.SenceNo, e.Time, Coupon{At: e.Time, State: CouponIssued, TplID: e.TplID, Serial: e.SerialNumber, PassID: e.PassID})
	case event.CouponFailed:
		return m.coupon(e.SenceNo, e.Time, Coupon{At: e.Time, State: CouponFailed, TplID: e.TplID, Serial: e.SerialNumber, Reason: e.Reason})
	case event.Queued:
		ch := m.queued(e)
		// The earliest retry still ahead: the outage's countdown.
		if e.NextAt.After(e.Time) && (!m.nextTry.After(e.Time) || e.NextAt.Before(m.nextTry)) {
			m.nextTry = e.NextAt
			ch.Status = m.gateway == GatewayDown
		}
		return ch
	case event.Dead:
		if e.TplID != "" || e.SerialNumber != "" {
			return m.coupon(e.SenceNo, e.Time, Coupon{At: e.Time, State: CouponFailed, TplID: e.TplID, Serial: e.SerialNumber, JobID: e.JobID, Reason: e.Reason})
		}
		if e.SenceNo == "" {
			return Change{}
		}
		c, added := m.customer(e.SenceNo, e.Time)
		if c.State != Decoded {
			c.State, c.Message = Failed, e.Reason
		}
		return m.changed(c, added)
	case event.Payment:
		if e.SenceNo == "" {
			return Change{}
		}
		c, added := m.customer(e.SenceNo, e.Time)
		c.Payment = Payment{State: e.State, Amount: e.TotalAmount, OutTradeNo: e.OutTradeNo,
			Message: e.Message, Action: e.Action, At: e.Time}
		if c.State == Expired {
			// Asked for in time, told after the tick: the payment is
			// what the cashier follows now, not a fresh code.
			c.State, c.Message, c.Action = Decoded, "", ""
		}
		return m.changed(c, added)
	case event.Gateway:
		switch {
		case e.State == event.GatewayUp:
			if m.keyProblem {
				// A verified answer: the Alipay key the health
				// component doubted is right after all.
				m.gateway, m.configWhy, m.keyProblem = GatewayUnknown, "", false
			}
			return Change{Status: m.setGateway(GatewayUp, "")}
		case e.Cause == event.CauseConfig:
			// Answers that do not verify: the terminal's Alipay key,
			// not the network.
			changed := m.setGateway(GatewayMisconfigured, e.Detail)
			m.keyProblem = m.gateway == GatewayMisconfigured
			return Change{Status: changed}
		}
		return Change{Status: m.setGateway(GatewayDown, "")}
	case event.Scanner:
		m.scanner, m.scanDevice, m.scanDetail = e.State, e.Device, e.Detail
		return Change{Status: true}
	}
	return Change{}
}

// Tick moves the decoded customers whose code's life ended by now, with no
// payment asked for, to Expired, and returns them (with those Expired whose
// instruction changed with the gateway): the instruction to ring up the
// sale no longer holds.
func (m *Model) Tick(now time.Time) []*Customer {
	action := expiredAction
	if m.gateway == GatewayDown {
		action = OutageAction
	}
	var expired []*Customer
	for _, c := range m.customers {
		switch {
		case c.State == Expired && c.Action != action:
			// The gateway went down or came back since.
			c.Action = action
		case c.State != Decoded || c.Payment.State != "" || c.CodeExpires.IsZero() || now.Before(c.CodeExpires):
			continue
		default:
			c.State, c.Message, c.Action = Expired, "The payment code expired at "+c.CodeExpires.Local().Format("15:04:05")+".", action
		}
		expired = append(expired, c)
	}
	return expired
}

// scan is a code read: a new customer, or, for a code scanned again (the
// same sence_no), that customer again as the newest.
func (m *Model) scan(e event.Scan) Change {
	m.reading = 0
	if c, ok := m.bySence[e.SenceNo]; ok && e.SenceNo != "" {
		c.At, c.Code, c.Source, c.State, c.Scanned = e.Time, e.CodeMasked, e.Source, Read, true
		moved := m.customers[len(m.customers)-1] != c
		if moved {
			i := len(m.customers) - 1 - m.Index(c)
			copy(m.customers[i:], m.customers[i+1:])
			m.customers[len(m.customers)-1] = c
		}
		return Change{Customer: c, Moved: moved}
	}
	c := m.add(e.SenceNo, true)
	c.At, c.Code, c.Source, c.State = e.Time, e.CodeMasked, e.Source, Read
	return m.changed(c, true)
}

// customer is the customer with senceNo; one is added when the events
// began after its scan (work of an earlier run resolving after a restart).
// Such a one goes just below the current customer: news of an old scan
// must not take the place of the customer at the till.
func (m *Model) customer(senceNo string, at time.Time) (*Customer, bool) {
	if c, ok := m.bySence[senceNo]; ok && senceNo != "" {
		return c, false
	}
	c := m.add(senceNo, false)
	c.At = at
	return c, true
}

// add adds a customer: a scanned one as the newest, another below the
// current customer (on top when there is none).
func (m *Model) add(senceNo string, scanned bool) *Customer {
	m.nextID++
	c := &Customer{ID: m.nextID, SenceNo: senceNo, Scanned: scanned}
	if cur := m.Current(); cur != nil && !scanned {
		m.customers = append(m.customers, cur)
		m.customers[len(m.customers)-2] = c
	} else {
		m.customers = append(m.customers, c)
	}
	if senceNo != "" {
		m.bySence[senceNo] = c
	}
	return c
}

// changed reports c as changed (added if added), dropping the oldest
// customer when there are more than MaxCustomers.
func (m *Model) changed(c *Customer, added bool) Change {
	ch := Change{Customer: c, New: added}
	if len(m.customers) > MaxCustomers {
		old := m.customers[0]
		copy(m.customers, m.customers[1:])
		m.customers[len(m.customers)-1] = nil
		m.customers = m.customers[:len(m.customers)-1]
		if m.bySence[old.SenceNo] == old {
			delete(m.bySence, old.SenceNo)
		}
		ch.Dropped = old
	}
	return ch
}

// queued is a job waiting for its next try: a coupon of the customer (with
// a template or serial), or the customer's decode.
func (m *Model) queued(e event.Queued) Change {
	if e.TplID != "" || e.SerialNumber != "" {
		return m.coupon(e.SenceNo, e.Time, Coupon{At: e.Time, State: CouponPending, TplID: e.TplID, Serial: e.SerialNumber,
			JobID: e.JobID, Reason: e.Reason, NextAt: e.NextAt})
	}
	if e.SenceNo == "" {
		return Change{}
	}
	c, added := m.customer(e.SenceNo, e.Time)
	if c.State != Decoded && c.State != Failed {
		c.State, c.Attempt, c.NextAt, c.Message = Waiting, e.Attempt, e.NextAt, e.Reason
	}
	return m.changed(c, added)
}

// coupon puts v in its customer's row for the same serial number (or, when
// an event lacks it, the same template), or adds it.
func (m *Model) coupon(senceNo string, at time.Time, v Coupon) Change {
	if senceNo == "" {
		return Change{}
	}
	c, added := m.customer(senceNo, at)
	for i := range c.Coupons {
		old := &c.Coupons[i]
		if (v.Serial != "" && old.Serial == v.Serial) || (v.TplID != "" && old.TplID == v.TplID) {
			if v.Serial == "" {
				v.Serial = old.Serial
			}
			if v.TplID == "" {
				v.TplID = old.TplID
			}
			if v.JobID == "" {
				v.JobID = old.JobID
			}
			*old = v
			return m.changed(c, added)
		}
	}
	c.Coupons = append(c.Coupons, v)
	return m.changed(c, added)
}

func (m *Model) setGateway(g Gateway, why string) bool {
	if m.gateway == GatewayMisconfigured && g != GatewayMisconfigured {
		// Neither the gateway answering nor its answers failing to verify
		// (which the health component counts as down) means the
		// configuration problem is gone; a decoded customer does.
		return false
	}
	if m.gateway == g && m.configWhy == why {
		return false
	}
	if g == GatewayUp {
		m.nextTry = time.Time{}
	}
	m.gateway, m.configWhy = g, why
	return true
}

// subCodeExpired is the sub_code of a code that expired (alipay.SubCodeExpired;
// the model sits below the gateway client in the import graph).
const subCodeExpired = "CODE_EXPIRED"

// OutageAction is what the cashier does while Alipay cannot be reached:
// the customer pays now, the coupons are owed and go out later. A fresh
// code would not help.
const OutageAction = "Alipay unreachable: take another payment method; coupons will follow."

// expiredAction is what the cashier does about a code whose life ended.
const expiredAction = "Ask the customer for a fresh code, then scan it."

// configAction is what the cashier does about answers that do not verify.
const configAction = "Call staff: the Alipay key (alipay_public_key) is wrong; take another payment."

// configProblem reports whether a decode failed because of the terminal's
// configuration (keys, app id, authorisation), with the gateway's words:
// such a failure will not go away by waiting.
func configProblem(e event.DecodeFailed) (string, bool) {
	switch {
	case e.SubCode == "isv.invalid-signature", e.SubCode == "isv.invalid-app-id",
		e.SubCode == "isv.missing-signature", e.SubCode == "isv.invalid-app-auth-token",
		e.Code == "20001", e.Code == "40006":
		return strings.TrimSpace(e.Message + " " + e.Action), true
	case e.Code == "" && strings.Contains(e.Action, "alipay_public_key"):
		// An answer that failed the signature check: the configured
		// Alipay key is wrong (or someone is in the middle).
		return strings.TrimSpace(e.Message + " " + e.Action), true
	}
	return "", false
}
