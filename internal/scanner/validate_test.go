package scanner

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckCode(t *testing.T) {
	tests := []struct {
		code   string
		reason string // "" = valid
	}{
		{"281234567890123456", ""},
		{"2512345678901234", ""},         // 16 digits, lowest prefix
		{"301234567890123456789012", ""}, // 24 digits, highest prefix
		{"", "empty"},
		{"251234567890123", "15 digits, want 16 to 24"},
		{"3012345678901234567890123", "25 digits, want 16 to 24"},
		{"241234567890123456", "starts with 24, want 25 to 30"},
		{"311234567890123456", "starts with 31, want 25 to 30"},
		{"13812345678901234", "starts with 13, want 25 to 30"},
		{"28123456789012345a", `character 18 is 'a', want digits only`},
		{"2812345678 0123456", `character 11 is ' ', want digits only`},
		{"28１234567890123456", "character 3 is byte 0xef, want digits only"}, // a full-width digit is not ASCII
		{"\x00281234567890123456", "character 1 is byte 0x00, want digits only"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			err := ValidPaymentCode(tt.code)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("checkCode = %v, want valid", err)
				}
				return
			}
			var ce *CodeError
			if !errors.As(err, &ce) || ce.Reason != tt.reason {
				t.Fatalf("checkCode = %v, want reason %q", err, tt.reason)
			}
			if !errors.Is(err, ErrNotPaymentCode) {
				t.Fatalf("%v does not match ErrNotPaymentCode", err)
			}
			if len(tt.code) >= 16 && strings.Contains(err.Error(), tt.code) {
				t.Fatalf("error %q repeats the input", err)
			}
		})
	}
}
