package redact

import "testing"

func TestMask(t *testing.T) {
	tests := []struct {
		name string
		f    func(string) string
		in   string
		want string
	}{
		{"code18", Code, "286861260475412123", "28************2123"},
		{"code24", Code, "301234567890123456789012", "30******************9012"},
		{"codeShort", Code, "28123", "*****"},
		{"codeEmpty", Code, "", ""},
		{"user", UserID, "2088123412341234", "2088********1234"},
		{"userShort", UserID, "2088", "****"},
		{"nonASCII", Code, "付款码付款码付款码", "*********"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDigitRuns(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"no digits", "gateway busy", "gateway busy"},
		{"short runs stay", "40004 on 20261122 for 12.50", "40004 on 20261122 for 12.50"},
		{"15 digits stay", "123456789012345", "123456789012345"},
		{"user id", "user 2088123412341234 refused", "user 2088********1234 refused"},
		{"16 digits not 2088 is a code", "1234567890123456", "12**********3456"},
		{"payment code", "code=286861260475412123&x", "code=28************2123&x"},
		{"24 digits", "301234567890123456789012", "30******************9012"},
		{"25 digits stay", "3012345678901234567890123", "3012345678901234567890123"},
		{"two runs", "2088123412341234,286861260475412123", "2088********1234,28************2123"},
		{"beside non-ASCII", "用户2088123412341234券", "用户2088********1234券"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DigitRuns(tt.in); got != tt.want {
				t.Errorf("DigitRuns(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"short runs stay", "40004 on 20261122", "40004 on 20261122"},
		{"user id", "user 2088123412341234 refused", "user 2088********1234 refused"},
		{"payment code", "code=286861260475412123&x", "code=28************2123&x"},
		{"25 digits masked whole", "x3012345678901234567890123y", "x*************************y"},
		{"beside non-ASCII", "码2868612604754121231234567890码", "码****************************码"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.in); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"folds lines", "coupon tplA:\n\tgateway  down\r\n", "coupon tplA: gateway down"},
		{"masks", "pass add: 40004 user 2088123412341234\nsaid no", "pass add: 40004 user 2088********1234 said no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
