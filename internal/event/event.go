// Package event defines what posagent reports while it works, and the bus that
// carries those reports to the terminal UI, to headless JSON-lines output and,
// later, to a local API for the POS software.
//
// The JSON form of every event is a contract other programs rely on (see
// docs/events.md): one object per line with "type", "time" (RFC 3339 with
// milliseconds) and "seq" first, then the fields of that type, all of them
// present even when empty. Fields are added, never renamed.
//
// Every event that belongs to a customer carries that customer's sence_no,
// so that a client joins them without guessing. Events never carry a full
// payment code. The one full user_id is Decoded.UserID, for the integration
// channels (headless stdout, the local API); the screen and the logs show
// Decoded.UserIDMasked.
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"posagent/internal/redact"
)

// Type names an event kind as it appears in the "type" field.
type Type string

// The event types. The first seven are the original integration contract
// (docs/events.md); the rest extend it.
const (
	TypeScan         Type = "scan"
	TypeDecoded      Type = "decoded"
	TypeDecodeFailed Type = "decode_failed"
	TypeCouponIssued Type = "coupon_issued"
	TypeQueued       Type = "queued"
	TypeDead         Type = "dead"
	TypeGateway      Type = "gateway"

	TypeScanner      Type = "scanner"       // a scanner connected or disconnected
	TypeScanRejected Type = "scan_rejected" // input that is not a payment code, refused locally
	TypeDecoding     Type = "decoding"      // a decode request is on its way
	TypeCouponFailed Type = "coupon_failed" // a coupon that will not be issued
	TypeStarted      Type = "started"       // the first event of a run
	TypeStopping     Type = "stopping"      // the last event of a clean stop
	TypePayment      Type = "payment"       // a payment (stage two) changed state
)

// Event is one report. Each concrete type below is an Event.
type Event interface {
	Type() Type
	When() time.Time
	// Sequence is the event's seq: set by the bus when it is published,
	// growing by one per event within a run (0 before publishing).
	Sequence() uint64
	// with returns the event with its stamp replaced; only this package
	// defines events, so the bus can number them without reflection.
	with(Stamp) Event
	stamp() Stamp
}

// Stamp is embedded in every event: the moment it happened and, once
// published, its place in the run.
type Stamp struct {
	Time time.Time `json:"-"`
	Seq  uint64    `json:"-"`
}

// When reports when the event happened.
func (s Stamp) When() time.Time { return s.Time }

// Sequence reports the event's seq.
func (s Stamp) Sequence() uint64 { return s.Seq }

func (s Stamp) stamp() Stamp { return s }

// Scan: the scanner produced a payment code that passed local validation.
type Scan struct {
	Stamp
	SenceNo    string `json:"sence_no"`
	CodeMasked string `json:"code_masked"`
	Source     string `json:"source"` // driver and device, e.g. "serial:/dev/ttyACM0"
}

// ScanRejected: bytes from the scanner that are not a payment code.
type ScanRejected struct {
	Stamp
	CodeMasked string `json:"code_masked"`
	Source     string `json:"source"`
	Reason     string `json:"reason"`
	Cause      string `json:"cause"` // one of the Reject* causes
}

// Causes of a rejected read (ScanRejected.Cause): what the cashier does
// next depends on it, the reason's words are for store IT.
const (
	RejectCutOff         = "cut_off"          // the read ended before its code did (no terminator, keys lost): scan again
	RejectTooLong        = "too_long"         // more bytes than a code has
	RejectNotPaymentCode = "not_payment_code" // a whole read that is not an Alipay payment code
	RejectDevice         = "device"           // the scanner reported an error
)

// Decoding: a decode request for sence_no is being sent (Attempt counts from 1).
type Decoding struct {
	Stamp
	SenceNo    string `json:"sence_no"`
	CodeMasked string `json:"code_masked"`
	Attempt    int    `json:"attempt"`
}

// Decoded: the gateway turned a payment code into a customer. SenceNo is what
// the merchant's alipay.trade.pay must send as
// extend_params.DYNAMIC_TOKEN_OUT_BIZ_NO. UserID is the full 2088… id, for
// the integration channels only; the screen and the logs use UserIDMasked.
type Decoded struct {
	Stamp
	SenceNo       string `json:"sence_no"`
	UserID        string `json:"user_id"`
	UserIDMasked  string `json:"user_id_masked"`
	SchoolStdCode string `json:"school_std_code"`
	CampusNo      string `json:"campus_no"`
	// CodeExpiresAt is when stage two refuses the scanned code (about a
	// minute after the scan): a payment must be asked for before it.
	CodeExpiresAt Millis `json:"code_expires_at,omitzero"`
}

// DecodeFailed: the decode ended without a customer. Action is what the
// cashier should do, in plain words.
type DecodeFailed struct {
	Stamp
	SenceNo string `json:"sence_no"`
	Code    string `json:"code"`
	SubCode string `json:"sub_code"`
	Message string `json:"message"`
	Action  string `json:"action"`
}

// CouponIssued: alipay.pass.instance.add succeeded.
type CouponIssued struct {
	Stamp
	SenceNo      string `json:"sence_no"`
	TplID        string `json:"tpl_id"`
	SerialNumber string `json:"serial_number"`
	PassID       string `json:"pass_id"`
}

// CouponFailed: a coupon that will not be issued, with the reason.
type CouponFailed struct {
	Stamp
	SenceNo      string `json:"sence_no"`
	TplID        string `json:"tpl_id"`
	SerialNumber string `json:"serial_number"`
	Reason       string `json:"reason"`
}

// Subject names what a queued job is for: the customer's sence_no and, for
// a coupon, its tpl_id and serial_number. The enqueuer sets it; the queue
// stores it beside the job and copies it into the job's Queued and Dead
// events.
type Subject struct {
	SenceNo      string
	TplID        string
	SerialNumber string
}

// Queued: work that failed for now waits in the queue until NextAt. SenceNo
// names the customer the job belongs to; TplID and SerialNumber are set
// where the job is a coupon.
type Queued struct {
	Stamp
	JobID        string    `json:"job_id"`
	Kind         string    `json:"kind"`
	SenceNo      string    `json:"sence_no"`
	TplID        string    `json:"tpl_id,omitempty"`
	SerialNumber string    `json:"serial_number,omitempty"`
	Attempt      int       `json:"attempt"`
	NextAt       time.Time `json:"next_at"`
	Reason       string    `json:"reason"`
}

// MarshalJSON writes next_at as every event's time is written (RFC 3339
// with milliseconds), in its place among the fields.
func (e Queued) MarshalJSON() ([]byte, error) {
	type fields Queued // without this method
	b, err := json.Marshal(fields(e))
	if err != nil {
		return nil, err
	}
	nano, err := e.NextAt.MarshalJSON()
	if err != nil {
		return nil, err
	}
	// Quotes inside string values are escaped: the first match is the field.
	return bytes.Replace(b, append([]byte(`"next_at":`), nano...), []byte(`"next_at":"`+e.NextAt.Format(timeLayout)+`"`), 1), nil
}

// Dead: work that will not be retried any more.
type Dead struct {
	Stamp
	JobID        string `json:"job_id"`
	Kind         string `json:"kind"`
	SenceNo      string `json:"sence_no"`
	TplID        string `json:"tpl_id,omitempty"`
	SerialNumber string `json:"serial_number,omitempty"`
	Reason       string `json:"reason"`
}

// Gateway state.
const (
	GatewayUp   = "up"
	GatewayDown = "down"
)

// Why the gateway is down (Gateway.Cause).
const (
	// CauseUnreachable: requests got no answer from the gateway (network,
	// timeout, a proxy's page): an outage, to wait out.
	CauseUnreachable = "unreachable"
	// CauseConfig: answers came but do not verify against this terminal's
	// Alipay key or certificate: a configuration problem for staff, which
	// waiting will not end (or someone in the middle).
	CauseConfig = "config"
)

// Gateway: the Alipay gateway became reachable (State "up") or not
// ("down"), or the cause of "down" changed. Cause is "" when up; Detail
// says in words what the cause is.
type Gateway struct {
	Stamp
	State  string `json:"state"`
	Cause  string `json:"cause"`
	Detail string `json:"detail"`
}

// Scanner state.
const (
	ScannerConnected    = "connected"
	ScannerDisconnected = "disconnected"
)

// Scanner: a scanner was connected or disconnected. Detail says why, for a
// person (e.g. "permission denied on /dev/ttyACM0").
type Scanner struct {
	Stamp
	State  string `json:"state"`
	Device string `json:"device"`
	Detail string `json:"detail"`
}

// Started: the first event of a run. RunID tells runs apart; seq keeps
// growing over the runs of one data directory (see internal/eventseq), so
// an id from an earlier run is never mistaken for one of this run.
// APIURL and APITokenFile are empty when the local API is off.
type Started struct {
	Stamp
	Version      string `json:"version"`
	RunID        string `json:"run_id"`
	TerminalID   string `json:"terminal_id"`
	GatewayURL   string `json:"gateway_url"`
	DataDir      string `json:"data_dir"`
	Scanner      string `json:"scanner"`
	APIURL       string `json:"api_url"`
	APITokenFile string `json:"api_token_file"`
}

// Stopping: the last event of a clean stop, with why.
type Stopping struct {
	Stamp
	Reason string `json:"reason"`
}

// Payment states, in the order a payment may pass through them. Paid,
// Failed, Cancelled and Refunded are final; Unknown is never final: it is
// resolved by a query and, unless paid, a cancel.
const (
	PaymentSending      = "sending"
	PaymentWaitingBuyer = "waiting_buyer"
	PaymentPaid         = "paid"
	PaymentFailed       = "failed"
	PaymentUnknown      = "unknown"
	PaymentCancelling   = "cancelling"
	PaymentCancelled    = "cancelled"
	PaymentRefunded     = "refunded"
)

// Payment: a payment (alipay.trade.pay with the scanned code) changed
// state. TotalAmount is yuan as a decimal string ("12.50"). Recovered is
// true when the state was found after a restart (the POS should
// reconcile).
type Payment struct {
	Stamp
	SenceNo     string `json:"sence_no"`
	OutTradeNo  string `json:"out_trade_no"`
	State       string `json:"state"`
	TotalAmount string `json:"total_amount"`
	TradeNo     string `json:"trade_no"`
	Message     string `json:"message"`
	Action      string `json:"action"`
	Recovered   bool   `json:"recovered"`
}

func (Scan) Type() Type         { return TypeScan }
func (ScanRejected) Type() Type { return TypeScanRejected }
func (Decoding) Type() Type     { return TypeDecoding }
func (Decoded) Type() Type      { return TypeDecoded }
func (DecodeFailed) Type() Type { return TypeDecodeFailed }
func (CouponIssued) Type() Type { return TypeCouponIssued }
func (CouponFailed) Type() Type { return TypeCouponFailed }
func (Queued) Type() Type       { return TypeQueued }
func (Dead) Type() Type         { return TypeDead }
func (Gateway) Type() Type      { return TypeGateway }
func (Scanner) Type() Type      { return TypeScanner }
func (Started) Type() Type      { return TypeStarted }
func (Stopping) Type() Type     { return TypeStopping }
func (Payment) Type() Type      { return TypePayment }

func (e Scan) with(s Stamp) Event         { e.Stamp = s; return e }
func (e ScanRejected) with(s Stamp) Event { e.Stamp = s; return e }
func (e Decoding) with(s Stamp) Event     { e.Stamp = s; return e }
func (e Decoded) with(s Stamp) Event      { e.Stamp = s; return e }
func (e DecodeFailed) with(s Stamp) Event { e.Stamp = s; return e }
func (e CouponIssued) with(s Stamp) Event { e.Stamp = s; return e }
func (e CouponFailed) with(s Stamp) Event { e.Stamp = s; return e }
func (e Queued) with(s Stamp) Event       { e.Stamp = s; return e }
func (e Dead) with(s Stamp) Event         { e.Stamp = s; return e }
func (e Gateway) with(s Stamp) Event      { e.Stamp = s; return e }
func (e Scanner) with(s Stamp) Event      { e.Stamp = s; return e }
func (e Started) with(s Stamp) Event      { e.Stamp = s; return e }
func (e Stopping) with(s Stamp) Event     { e.Stamp = s; return e }
func (e Payment) with(s Stamp) Event      { e.Stamp = s; return e }

// timeLayout is RFC 3339 with milliseconds, in the event's own zone.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Millis is a time field written as the event's own time is: RFC 3339 with
// milliseconds.
type Millis time.Time

// MarshalJSON writes m as RFC 3339 with milliseconds.
func (m Millis) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(m).Format(timeLayout) + `"`), nil
}

// IsZero reports whether m is the zero time (then omitzero leaves it out).
func (m Millis) IsZero() bool { return time.Time(m).IsZero() }

// UnmarshalJSON reads an RFC 3339 time.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var t time.Time
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	*m = Millis(t)
	return nil
}

// MarshalJSONLine encodes e as one JSON object: "type", "time" and "seq"
// first, then the fields of its type. The result holds no newline.
func MarshalJSONLine(e Event) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", e.Type(), err)
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("event %s: encodes as %.20q, not an object", e.Type(), body)
	}
	var buf bytes.Buffer
	buf.Grow(len(body) + 64)
	fmt.Fprintf(&buf, `{"type":%q,"time":%q,"seq":%d`, e.Type(), e.When().Format(timeLayout), e.Sequence())
	if len(body) > 2 {
		buf.WriteByte(',')
		buf.Write(body[1:])
	} else {
		buf.WriteByte('}')
	}
	return buf.Bytes(), nil
}

// masked returns e with every free-text field passed through redact.Text:
// reasons and messages quote errors and the gateway's own sub_msg, which
// may hold a payment code or a user_id, and every subscriber (the screen,
// headless stdout, the local API) must get them masked. Fields that are
// ids by contract (sence_no, user_id, code_masked) are left alone.
func masked(e Event) Event {
	switch e := e.(type) {
	case ScanRejected:
		e.Reason = redact.Text(e.Reason)
		return e
	case DecodeFailed:
		e.Message, e.Action = redact.Text(e.Message), redact.Text(e.Action)
		return e
	case CouponFailed:
		e.Reason = redact.Text(e.Reason)
		return e
	case Queued:
		e.Reason = redact.Text(e.Reason)
		return e
	case Dead:
		e.Reason = redact.Text(e.Reason)
		return e
	case Scanner:
		e.Detail = redact.Text(e.Detail)
		return e
	case Stopping:
		e.Reason = redact.Text(e.Reason)
		return e
	case Payment:
		e.Message, e.Action = redact.Text(e.Message), redact.Text(e.Action)
		return e
	}
	return e
}
