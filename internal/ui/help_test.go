package ui

import (
	"strings"
	"testing"
	"unicode"

	"github.com/gdamore/tcell/v2"
)

// TestHelpListsEveryScreenKey keeps the help honest: every screen's keys
// are in it.
func TestHelpListsEveryScreenKey(t *testing.T) {
	text := newHelp().GetText(true)
	for _, k := range screenKeys {
		want := tcell.KeyNames[k.fkey] + " Alt-" + string(unicode.ToUpper(k.alt))
		if !strings.Contains(strings.Join(strings.Fields(text), " "), want) {
			t.Errorf("help does not list %q for %s", want, k.page)
		}
	}
}
