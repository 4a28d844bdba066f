package alipay

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The checks below enforce the limits of the API pages before anything is
// sent, so that a bad request fails at once with the field's name instead of
// a round trip later with a gateway code. Lengths count characters, as the
// pages' "最大长度" does.

func invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func checkRequired(field, v string, max int) *FieldError {
	if strings.TrimSpace(v) == "" {
		return invalid(field, "required")
	}
	return checkLen(field, v, max)
}

func checkLen(field, v string, max int) *FieldError {
	if n := utf8.RuneCountInString(v); n > max {
		return invalid(field, "%d characters, at most %d", n, max)
	}
	return nil
}

// checkTradeNo checks a merchant's trade number (out_trade_no): required, at
// most 64 characters, letters, digits and underscore only (the
// alipay.trade.pay page: "64个字符以内、可包含字母、数字、下划线").
func checkTradeNo(field, v string) *FieldError {
	if err := checkRequired(field, v, 64); err != nil {
		return err
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return invalid(field, "%q: only letters, digits and underscore (found %q)", v, c)
		}
	}
	return nil
}

func checkEnum(field, v string, allowed ...string) *FieldError {
	if v != "" && !contains(allowed, v) {
		return invalid(field, "%q: want %s", v, strings.Join(allowed, " or "))
	}
	return nil
}

// firstProblem returns the first non-nil check result, as an error.
func firstProblem(checks ...*FieldError) error {
	for _, c := range checks {
		if c != nil {
			return c
		}
	}
	return nil
}
