package checkout

import (
	"fmt"
	"go/build"
	"strings"
	"testing"
	"time"

	"posagent/internal/event"
)

var t0 = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)

func at(s int) event.Stamp { return event.Stamp{Time: t0.Add(time.Duration(s) * time.Second)} }

// TestCouponsJoinBySenceNo: two customers' events interleave; each coupon
// row changes in place, pending to issued or failed, in its own customer.
func TestCouponsJoinBySenceNo(t *testing.T) {
	m := New()
	evs := []event.Event{
		event.Scan{Stamp: at(0), SenceNo: "s1", CodeMasked: "28**1111", Source: "wedge"},
		event.Decoded{Stamp: at(1), SenceNo: "s1", UserIDMasked: "2088****0001", SchoolStdCode: "4136013432", CampusNo: "2019"},
		event.Scan{Stamp: at(2), SenceNo: "s2", CodeMasked: "28**2222", Source: "wedge"},
		event.Queued{Stamp: at(3), JobID: "j1", Kind: "coupon", SenceNo: "s1", TplID: "tplLunch", SerialNumber: "s1-tplLunch", Attempt: 1, NextAt: t0.Add(9 * time.Second), Reason: "gateway down"},
		event.Decoded{Stamp: at(3), SenceNo: "s2", UserIDMasked: "2088****0002"},
		event.Queued{Stamp: at(4), JobID: "j2", Kind: "coupon", SenceNo: "s2", TplID: "tplWelcome", SerialNumber: "s2-tplWelcome", Attempt: 1, NextAt: t0.Add(9 * time.Second), Reason: "gateway down"},
		event.CouponIssued{Stamp: at(4), SenceNo: "s1", TplID: "tplWelcome", SerialNumber: "s1-tplWelcome", PassID: "p1"},
		event.CouponIssued{Stamp: at(10), SenceNo: "s2", TplID: "tplWelcome", SerialNumber: "s2-tplWelcome", PassID: "p2"},
		event.Dead{Stamp: at(11), JobID: "j1", Kind: "coupon", SenceNo: "s1", TplID: "tplLunch", SerialNumber: "s1-tplLunch", Reason: "template gone"},
	}
	for _, e := range evs {
		m.Apply(e)
	}
	want := map[string][]string{
		"s1": {"tplLunch failed j1 template gone", "tplWelcome issued  "},
		"s2": {"tplWelcome issued j2 "},
	}
	for i := range m.Len() {
		c := m.Newest(i)
		var got []string
		for _, v := range c.Coupons {
			got = append(got, fmt.Sprintf("%s %s %s %s", v.TplID, [...]string{"pending", "issued", "failed"}[v.State], v.JobID, v.Reason))
		}
		if fmt.Sprint(got) != fmt.Sprint(want[c.SenceNo]) {
			t.Errorf("%s coupons %q, want %q", c.SenceNo, got, want[c.SenceNo])
		}
	}
	if m.Len() != 2 || m.Newest(0).SenceNo != "s2" || m.Newest(0).User != "2088****0002" {
		t.Fatalf("customers: %d, newest %+v", m.Len(), m.Newest(0))
	}
}

// TestRescanMovesToNewest: the same code scanned again carries its
// sence_no, and is that customer again, now the newest.
func TestRescanMovesToNewest(t *testing.T) {
	m := New()
	m.Apply(event.Scan{Stamp: at(0), SenceNo: "s1", CodeMasked: "28**1111"})
	m.Apply(event.Decoded{Stamp: at(1), SenceNo: "s1", UserIDMasked: "2088****0001"})
	m.Apply(event.Scan{Stamp: at(2), SenceNo: "s2", CodeMasked: "28**2222"})
	ch := m.Apply(event.Scan{Stamp: at(3), SenceNo: "s1", CodeMasked: "28**1111"})
	if !ch.Moved || ch.New || m.Len() != 2 || m.Newest(0).SenceNo != "s1" || m.Newest(0).State != Read || m.Newest(0).User != "2088****0001" {
		t.Fatalf("change %+v; newest %+v of %d", ch, m.Newest(0), m.Len())
	}
	ch = m.Apply(event.Decoded{Stamp: at(4), SenceNo: "s1", UserIDMasked: "2088****0001"})
	if ch.New || ch.Moved || ch.Customer != m.Newest(0) || m.Newest(0).State != Decoded {
		t.Fatalf("change %+v", ch)
	}
}

// TestKeepsMaxCustomers: the oldest customer goes, and says so.
func TestKeepsMaxCustomers(t *testing.T) {
	m := New()
	first := m.Apply(event.Scan{Stamp: at(0), SenceNo: "s0"}).Customer
	var ch Change
	for i := 1; i <= MaxCustomers; i++ {
		ch = m.Apply(event.Scan{Stamp: at(i), SenceNo: fmt.Sprint("s", i)})
	}
	if m.Len() != MaxCustomers || ch.Dropped != first || m.Index(first) != -1 {
		t.Fatalf("len %d, dropped %+v", m.Len(), ch.Dropped)
	}
	// Its events start a new entry: the events, not a guess, say whose.
	if ch = m.Apply(event.Decoded{Stamp: at(500), SenceNo: "s0"}); !ch.New {
		t.Fatalf("change %+v", ch)
	}
}

// TestGatewayTellsTheCashier covers the states of the gateway as the
// cashier hears them.
func TestGatewayTellsTheCashier(t *testing.T) {
	type step struct {
		e       event.Event
		want    Gateway
		nextTry int // seconds after t0, -1 none; judged at the event's time
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"outage with a countdown, recovered by the gateway event", []step{
			{event.Gateway{Stamp: at(0), State: event.GatewayDown}, GatewayDown, -1},
			{event.Queued{Stamp: at(1), JobID: "j1", SenceNo: "s1", TplID: "t", NextAt: t0.Add(20 * time.Second)}, GatewayDown, 20},
			{event.Queued{Stamp: at(2), JobID: "j2", SenceNo: "s1", NextAt: t0.Add(8 * time.Second)}, GatewayDown, 8},
			{event.Queued{Stamp: at(3), JobID: "j3", SenceNo: "s2", NextAt: t0.Add(30 * time.Second)}, GatewayDown, 8},
			{event.Gateway{Stamp: at(4), State: event.GatewayUp}, GatewayUp, -1},
		}},
		{"retries announced before the outage count too", []step{
			{event.Queued{Stamp: at(1), JobID: "j1", SenceNo: "s1", NextAt: t0.Add(6 * time.Second)}, GatewayUnknown, -1},
			{event.Gateway{Stamp: at(2), State: event.GatewayDown}, GatewayDown, 6},
		}},
		{"a wrong key is a configuration problem, not an outage", []step{
			{event.DecodeFailed{Stamp: at(0), SenceNo: "s1", Code: "40002", SubCode: "isv.invalid-signature", Message: "Alipay rejected this terminal's signature.", Action: "Call support: check app_id and app_private_key."}, GatewayMisconfigured, -1},
			{event.Gateway{Stamp: at(1), State: event.GatewayUp}, GatewayMisconfigured, -1},
			{event.Gateway{Stamp: at(2), State: event.GatewayDown}, GatewayMisconfigured, -1},
			{event.Decoded{Stamp: at(3), SenceNo: "s2"}, GatewayUp, -1},
		}},
		{"an answer that fails the signature check is the Alipay key's problem", []step{
			{event.DecodeFailed{Stamp: at(0), SenceNo: "s1", Message: "An answer failed Alipay's signature check and was ignored.",
				Action: "Call support: check alipay_public_key (or the certificates) and the network."}, GatewayMisconfigured, -1},
			{event.Gateway{Stamp: at(1), State: event.GatewayDown}, GatewayMisconfigured, -1},
		}},
		{"answers that do not verify from the start: the key, said before any scan", []step{
			{event.Gateway{Stamp: at(0), State: event.GatewayDown, Cause: event.CauseConfig, Detail: "answers do not verify against alipay_public_key"}, GatewayMisconfigured, -1},
			{event.Gateway{Stamp: at(1), State: event.GatewayUp}, GatewayUp, -1},
			{event.Gateway{Stamp: at(2), State: event.GatewayDown, Cause: event.CauseUnreachable}, GatewayDown, -1},
		}},
		{"an expired code is no gateway problem", []step{
			{event.Gateway{Stamp: at(0), State: event.GatewayUp}, GatewayUp, -1},
			{event.DecodeFailed{Stamp: at(1), SenceNo: "s1", Code: "40004", SubCode: "CODE_EXPIRED"}, GatewayUp, -1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			for i, s := range tc.steps {
				m.Apply(s.e)
				g, why := m.Gateway()
				next := m.NextTry(s.e.When())
				wantNext := time.Time{}
				if s.nextTry >= 0 {
					wantNext = t0.Add(time.Duration(s.nextTry) * time.Second)
				}
				if g != s.want || !next.Equal(wantNext) {
					t.Fatalf("step %d: gateway %d (%q), next try %v; want %d, %v", i, g, why, next, s.want, wantNext)
				}
				if g == GatewayMisconfigured && why == "" {
					t.Fatalf("step %d: a configuration problem without words", i)
				}
			}
		})
	}
}

func TestReadingClearsOnScan(t *testing.T) {
	m := New()
	if !m.SetReading(7) || m.SetReading(7) || m.Reading() != 7 {
		t.Fatal("SetReading")
	}
	m.Apply(event.Scan{Stamp: at(0), SenceNo: "s1"})
	if m.Reading() != 0 {
		t.Fatalf("reading %d after the scan", m.Reading())
	}
}

// TestNoScreenNoConfig: the model is plain Go.
func TestNoScreenNoConfig(t *testing.T) {
	p, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range p.Imports {
		switch imp {
		case "github.com/rivo/tview", "github.com/gdamore/tcell/v2", "posagent/internal/config":
			t.Errorf("the model imports %s", imp)
		}
	}
}

// TestPaymentJoinsItsCustomer: a payment event lands on the customer
// whose sence_no it carries.
func TestPaymentJoinsItsCustomer(t *testing.T) {
	m := New()
	m.Apply(event.Scan{Stamp: at(0), SenceNo: "s1"})
	m.Apply(event.Scan{Stamp: at(1), SenceNo: "s2"})
	ch := m.Apply(event.Payment{Stamp: at(2), SenceNo: "s1", State: event.PaymentPaid, TotalAmount: "12.50"})
	if ch.Customer == nil || ch.Customer.SenceNo != "s1" || ch.Customer.Payment.State != event.PaymentPaid || m.Newest(0).Payment.State != "" {
		t.Fatalf("change %+v", ch)
	}
}

// TestExpiryWhileKeyIsWrongIsConfig: while the gateway's answers do not
// verify, a code that then expires is the configuration problem, not a
// reason to ask the customer for a fresh code.
func TestExpiryWhileKeyIsWrongIsConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		gateway event.Gateway
		want    string
	}{
		{"config", event.Gateway{Stamp: at(0), State: event.GatewayDown, Cause: event.CauseConfig, Detail: "answers do not verify"}, "Call staff: the Alipay key"},
		// With the gateway down a fresh code would wait the same way.
		{"unreachable", event.Gateway{Stamp: at(0), State: event.GatewayDown}, "take another payment method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			m.Apply(tc.gateway)
			m.Apply(event.Scan{Stamp: at(1), SenceNo: "s1", CodeMasked: "28**1111"})
			m.Apply(event.DecodeFailed{Stamp: at(60), SenceNo: "s1", SubCode: "CODE_EXPIRED",
				Message: "The payment code expired before Alipay answered.", Action: "Ask the customer to refresh the code and show a fresh code."})
			c := m.Newest(0)
			if !strings.Contains(c.Action, tc.want) {
				t.Fatalf("action %q, want %q", c.Action, tc.want)
			}
		})
	}
}

// TestPaymentSaysWhen: a payment keeps its out_trade_no and time; a rescan
// of the paid code is known as one.
func TestPaymentSaysWhen(t *testing.T) {
	m := New()
	m.Apply(event.Scan{Stamp: at(0), SenceNo: "s1", CodeMasked: "28**1111"})
	m.Apply(event.Decoded{Stamp: at(1), SenceNo: "s1", UserIDMasked: "2088****0001"})
	m.Apply(event.Payment{Stamp: at(5), SenceNo: "s1", OutTradeNo: "o1", State: event.PaymentPaid, TotalAmount: "12.50"})
	c := m.Newest(0)
	if c.Payment.OutTradeNo != "o1" || !c.Payment.At.Equal(t0.Add(5*time.Second)) || c.PaidBefore() {
		t.Fatalf("payment %+v, paid before %v", c.Payment, c.PaidBefore())
	}
	m.Apply(event.Scan{Stamp: at(30), SenceNo: "s1", CodeMasked: "28**1111"})
	if !m.Newest(0).PaidBefore() {
		t.Fatal("a rescan of the paid code is not known as paid before")
	}
}

// TestStrayWorkStaysBelowCurrent: events for a sence_no never scanned here
// (an earlier run's work resolving after a restart) add a row below the
// current customer, who stays the newest; before any scan there is no
// current customer at all; a rescan of the stray code makes it current.
func TestStrayWorkStaysBelowCurrent(t *testing.T) {
	strays := []event.Event{
		event.CouponIssued{Stamp: at(2), SenceNo: "old1", TplID: "tplAny", SerialNumber: "old1-tplAny", PassID: "p1"},
		event.CouponFailed{Stamp: at(2), SenceNo: "old2", TplID: "tplAny", SerialNumber: "old2-tplAny", Reason: "gone"},
		event.Queued{Stamp: at(2), JobID: "j3", Kind: "decode", SenceNo: "old3", Attempt: 2, Reason: "gateway down"},
		event.Dead{Stamp: at(2), JobID: "j4", Kind: "coupon", SenceNo: "old4", TplID: "tplAny", Reason: "template gone"},
		event.Payment{Stamp: at(2), SenceNo: "old5", OutTradeNo: "o5", State: event.PaymentPaid, TotalAmount: "1.00"},
		event.Decoded{Stamp: at(2), SenceNo: "old6", UserIDMasked: "2088****0006"},
	}
	for _, e := range strays {
		t.Run(string(e.Type()), func(t *testing.T) {
			m := New()
			if ch := m.Apply(e); !ch.New || m.Current() != nil || m.Newest(0) != ch.Customer {
				t.Fatalf("before any scan: change %+v, current %+v", ch, m.Current())
			}
			m.Apply(event.Scan{Stamp: at(0), SenceNo: "s1", CodeMasked: "28**1111"})
			m.Apply(event.Decoded{Stamp: at(1), SenceNo: "s1", UserIDMasked: "2088****0001"})
			cur := m.Current()
			if cur == nil || cur.SenceNo != "s1" {
				t.Fatalf("current %+v after the scan", cur)
			}
			// The same kind of event for yet another unknown sence_no.
			ch := m.Apply(elsewhere(e))
			if !ch.New || ch.Customer == cur {
				t.Fatalf("change %+v", ch)
			}
			if m.Current() != cur || m.Newest(0) != cur || m.Index(ch.Customer) != 1 || m.Len() != 3 {
				t.Fatalf("current %+v newest %+v; stray at %d of %d", m.Current(), m.Newest(0), m.Index(ch.Customer), m.Len())
			}
			// Rescanned here, the stray code is the customer at the till.
			m.Apply(event.Scan{Stamp: at(3), SenceNo: "again", CodeMasked: "28**9999"})
			m.Apply(event.Scan{Stamp: at(4), SenceNo: ch.Customer.SenceNo, CodeMasked: "28**7777"})
			if m.Current() != ch.Customer {
				t.Fatalf("current %+v after the stray code's rescan", m.Current())
			}
		})
	}
}

// elsewhere is e for the sence_no "later": an event of the same kind for
// another unknown customer.
func elsewhere(e event.Event) event.Event {
	switch e := e.(type) {
	case event.CouponIssued:
		e.SenceNo = "later"
		return e
	case event.CouponFailed:
		e.SenceNo = "later"
		return e
	case event.Queued:
		e.SenceNo = "later"
		return e
	case event.Dead:
		e.SenceNo = "later"
		return e
	case event.Payment:
		e.SenceNo = "later"
		return e
	case event.Decoded:
		e.SenceNo = "later"
		return e
	}
	panic(fmt.Sprintf("no sence_no to move in %T", e))
}

// TestCodeLifeEnds: a decoded customer with no payment moves to Expired
// when its code's life ends, with the instruction for it; with the
// gateway down, the outage's. A paid one does not.
// A payment asked for just before the code's life ended, told after the
// tick moved its customer to Expired: the customer is the payment's again,
// not "ask for a fresh code".
func TestPaymentAfterExpiry(t *testing.T) {
	m := New()
	m.Apply(event.Scan{Stamp: at(0), SenceNo: "s1", CodeMasked: "28**1111"})
	m.Apply(event.Decoded{Stamp: at(1), SenceNo: "s1", UserIDMasked: "2088****0001", CodeExpiresAt: event.Millis(t0.Add(60 * time.Second))})
	if got := m.Tick(t0.Add(60 * time.Second)); len(got) != 1 || got[0].State != Expired {
		t.Fatalf("ticked %+v, want the customer expired", got)
	}
	m.Apply(event.Payment{Stamp: at(2), SenceNo: "s1", OutTradeNo: "o1", State: event.PaymentSending, TotalAmount: "8.00"})
	if c := m.Newest(0); c.State != Decoded || c.Payment.State != event.PaymentSending || strings.Contains(c.Action, "fresh code") {
		t.Fatalf("customer %+v, want decoded with its payment under way", c)
	}
	if got := m.Tick(t0.Add(61 * time.Second)); len(got) != 0 {
		t.Fatalf("expired again with a payment under way: %+v", got[0])
	}
}

func TestCodeLifeEnds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		down  bool
		pay   bool
		state State
		want  string
	}{
		{"gateway up", false, false, Expired, expiredAction},
		{"gateway down", true, false, Expired, OutageAction},
		{"payment asked", false, true, Decoded, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			m.Apply(event.Scan{Stamp: at(0), SenceNo: "s1", CodeMasked: "28**1111"})
			m.Apply(event.Decoded{Stamp: at(1), SenceNo: "s1", UserIDMasked: "2088****0001", CodeExpiresAt: event.Millis(t0.Add(60 * time.Second))})
			if tc.down {
				m.Apply(event.Gateway{Stamp: at(2), State: "down"})
			}
			if tc.pay {
				m.Apply(event.Payment{Stamp: at(3), SenceNo: "s1", OutTradeNo: "o1", State: event.PaymentWaitingBuyer})
			}
			if got := m.Tick(t0.Add(59 * time.Second)); len(got) != 0 {
				t.Fatalf("expired before its time: %+v", got[0])
			}
			got := m.Tick(t0.Add(60 * time.Second))
			c := m.Newest(0)
			if c.State != tc.state || c.Action != tc.want || (len(got) == 1) != (tc.state == Expired) {
				t.Fatalf("state %d action %q (ticked %d), want %d %q", c.State, c.Action, len(got), tc.state, tc.want)
			}
		})
	}
}

// TestExpiredDuringOutage: a code that expired while the decode waited for
// a gateway that is down says to take another payment method, not to
// refresh the code.
func TestExpiredDuringOutage(t *testing.T) {
	m := New()
	m.Apply(event.Scan{Stamp: at(0), SenceNo: "s1", CodeMasked: "28**1111"})
	m.Apply(event.Gateway{Stamp: at(1), State: "down"})
	m.Apply(event.DecodeFailed{Stamp: at(60), SenceNo: "s1", SubCode: subCodeExpired,
		Message: "The payment code expired before Alipay answered.", Action: "Ask the customer to refresh the payment code, then scan again."})
	if c := m.Newest(0); c.Action != OutageAction {
		t.Fatalf("action %q, want %q", c.Action, OutageAction)
	}
}

// TestPaymentUnderWay: the most recent payment not final, whichever scan
// is newest.
func TestPaymentUnderWay(t *testing.T) {
	m := New()
	m.Apply(event.Scan{Stamp: at(0), SenceNo: "s1", CodeMasked: "28**1111"})
	m.Apply(event.Payment{Stamp: at(1), SenceNo: "s1", OutTradeNo: "o1", State: event.PaymentWaitingBuyer})
	m.Apply(event.Scan{Stamp: at(2), SenceNo: "s2", CodeMasked: "28**2222"})
	m.Apply(event.Payment{Stamp: at(3), SenceNo: "s2", OutTradeNo: "o2", State: event.PaymentPaid})
	m.Apply(event.ScanRejected{Stamp: at(4), CodeMasked: "69**"})
	if u := m.PaymentUnderWay(); u == nil || u.Payment.OutTradeNo != "o1" {
		t.Fatalf("under way %+v, want o1", u)
	}
}
