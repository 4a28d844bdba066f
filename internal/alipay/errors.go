package alipay

import (
	"context"
	"errors"
	"fmt"
)

// Gateway codes (the response's "code").
const (
	CodeSuccess             = "10000"
	CodeServiceUnavailable  = "20000" // sub_code isp.unknow-error: retry
	CodeInsufficientAuth    = "20001"
	CodeMissingParameter    = "40001"
	CodeInvalidParameter    = "40002"
	CodeBusinessFailed      = "40004"
	CodeInsufficientPermits = "40006"
)

// Gateway-wide sub codes.
const (
	SubUnknownError     = "isp.unknow-error" // sic: the gateway's spelling
	SubInvalidSignature = "isv.invalid-signature"
)

// Error is a failure reported by the gateway, or a transport failure on the
// way to it (then Code is empty and Err holds the cause). Match it with
// errors.As; tell retryable failures from final ones with Retryable.
type Error struct {
	Method     string
	HTTPStatus int // 0 when no HTTP response arrived
	Code       string
	Msg        string
	SubCode    string
	SubMsg     string
	Err        error // transport or decoding cause, if any
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s: %s %s (%s %s)", e.Method, e.Code, e.Msg, e.SubCode, e.SubMsg)
	}
	s := e.Method
	if e.HTTPStatus != 0 && e.HTTPStatus != 200 {
		s += fmt.Sprintf(": HTTP %d", e.HTTPStatus)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if s == e.Method {
		s += ": gateway error"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnreachable marks failures where the gateway was not reached or did not
// answer as the gateway: transport errors, timeouts, HTTP 502/503/504 and HTML
// pages (proxies, captive portals). See Unreachable.
var ErrUnreachable = errors.New("gateway unreachable")

// ErrUnsigned reports a response without a signature. A success without one
// is never a result; a failure without one is passed on as a failure.
var ErrUnsigned = errors.New("response is not signed")

// ErrMalformed reports a response that is not a gateway response.
var ErrMalformed = errors.New("malformed response")

// Retryable reports whether err is not a final answer, so that the same
// request may be sent again later: transport errors and timeouts, a cancelled
// call, HTTP 5xx, code 20000 (isp.unknow-error), SYSTEM_ERROR,
// KP.AE_SYSTEM_ERROR and ACQ.SYSTEM_ERROR. Everything else is final: bad parameters, signatures,
// permissions, and every business code that asks the customer or the
// merchant to act.
func Retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	}
	// An answer that did not verify is no verdict, whatever code it
	// carries (parseResponse marks it unreachable).
	if errors.Is(e.Err, ErrUnreachable) {
		return true
	}
	if e.Code != "" {
		switch {
		case e.Code == CodeServiceUnavailable, e.SubCode == SubUnknownError,
			e.SubCode == SubSystemError, e.SubCode == SubPassSystemError, e.SubCode == SubTradeSystemError:
			return true
		}
		return false
	}
	if errors.Is(e.Err, ErrSignature) || errors.Is(e.Err, ErrMalformed) || errors.Is(e.Err, ErrUnsigned) {
		return false
	}
	return errors.Is(e.Err, ErrUnreachable) || e.HTTPStatus >= 500 ||
		errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded)
}

// Unreachable reports whether err says the gateway could not be reached at
// all (transport error, timeout, HTTP 502/503/504, an HTML page instead of
// the gateway's JSON). The queue uses it to tell "gateway down" from a
// gateway that answered.
func Unreachable(err error) bool {
	return errors.Is(err, ErrUnreachable)
}

// FieldError is a request field that breaks a limit of the method's API page.
// Nothing was sent. It arrives wrapped in *Error.
type FieldError struct {
	Field string // the parameter's name on the page, e.g. "biz_content.sence_no"
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// ErrSignature reports a signature that does not verify.
var ErrSignature = errors.New("alipay: signature does not verify")

// ErrUnknownCert reports a response signed under an Alipay certificate the
// client does not know and could not fetch.
var ErrUnknownCert = errors.New("unknown alipay_cert_sn")

// transportError classifies an error of the HTTP round trip. A call the
// caller cancelled proves nothing about the gateway; anything else (refused,
// reset, timed out, DNS) means it was not reached.
func transportError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}

// malformedAnswer is a verified answer that does not say what the method's
// page says it must.
func malformedAnswer(method, format string, args ...any) error {
	return &Error{Method: method, HTTPStatus: 200, Err: fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))}
}
