package ui

import (
	"strings"
	"testing"

	"rsc.io/qr"
)

// TestQRBlockDrawsEveryModule reads the half blocks back into modules and
// compares them with the encoder's bitmap.
func TestQRBlockDrawsEveryModule(t *testing.T) {
	for _, text := range []string{"a", "app_id=2014072300007148&biz_content=%7B%22out_trade_no%22%3A%2270501111111S001111119%22%7D&sign=" + strings.Repeat("Zm9v", 86)} {
		block, w, h, err := qrBlock(text)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := qr.Encode(text, qr.L)
		if w != code.Size+2*qrQuiet || h != (w+1)/2 {
			t.Fatalf("size %dx%d for a %d-module code", w, h, code.Size)
		}
		lines := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
		if len(lines) != h {
			t.Fatalf("%d lines, want %d", len(lines), h)
		}
		for row, line := range lines {
			line = strings.TrimSuffix(strings.TrimPrefix(line, "[black:white]"), "[-:-]")
			cells := []rune(line)
			if len(cells) != w {
				t.Fatalf("line %d is %d cells, want %d", row, len(cells), w)
			}
			for x, c := range cells {
				top := c == '█' || c == '▀'
				bottom := c == '█' || c == '▄'
				y := 2 * row
				if top != code.Black(x-qrQuiet, y-qrQuiet) || bottom != code.Black(x-qrQuiet, y+1-qrQuiet) {
					t.Fatalf("module (%d,%d) drawn wrong: %q", x, y, c)
				}
			}
		}
	}
}
