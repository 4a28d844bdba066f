package ui

import (
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// fitted is a Flex whose text panels get the rows their wrapped text
// needs: an instruction is read whole at 80x24, never cut at the panel's
// bottom edge. The width a text wraps at is known only once drawn, so
// Draw lays out, measures, and lays out again when a panel's rows change.
type fitted struct {
	*tview.Flex
	fits []*fit
}

// fit is one text panel (view, with border rows of frame) inside item of
// parent: it takes at least least rows, and at most what most allows
// given the height the Flex has.
type fit struct {
	parent *tview.Flex
	item   tview.Primitive
	view   *tview.TextView
	frame  int
	least  int
	most   func(height int) int
	rows   int
}

func newFitted(f *tview.Flex, fits ...*fit) *fitted {
	for _, v := range fits {
		v.rows = v.least
		v.parent.ResizeItem(v.item, v.least, 0)
	}
	return &fitted{Flex: f, fits: fits}
}

// Draw draws the Flex, growing or shrinking its panels to their text.
func (f *fitted) Draw(screen tcell.Screen) {
	f.Flex.Draw(screen)
	_, _, _, height := f.GetRect()
	changed := false
	for _, v := range f.fits {
		_, _, width, _ := v.view.GetInnerRect()
		rows := max(len(tview.WordWrap(strings.TrimSuffix(v.view.GetText(false), "\n"), width))+v.frame, v.least)
		if v.most != nil {
			rows = max(min(rows, v.most(height)), v.least)
		}
		if rows != v.rows {
			v.rows, changed = rows, true
			v.parent.ResizeItem(v.item, rows, 0)
		}
	}
	if changed {
		f.Flex.Draw(screen)
	}
}
