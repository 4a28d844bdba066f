// Package demo sets up `posagent demo`: the fake gateway on loopback with
// freshly generated keys, customers of every kind, a configuration pointing
// at it, and a scanner script that shows in under a minute what posagent
// does — a student decoded with campus info, given two coupons and paying, a
// customer without campus info who never confirms the payment in the app
// (cancelled after the buyer wait), the gateway's refusals, and an outage
// of the gateway, with the customer scanned in it decoded and given their
// coupons once it is over.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"posagent/internal/payment"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/config"
	"posagent/internal/event"
	"posagent/internal/redact"
	"posagent/internal/scanner"
)

// The demo's customers.
var (
	Student      = alipaytest.User{UserID: "2088000000000001", School: &alipay.HSchoolInfo{SchoolStdCode: "4136013432", CampusNo: "2019021208"}, Authorised: true}
	Student2     = alipaytest.User{UserID: "2088000000000004", School: &alipay.HSchoolInfo{SchoolStdCode: "4136013432", CampusNo: "2020030117"}, Authorised: true}
	Plain        = alipaytest.User{UserID: "2088000000000002", Authorised: true}
	Unauthorised = alipaytest.User{UserID: "2088000000000003"}
)

// Coupons are the demo's rules: one for the students of one school, one for
// everybody.
const Coupons = `[
  {"match": {"school_std_code": "4136013432"}, "tpl_id": "tplCampusLunch",
   "tpl_params": {"title": "校园午餐券", "campus": "{campus_no}", "date": "{date}"}},
  {"match": {"any_user": true}, "tpl_id": "tplWelcome", "tpl_params": {"title": "欢迎券"}}
]`

// Sandbox amounts: every code decodes to the same customer in the demo, so
// a POS trying payments picks the outcome by the amount it charges. Any
// other amount is paid at once.
const (
	AmountConfirms      = "0.91" // the buyer must confirm in the app, and does after ConfirmAfter
	AmountNeverConfirms = "0.92" // the buyer must confirm and never does: cancelled after the buyer wait
	AmountBalanceLow    = "0.93" // ACQ.BUYER_BALANCE_NOT_ENOUGH: failed
	AmountAnswerLost    = "0.94" // charged, the answer lost: unknown, then found paid by query
)

// ConfirmAfter is when the buyer of AmountConfirms confirms, at speed 1.
const ConfirmAfter = 10 * time.Second

// sandboxAmounts makes the fake gateway answer the sandbox amounts.
func sandboxAmounts(srv *alipaytest.Server, speed float64) {
	rich := alipaytest.Payer{Balance: 1 << 40}
	for amount, r := range map[string]alipaytest.AmountRule{
		AmountConfirms:      {Payer: alipaytest.Payer{Balance: rich.Balance, Confirm: true, ConfirmAfter: time.Duration(float64(ConfirmAfter) / speed)}},
		AmountNeverConfirms: {Payer: alipaytest.Payer{Balance: rich.Balance, Confirm: true, NeverConfirm: true}},
		AmountBalanceLow:    {Payer: alipaytest.Payer{Balance: 0}},
		AmountAnswerLost:    {Payer: rich, LoseAnswer: true},
	} {
		fen, err := alipay.ParseYuan(amount)
		if err != nil {
			panic(err) // the constants above
		}
		srv.SetAmountRule(fen, r)
	}
}

// OutageLength is how long the gateway is unreachable in the demo at speed
// 1.
const OutageLength = 6 * time.Second

// The demo's sales: the student pays at once, the customer without campus
// info must confirm in the app and never does.
var (
	StudentSale = payment.Request{TotalAmount: "12.50", Subject: "Lunch set"}
	PlainSale   = payment.Request{TotalAmount: "88.00", Subject: "Groceries"}
)

// Payments takes payments the way the POS asks for them; the agent's
// payment service is one.
type Payments interface {
	Pay(ctx context.Context, req payment.Request) (payment.Payment, bool, error)
}

// idleCheck is how often Play looks whether the queue is empty.
const idleCheck = 250 * time.Millisecond

// Demo is a prepared demo.
type Demo struct {
	Server *alipaytest.Server
	Config *config.Config
	Script []scanner.Step
	// Codes in the order the script scans them; OutageCode is the one whose
	// coupons meet the outage.
	Codes      []string
	OutageCode string
	// Payments, set before Play, is asked to charge the student and the
	// customer without campus info once each is decoded, as a POS would:
	// only customers the script scanned, never a code a person scanned or
	// a POS entered (theirs to charge).
	Payments  Payments
	outage    time.Duration
	lingerFor time.Duration
	length    time.Duration // of the script
}

// Setup starts the fake gateway and writes its keys and the demo's data
// under dir.
//
// speed plays the script that many times faster (1 when <= 0): tests run the
// whole demo in seconds. The script's pauses and the outage shrink; the
// timing of a read within a step does not, as the scanner's framing depends
// on it.
func Setup(dir string, speed float64) (*Demo, error) {
	if speed <= 0 {
		speed = 1
	}
	srv := alipaytest.NewServer(alipaytest.WithCodeTTL(10 * time.Minute))
	keyDir := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		srv.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	appKey, alipayPub, err := srv.WriteKeys(keyDir)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	for _, u := range []alipaytest.User{Student, Student2, Plain, Unauthorised} {
		srv.AddUser(u)
	}
	var rules []config.CouponRule
	if err := json.Unmarshal([]byte(Coupons), &rules); err != nil {
		srv.Close()
		return nil, fmt.Errorf("demo coupons: %w", err)
	}
	c := &config.Config{
		GatewayURL:      srv.URL(),
		AppID:           srv.AppID(),
		AppPrivateKey:   appKey,
		AlipayPublicKey: alipayPub,
		PayPID:          "2088702093900999",
		TerminalID:      "demo-till1",
		DataDir:         filepath.Join(dir, "data"),
		Scanner:         config.Scanner{Kind: config.ScannerSim},
		Coupons:         rules,
	}
	// The wait for a buyer who never confirms shrinks with the script.
	c.Payment = &config.Payment{BuyerWaitSeconds: max(1, int(float64(config.DefaultBuyerWait/time.Second)/speed))}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("demo configuration: %w", err)
	}
	srv.SetPayer(Plain.UserID, alipaytest.Payer{Balance: 1_000_000, Confirm: true, NeverConfirm: true})
	sandboxAmounts(srv, speed)
	student := srv.IssueCode(Student.UserID)
	d := &Demo{Server: srv, Config: c}
	d.OutageCode = srv.IssueCode(Student2.UserID)
	d.Codes = []string{
		student,                            // decoded with campus info: two coupons
		srv.IssueCode(Plain.UserID),        // decoded without: the welcome coupon
		srv.IllegalCode(),                  // ILLEGAL_CODE
		srv.ExpiredCode(Plain.UserID),      // CODE_EXPIRED
		srv.IssueCode(Unauthorised.UserID), // USER_UN_AUTH
		d.OutageCode,                       // coupons meet the outage, go out after it
		student,                            // rescanned: the same sence_no
	}
	d.Script = scanner.DemoScript(d.Codes)
	for i := range d.Script {
		st := &d.Script[i]
		// A pause shorter than the framer's stale gap would glue a cut
		// read to the next code.
		st.Delay = max(time.Duration(float64(st.Delay)/speed), minPause)
		st.Unplug = time.Duration(float64(st.Unplug) / speed)
		d.length += st.Delay + st.Unplug
	}
	d.outage = time.Duration(float64(OutageLength) / speed)
	d.lingerFor = max(time.Duration(float64(Linger)/speed), 2*time.Second)
	return d, nil
}

// minPause is the shortest pause between script steps at any speed: longer
// than the scanner's stale gap (scanner.DefaultStaleGap).
const minPause = scanner.DefaultStaleGap + 100*time.Millisecond

// Close stops the fake gateway.
func (d *Demo) Close() { d.Server.Close() }

// Play drives the outage: when the outage code is scanned, the gateway
// stops answering, as if the network were down, for OutageLength. It asks
// Payments for the demo's sales as customers are decoded. It returns true
// once the script has played, every scan has ended in decoded or
// decode_failed, every payment it asked for has ended, idle reports no work
// left (checked after each event and every idleCheck, as the queue
// acknowledges a job after its last event), and Linger has passed; or false
// when ctx is done or sub closed first.
func (d *Demo) Play(ctx context.Context, sub *event.Subscription, idle func() bool) bool {
	played := time.Now().Add(d.length)
	scans, ended := 0, 0
	pays, paysEnded := 0, 0
	charged := map[string]bool{}  // sence_nos asked to pay
	scripted := map[string]bool{} // sence_nos the script scanned
	outage := false
	for {
		wait, cancel := context.WithTimeout(ctx, idleCheck)
		e, err := sub.Next(wait)
		cancel()
		switch {
		case ctx.Err() != nil || errors.Is(err, event.ErrClosed):
			return false
		case err == nil:
			switch e := e.(type) {
			case event.Scan:
				scans++
				if e.Source == scanner.KindSim {
					scripted[e.SenceNo] = true
				}
				if !outage && e.CodeMasked == redact.Code(d.OutageCode) {
					outage = true
					d.setOutage(true)
					time.AfterFunc(d.outage, func() { d.setOutage(false) })
				}
			case event.Decoded:
				ended++
				if scripted[e.SenceNo] && d.pay(ctx, e, charged) {
					pays++
				}
			case event.DecodeFailed:
				ended++
			case event.Payment:
				switch e.State {
				case event.PaymentPaid, event.PaymentFailed, event.PaymentCancelled, event.PaymentRefunded:
					paysEnded++
				}
			}
		}
		if time.Now().After(played) && ended >= scans && paysEnded >= pays && idle() {
			return d.linger(ctx)
		}
	}
}

// outageMethods are the gateway methods the demo's outage cuts: all that
// posagent calls, as a network that is down would. Only coupons failing
// would make the gateway look up and down by turns, with each call that
// does get through.
var outageMethods = []string{alipay.MethodTwostageCommonUse, alipay.MethodPassInstanceAdd, alipay.MethodTradePay,
	alipay.MethodTradeQuery, alipay.MethodTradeCancel, alipay.MethodAgreementAuthConfirm}

// setOutage starts (every call dropped without an answer) or ends the
// outage.
func (d *Demo) setOutage(down bool) {
	var f alipaytest.Fault
	if down {
		f.Drop = true
	}
	for _, m := range outageMethods {
		d.Server.SetFault(m, f)
	}
}

// Linger is how long Play goes on after the last payment ended, at speed 1:
// a POS trying the local API against the headless demo can still look at
// that payment (GET /v1/payments/…) before the demo stops.
const Linger = 10 * time.Second

// linger waits Linger (shortened by the speed, but never under two
// seconds); false if ctx ends first.
func (d *Demo) linger(ctx context.Context) bool {
	t := time.NewTimer(d.lingerFor)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// pay asks for the sale of a decoded customer the demo charges, once per
// sence_no; it reports whether a payment was started.
func (d *Demo) pay(ctx context.Context, e event.Decoded, charged map[string]bool) bool {
	var sale payment.Request
	switch {
	case d.Payments == nil || charged[e.SenceNo]:
		return false
	case e.UserID == Student.UserID:
		sale = StudentSale
	case e.UserID == Plain.UserID:
		sale = PlainSale
	default:
		return false
	}
	charged[e.SenceNo] = true
	// out_trade_no takes letters, digits and underscore only.
	sale.SenceNo, sale.OutTradeNo = e.SenceNo, "sale_"+strings.ReplaceAll(e.SenceNo, "-", "_")
	_, created, err := d.Payments.Pay(ctx, sale)
	return err == nil && created
}
