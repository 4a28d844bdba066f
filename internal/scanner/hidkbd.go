package scanner

import (
	"fmt"
	"unicode/utf8"
)

// HID keyboard boot report: a modifier byte, a reserved byte and up to six
// key codes (usage page 0x07) of the keys held down.
const (
	modCtrl  = 0x01 | 0x10 // left, right
	modShift = 0x02 | 0x20
	modAltGr = 0x40 // right Alt

	keyRollOver = 0x01 // too many keys: the report says nothing about which
	keyEnter    = 0x28
	keyTab      = 0x2b
	keyKPEnter  = 0x58
)

// layout maps key codes to the characters the scanner means, without and
// with Shift. What matters is the keyboard the scanner emulates, not the
// PC's: a scanner set to AZERTY sends Shift with every digit.
type layout struct {
	name string
	keys [0x65][2]rune
}

func (l *layout) set(first byte, plain, shifted string) {
	p, s := []rune(plain), []rune(shifted)
	for i := range p {
		l.keys[int(first)+i] = [2]rune{p[i], s[i]}
	}
}

func newLayout(name, letters, digits, shiftedDigits, punct, shiftedPunct string) *layout {
	l := &layout{name: name}
	l.set(0x04, letters, upper(letters))
	l.set(0x1e, digits, shiftedDigits)
	l.keys[keyEnter] = [2]rune{'\r', '\r'}
	l.keys[0x29] = [2]rune{0x1b, 0x1b} // Escape
	l.keys[keyTab] = [2]rune{'\t', '\t'}
	l.keys[0x2c] = [2]rune{' ', ' '}
	l.set(0x2d, punct, shiftedPunct) // 0x2d–0x38
	// The keypad is the same on every layout (Num Lock on).
	l.set(0x54, "/*-+\r1234567890.", "/*-+\r1234567890.")
	return l
}

func upper(s string) string {
	r := []rune(s)
	for i, c := range r {
		if c >= 'a' && c <= 'z' {
			r[i] = c - 'a' + 'A'
		} else if c == ',' {
			r[i] = '?'
		}
	}
	return string(r)
}

// 0 marks keys with no character (dead keys) in a layout.
var layouts = map[string]*layout{
	"us": newLayout("us",
		"abcdefghijklmnopqrstuvwxyz", "1234567890", "!@#$%^&*()",
		"-=[]\\#;'`,./", "_+{}|~:\"~<>?"),
	"fr": newLayout("fr",
		"qbcdefghijkl,noparstuvzxyw", "&é\"'(-è_çà", "1234567890",
		")=\x00$\x00*mù²;:!", "°+\x00£\x00µM%\x00./§"),
}

// keyboardDecoder turns a stream of boot reports into text. A key counts
// once, in the report where it appears: scanners repeat reports and hold
// keys across them, so a character is typed only by a key that was absent
// from the previous report. The same digit twice therefore needs a report
// without it in between, which is what scanners send.
type keyboardDecoder struct {
	layout *layout
	prev   [6]byte
}

func newKeyboardDecoder(name string) (*keyboardDecoder, error) {
	if name == "" {
		name = "us"
	}
	l, ok := layouts[name]
	if !ok {
		return nil, fmt.Errorf("keyboard layout %q: want us or fr", name)
	}
	return &keyboardDecoder{layout: l}, nil
}

// decode appends the characters report types to dst. A 9-byte report
// starts with a report ID, which is dropped.
func (d *keyboardDecoder) decode(report []byte, dst []byte) ([]byte, error) {
	if len(report) == 9 {
		report = report[1:]
	}
	if len(report) < 3 || len(report) > 8 {
		return dst, fmt.Errorf("keyboard report of %d bytes, want 8 (or 9 with a report ID)", len(report))
	}
	mod := report[0]
	var cur [6]byte
	copy(cur[:], report[2:])
	for _, k := range cur {
		if k >= keyRollOver && k <= 0x03 {
			// Phantom state: the keys are unknown, so the previous report
			// still stands.
			return dst, nil
		}
	}
	for _, k := range cur {
		if k == 0 || held(d.prev, k) {
			continue
		}
		if r := d.char(k, mod); r != 0 {
			dst = utf8.AppendRune(dst, r)
		}
	}
	d.prev = cur
	return dst, nil
}

func held(keys [6]byte, k byte) bool {
	for _, p := range keys {
		if p == k {
			return true
		}
	}
	return false
}

func (d *keyboardDecoder) char(k, mod byte) rune {
	if int(k) >= len(d.layout.keys) {
		return 0
	}
	shift := 0
	if mod&modShift != 0 {
		shift = 1
	}
	r := d.layout.keys[k][shift]
	if mod&modCtrl != 0 {
		// Scanners type control characters (prefixes, suffixes) as Ctrl
		// with a letter: Ctrl+M is CR, Ctrl+B is STX.
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r & 0x1f
		}
		return 0
	}
	if mod&modAltGr != 0 {
		return 0 // third-level characters are not in any payment code
	}
	return r
}
