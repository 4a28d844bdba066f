// Package demo sets up `posagent demo`: the fake gateway on loopback with
// freshly generated keys, customers of every kind, a configuration pointing
// at it, and a scanner script that shows in under a minute what posagent
// does — a student decoded with campus info and given two coupons, a customer
// without campus info, the gateway's refusals, and an outage while coupons
// are being issued, with the coupons going out once it is over.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

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

// OutageLength is how long coupon issuing fails in the demo at speed 1.
const OutageLength = 6 * time.Second

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
	outage     time.Duration
	length     time.Duration // of the script
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
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("demo configuration: %w", err)
	}
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
	return d, nil
}

// minPause is the shortest pause between script steps at any speed: longer
// than the scanner's stale gap (scanner.DefaultStaleGap).
const minPause = scanner.DefaultStaleGap + 100*time.Millisecond

// Close stops the fake gateway.
func (d *Demo) Close() { d.Server.Close() }

// Play drives the outage: when the outage code is scanned, coupon issuing
// starts failing as if the network were down, for OutageLength. It returns
// true once the script has played, every scan has ended in decoded or
// decode_failed, and idle reports no work left (checked after each event and
// every idleCheck, as the queue acknowledges a job after its last event); or
// false when ctx is done or sub closed first.
func (d *Demo) Play(ctx context.Context, sub *event.Subscription, idle func() bool) bool {
	played := time.Now().Add(d.length)
	scans, ended := 0, 0
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
				if !outage && e.CodeMasked == redact.Code(d.OutageCode) {
					outage = true
					d.Server.SetFault(alipay.MethodPassInstanceAdd, alipaytest.Fault{Drop: true})
					time.AfterFunc(d.outage, func() { d.Server.SetFault(alipay.MethodPassInstanceAdd, alipaytest.Fault{}) })
				}
			case event.Decoded, event.DecodeFailed:
				ended++
			}
		}
		if time.Now().After(played) && ended >= scans && idle() {
			return true
		}
	}
}
