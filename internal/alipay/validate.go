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
