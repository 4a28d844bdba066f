package coupon

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/event"
	"posagent/internal/redact"
)

// Issuer is the one gateway method coupons need.
type Issuer interface {
	PassInstanceAdd(ctx context.Context, req alipay.PassInstanceAddRequest) (*alipay.PassInstanceAddResponse, error)
}

// Publisher receives coupon events; *event.Bus is one.
type Publisher interface {
	Publish(event.Event)
}

// Deferrer keeps work durably for later: the queue in the product. It holds
// one job per key, so planning the same coupon twice queues it once, and
// stores all the work it is given at once, or none of it.
type Deferrer interface {
	DeferAll(ctx context.Context, ws []Work) error
}

// Work is one job for a Deferrer.
type Work struct {
	Kind, Key string
	Subject   event.Subject // names the customer and the coupon, for the queue's events
	Payload   []byte
	Deadline  time.Time
}

// JobKind names coupon issues in the queue.
const JobKind = "coupon"

// DefaultDeadline is how long a coupon issue may wait for the gateway. A
// coupon, unlike a payment code, stays worth issuing after an outage.
const DefaultDeadline = 12 * time.Hour

// Serial derives the pass's serial number from the decode's sence_no and the
// template: 20 digits, the same for every retry of one coupon, different for
// every other coupon (sence_no is unique per code and terminal).
func Serial(senceNo, tplID string) string {
	sum := sha256.Sum256([]byte(senceNo + "\x00" + tplID))
	return fmt.Sprintf("%020d", binary.BigEndian.Uint64(sum[:8]))
}

// Failure is a coupon that will not be issued.
type Failure struct {
	SenceNo       string
	TplID, Serial string
	Reason        string
	Err           error
}

func (f *Failure) Error() string {
	return fmt.Sprintf("coupon %s serial %s: %s", f.TplID, f.Serial, f.Reason)
}

func (f *Failure) Unwrap() error { return f.Err }

// Config is what Coupons needs.
type Config struct {
	Issuer    Issuer
	Rules     Rules
	Merchant  *Merchant // optional
	Events    Publisher
	Later     Deferrer
	Retryable func(error) bool // alipay.Retryable
	PayPID    string
	Deadline  time.Duration // DefaultDeadline when zero
	Log       *slog.Logger  // slog.Default() when nil
	Now       func() time.Time
}

// Coupons plans and issues coupons.
type Coupons struct {
	c Config

	mu       sync.Mutex // guards rules and merchant, which SetRules replaces
	rules    Rules
	merchant *Merchant
}

// New checks c.
func New(c Config) (*Coupons, error) {
	switch {
	case c.Issuer == nil:
		return nil, errors.New("coupon: no issuer")
	case c.Events == nil:
		return nil, errors.New("coupon: no event publisher")
	case c.Later == nil:
		return nil, errors.New("coupon: no queue")
	case c.Retryable == nil:
		return nil, errors.New("coupon: no Retryable")
	case c.PayPID == "":
		return nil, errors.New("coupon: empty pay_pid")
	}
	if c.Deadline <= 0 {
		c.Deadline = DefaultDeadline
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Coupons{c: c, rules: c.Rules, merchant: c.Merchant}, nil
}

// SetRules replaces the rules and the merchant endpoint (nil for none), for
// the settings screen: coupons already queued keep what they were planned
// with.
func (cs *Coupons) SetRules(rs Rules, m *Merchant) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.rules, cs.merchant = rs, m
}

// job is a queued issue, its parameters already filled.
type job struct {
	TplID   string            `json:"tpl_id"`
	Params  map[string]string `json:"tpl_params"`
	Serial  string            `json:"serial"`
	SenceNo string            `json:"sence_no"`
}

// Issue runs one queued coupon: nil when issued, a *Failure when it never
// will be, any other error to be retried.
func (cs *Coupons) Issue(ctx context.Context, payload []byte) error {
	var j job
	if err := json.Unmarshal(payload, &j); err != nil || j.TplID == "" || j.Serial == "" {
		return cs.fail(&Failure{SenceNo: j.SenceNo, TplID: j.TplID, Serial: j.Serial, Reason: "unreadable queued coupon", Err: fmt.Errorf("bad payload: %v", err)})
	}
	resp, err := cs.c.Issuer.PassInstanceAdd(ctx, alipay.PassInstanceAddRequest{
		TplID:           j.TplID,
		TplParams:       j.Params,
		RecognitionType: alipay.RecognitionTypeOrder,
		RecognitionInfo: alipay.RecognitionInfo{PartnerID: cs.c.PayPID, OutTradeNo: j.SenceNo},
	})
	if err != nil {
		if ctx.Err() != nil || cs.c.Retryable(err) {
			return fmt.Errorf("coupon %s serial %s: %w", j.TplID, j.Serial, err)
		}
		return cs.fail(&Failure{SenceNo: j.SenceNo, TplID: j.TplID, Serial: j.Serial, Reason: reason(err), Err: err})
	}
	cs.c.Events.Publish(event.CouponIssued{Stamp: cs.stamp(), SenceNo: j.SenceNo, TplID: j.TplID, SerialNumber: j.Serial, PassID: resp.Result.PassID})
	return nil
}

// reasons turns the page's error codes into words for the screen.
var reasons = map[string]string{
	alipay.SubPassParamIsNull:        "a template parameter has no value: check tpl_params",
	alipay.SubPassRecognitionType:    "recognition type not supported",
	alipay.SubPassAppIDNotSupported:  "this app may not issue passes (blacklisted): call support",
	alipay.SubPassUserIDNotSupported: "this customer may not receive passes",
	alipay.SubPassParamsValueInvalid: "a template parameter is invalid (e.g. a date): check tpl_params",
	alipay.SubPassParamsFormatError:  "the parameters are not in the expected format: check tpl_params",
	alipay.SubPassCharNotGBK:         "a template parameter has characters outside GBK",
}

// reason is the words of a coupon_failed event and of the dead job's last
// error, both shown on screens and kept on disk. The gateway's own errors
// (isv.*) are about the terminal's setup and read as a fixed instruction;
// any other text from the gateway is passed on with long digit runs masked,
// in case it names the customer.
func reason(err error) string {
	var ae *alipay.Error
	if !errors.As(err, &ae) {
		return redact.DigitRuns(err.Error())
	}
	switch r, ok := reasons[ae.SubCode]; {
	case ok:
		return ae.SubCode + ": " + r
	case ae.SubCode == alipay.SubInvalidSignature, ae.SubCode == "isv.missing-signature-config":
		return ae.SubCode + ": the terminal's key does not match the app's public key on Alipay: call support"
	case strings.HasPrefix(ae.SubCode, "isv."):
		return ae.SubCode + ": Alipay refused the terminal's configuration: call support"
	case ae.SubMsg != "":
		return redact.DigitRuns(ae.SubCode + ": " + ae.SubMsg)
	}
	return redact.DigitRuns(err.Error())
}

func (cs *Coupons) fail(f *Failure) *Failure {
	cs.c.Events.Publish(event.CouponFailed{Stamp: cs.stamp(), SenceNo: f.SenceNo, TplID: f.TplID, SerialNumber: f.Serial, Reason: f.Reason})
	return f
}

func (cs *Coupons) stamp() event.Stamp { return event.Stamp{Time: cs.c.Now()} }
