package scanner

import (
	"errors"
	"fmt"
)

// Payment code shape: what Alipay's payment codes look like today. Anything
// else is refused before a network call is made.
const (
	MinCodeLen = 16
	MaxCodeLen = 24
)

// ErrNotPaymentCode is matched (errors.Is) by every validation failure.
var ErrNotPaymentCode = errors.New("not an Alipay payment code")

// CodeError says why input is not a payment code. Reason never repeats the
// input, so it can be logged.
type CodeError struct{ Reason string }

func (e *CodeError) Error() string        { return ErrNotPaymentCode.Error() + ": " + e.Reason }
func (e *CodeError) Is(target error) bool { return target == ErrNotPaymentCode }

// ValidPaymentCode checks a code that arrives other than from a scanner
// (typed into the local API) as a scanned one is checked: 16 to 24 ASCII
// digits starting with 25 to 30.
func ValidPaymentCode(s string) error { return checkCode(s) }

// checkCode checks that s is an Alipay payment code: 16 to 24 ASCII digits
// starting with 25 to 30.
func checkCode[T string | []byte](s T) error {
	if len(s) == 0 {
		return &CodeError{Reason: "empty"}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			return &CodeError{Reason: fmt.Sprintf("character %d is %s, want digits only", i+1, describeByte(c))}
		}
	}
	if len(s) < MinCodeLen || len(s) > MaxCodeLen {
		return &CodeError{Reason: fmt.Sprintf("%d digits, want %d to %d", len(s), MinCodeLen, MaxCodeLen)}
	}
	if p := int(s[0]-'0')*10 + int(s[1]-'0'); p < 25 || p > 30 {
		return &CodeError{Reason: fmt.Sprintf("starts with %02d, want 25 to 30", p)}
	}
	return nil
}

func describeByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}
