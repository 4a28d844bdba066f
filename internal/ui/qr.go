package ui

import (
	"fmt"
	"strings"

	"rsc.io/qr"
)

// qrQuiet is the white margin around a QR code, in modules, that the
// standard asks for; without it a phone fails to find a code drawn on a dark
// terminal.
const qrQuiet = 4

// qrBlock renders text as a QR code in half blocks: one cell is one module
// wide and two high. It sets black on white explicitly so that the code is
// right on dark and light terminals alike (a code drawn in the terminal's
// own colours is inverted on a dark one). The result uses tview colour tags;
// w and h are its size in cells.
func qrBlock(text string) (block string, w, h int, err error) {
	code, err := qr.Encode(text, qr.L)
	if err != nil {
		return "", 0, 0, fmt.Errorf("qr: %w", err)
	}
	n := code.Size + 2*qrQuiet
	dark := func(x, y int) bool { return code.Black(x-qrQuiet, y-qrQuiet) }
	var b strings.Builder
	for y := 0; y < n; y += 2 {
		b.WriteString("[black:white]")
		for x := 0; x < n; x++ {
			switch top, bottom := dark(x, y), dark(x, y+1); {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteString("[-:-]\n")
	}
	return b.String(), n, (n + 1) / 2, nil
}
