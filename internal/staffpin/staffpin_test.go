package staffpin

import (
	"strings"
	"testing"
)

func TestHashAndMatch(t *testing.T) {
	h, err := Hash("4821")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "4821") || !strings.HasPrefix(h, "pbkdf2-sha256$100000$") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := Hash("4821")
	if h == h2 {
		t.Fatal("two hashes of one PIN are equal: no salt")
	}
	for _, tc := range []struct {
		pin  string
		want bool
	}{{"4821", true}, {"4822", false}, {"", false}, {"48210", false}} {
		if ok, err := Match(h, tc.pin); err != nil || ok != tc.want {
			t.Errorf("Match(%q) = %v, %v; want %v", tc.pin, ok, err, tc.want)
		}
	}
}

func TestRejects(t *testing.T) {
	for _, pin := range []string{"", "123", "1234567890123", "12a4", "１２３４"} {
		if _, err := Hash(pin); err == nil {
			t.Errorf("Hash(%q) accepted", pin)
		}
	}
	for _, enc := range []string{"", "4821", "pbkdf2-sha256$100000$c2FsdA$", "pbkdf2-sha256$1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"sha1$100000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "pbkdf2-sha256$x$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if Valid(enc) == nil {
			t.Errorf("Valid(%q) accepted", enc)
		}
		if _, err := Match(enc, "4821"); err == nil {
			t.Errorf("Match on %q did not fail", enc)
		}
	}
}
