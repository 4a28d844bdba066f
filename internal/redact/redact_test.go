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
		{"secret", Secret, "423979", "***"},
		{"secretEmpty", Secret, "", ""},
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
