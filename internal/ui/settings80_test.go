package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"
)

// settings80 opens Settings at 80x24 with one coupon rule.
func settings80(t *testing.T) *harness {
	path, cfg := richConfig(t)
	h := start(t, Deps{Config: cfg, ConfigPath: path}, 80, 24)
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	h.waitFor(t, "Settings", "no problems")
	return h
}

// focusedLabel is the label of the Settings field with the focus.
func (h *harness) focusedLabel() string {
	s := make(chan string, 1)
	h.onUI(func() {
		label := ""
		if f := h.app.settings.focused; f != nil && f.HasFocus() {
			label = f.GetLabel()
		}
		s <- label
	})
	return <-s
}

// TestSettingsAnyUserAt80x24: any_user is a choice with its list of no
// and yes, drawn inside the form (not over its frame or the lines below);
// its error stands beside the value, not over it, and names the rule as
// the label does; Esc closes the list and leaves the field focused.
func TestSettingsAnyUserAt80x24(t *testing.T) {
	h := settings80(t)
	h.focusField(t, "rule 1 any_user")
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	screen := h.waitUntil(t, func(screen string) string {
		lines := strings.Split(screen, "\n")
		for i, l := range lines[:len(lines)-1] {
			if strings.Contains(l, "no") && strings.Contains(lines[i+1], "yes") && !strings.Contains(l, "any_user") {
				return ""
			}
		}
		return "the list of no and yes"
	})
	lines := strings.Split(screen, "\n")
	bottom := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "╚") })
	if bottom < 0 || strings.Trim(lines[bottom], "╚═╝") != "" || !strings.Contains(lines[bottom+1], "no problems") {
		t.Fatalf("the list is drawn over the frame or the line below it:\n%s", screen)
	}
	// Esc closes the list only: the field keeps the focus, Tab moves on.
	h.key(tcell.KeyEscape, 0, tcell.ModNone)
	h.waitUntil(t, func(string) string {
		if h.focusedLabel() != "rule 1 any_user" {
			return "any_user focused after Esc"
		}
		return ""
	})
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	h.key(tcell.KeyDown, 0, tcell.ModNone)
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	screen = h.waitFor(t, "rule 1 match: school_std_code and any_user together: choose one")
	if r := row(screen, "rule 1 any_user"); !strings.Contains(r, "yes") || !strings.Contains(r, "✗") {
		t.Fatalf("any_user row %q: the value and its error beside it\n%s", r, screen)
	}
	if strings.Contains(screen, "coupons[") {
		t.Fatalf("two numberings on one screen:\n%s", screen)
	}
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	h.waitUntil(t, func(string) string {
		if h.focusedLabel() != "rule 1 tpl_id" {
			return "Tab moving on to tpl_id"
		}
		return ""
	})
}

// TestSettingsCutErrorWhole: an error cut beside its field reads whole on
// the message line.
func TestSettingsCutErrorWhole(t *testing.T) {
	h := settings80(t)
	h.focusField(t, "terminal_id")
	h.key(tcell.KeyCtrlU, 0, tcell.ModCtrl)
	h.typeText("store12-till3-with-a-name-far-too-long")
	h.key(tcell.KeyTab, 0, tcell.ModNone)
	screen := h.waitFor(t, "use up to 32 letters, digits, '-' or '_'")
	if r := row(screen, "terminal_id"); !strings.Contains(r, "…") {
		t.Fatalf("the error cut beside the field is not marked cut: %q", r)
	}
}
