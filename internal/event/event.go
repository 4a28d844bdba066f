// Package event defines what posagent reports while it works, and the bus that
// carries those reports to the terminal UI, to headless JSON-lines output and,
// later, to a local API for the POS software.
//
// The JSON form of every event is a contract other programs rely on (see the
// README): one object per line with "type" and "time" (RFC 3339) first, then
// the fields of that type, all of them present even when empty. Fields are
// added, never renamed.
//
// Events never carry a full payment code or a full user_id: producers put
// masked values in (see package redact).
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Type names an event kind as it appears in the "type" field.
type Type string

// The event types. The first seven are the contract of ../shared/DESIGN.md;
// the rest extend it.
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
)

// Event is one report. Each concrete type below is an Event.
type Event interface {
	Type() Type
	When() time.Time
}

// Stamp is embedded in every event: the moment it happened.
type Stamp struct {
	Time time.Time `json:"-"`
}

// When reports when the event happened.
func (s Stamp) When() time.Time { return s.Time }

// Scan: the scanner produced a payment code that passed local validation.
type Scan struct {
	Stamp
	CodeMasked string `json:"code_masked"`
	Source     string `json:"source"` // driver and device, e.g. "serial:/dev/ttyACM0"
}

// ScanRejected: bytes from the scanner that are not a payment code.
type ScanRejected struct {
	Stamp
	CodeMasked string `json:"code_masked"`
	Source     string `json:"source"`
	Reason     string `json:"reason"`
}

// Decoding: a decode request for sence_no is being sent (Attempt counts from 1).
type Decoding struct {
	Stamp
	SenceNo    string `json:"sence_no"`
	CodeMasked string `json:"code_masked"`
	Attempt    int    `json:"attempt"`
}

// Decoded: the gateway turned a payment code into a customer. SenceNo is what
// the merchant's alipay.trade.pay must send as
// extend_params.DYNAMIC_TOKEN_OUT_BIZ_NO. UserID is masked.
type Decoded struct {
	Stamp
	SenceNo       string `json:"sence_no"`
	UserID        string `json:"user_id"`
	SchoolStdCode string `json:"school_std_code"`
	CampusNo      string `json:"campus_no"`
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
	TplID        string `json:"tpl_id"`
	SerialNumber string `json:"serial_number"`
	PassID       string `json:"pass_id"`
}

// CouponFailed: a coupon that will not be issued, with the reason.
type CouponFailed struct {
	Stamp
	TplID        string `json:"tpl_id"`
	SerialNumber string `json:"serial_number"`
	Reason       string `json:"reason"`
}

// Queued: work that failed for now waits in the queue until NextAt.
type Queued struct {
	Stamp
	JobID   string    `json:"job_id"`
	Kind    string    `json:"kind"`
	Attempt int       `json:"attempt"`
	NextAt  time.Time `json:"next_at"`
	Reason  string    `json:"reason"`
}

// Dead: work that will not be retried any more.
type Dead struct {
	Stamp
	JobID  string `json:"job_id"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Gateway state.
const (
	GatewayUp   = "up"
	GatewayDown = "down"
)

// Gateway: the Alipay gateway became reachable (State "up") or not ("down").
type Gateway struct {
	Stamp
	State string `json:"state"`
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

// timeLayout is RFC 3339 with milliseconds, in the event's own zone.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSONLine encodes e as one JSON object: "type" and "time" first, then
// the fields of its type. The result holds no newline.
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
	fmt.Fprintf(&buf, `{"type":%q,"time":%q`, e.Type(), e.When().Format(timeLayout))
	if len(body) > 2 {
		buf.WriteByte(',')
		buf.Write(body[1:])
	} else {
		buf.WriteByte('}')
	}
	return buf.Bytes(), nil
}
