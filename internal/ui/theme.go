package ui

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// Colours. Text on the terminal's own background uses the terminal's own
// foreground, or a colour that reads on both black and white (green, red,
// magenta, teal; never yellow or white). Where a colour is set as background
// the foreground is set too, so the pair reads whatever the terminal theme.
// Colour is never the only signal: every state has a word and a symbol.
const (
	tagOK   = "[green::b]"
	tagBad  = "[red::b]"
	tagBusy = "[fuchsia::b]"
	tagWarn = "[teal::b]"
	tagKey  = "[::b]"
	tagOff  = "[-:-:-]"
)

// Symbols beside the state words.
const (
	symOK   = "✓"
	symBad  = "✗"
	symBusy = "⟳"
	symWait = "…"
	symDot  = "•"
)

// Styles with both colours set, for fields and buttons.
var (
	fieldStyle        = tcell.StyleDefault.Foreground(tcell.ColorWhite).Background(tcell.ColorNavy)
	buttonStyle       = tcell.StyleDefault.Foreground(tcell.ColorWhite).Background(tcell.ColorTeal)
	buttonActiveStyle = tcell.StyleDefault.Foreground(tcell.ColorNavy).Background(tcell.ColorWhite).Bold(true)
	selectedStyle     = tcell.StyleDefault.Reverse(true)
)

// styleForm gives a form the field and button styles above.
func styleForm(f *tview.Form) *tview.Form {
	return f.SetFieldTextColor(tcell.ColorWhite).SetFieldBackgroundColor(tcell.ColorNavy).
		SetButtonStyle(buttonStyle).SetButtonActivatedStyle(buttonActiveStyle)
}

var themeOnce sync.Once

// setTheme makes tview draw on the terminal's default colours instead of its
// built-in black theme, which is unreadable on light terminals. tview.Styles
// is global, so it is set once.
func setTheme() {
	themeOnce.Do(func() {
		tview.Styles = tview.Theme{
			PrimitiveBackgroundColor:    tcell.ColorDefault,
			ContrastBackgroundColor:     tcell.ColorNavy,
			MoreContrastBackgroundColor: tcell.ColorTeal,
			BorderColor:                 tcell.ColorDefault,
			TitleColor:                  tcell.ColorDefault,
			GraphicsColor:               tcell.ColorDefault,
			PrimaryTextColor:            tcell.ColorDefault,
			SecondaryTextColor:          tcell.ColorTeal,
			TertiaryTextColor:           tcell.ColorGreen,
			InverseTextColor:            tcell.ColorWhite, // on ContrastBackgroundColor
			ContrastSecondaryTextColor:  tcell.ColorWhite,
		}
	})
}

// screenKey is a screen and the keys that open it from anywhere.
type screenKey struct {
	page  string
	fkey  tcell.Key
	alt   rune
	label string
}

// screenKeys lists the screens in menu order.
var screenKeys = []screenKey{
	{pageHelp, tcell.KeyF1, 'h', "Help"},
	{pageCheckout, tcell.KeyF2, 'c', "Checkout"},
	{pageQueue, tcell.KeyF3, 'q', "Queue"},
	{pageSettings, tcell.KeyF4, 's', "Setup"},
	{pageAgreement, tcell.KeyF5, 'a', "Agree"},
	{pageOrder, tcell.KeyF6, 'o', "AppPay"},
	{pagePay, tcell.KeyF7, 'p', "Pay"},
	{pageEvents, tcell.KeyF8, 'e', "Log"},
	{pageScanner, tcell.KeyF12, 'i', "Scan"},
}

// newMenu is the top line: one clickable entry per screen.
func newMenu(show func(page string)) *tview.TextView {
	menu := tview.NewTextView().SetDynamicColors(true).SetRegions(true).SetWrap(false)
	var b strings.Builder
	// F10 Quit comes before the F-keys above it: at 80 columns those are
	// the part cut off, never Quit.
	quit := false
	for _, k := range screenKeys {
		if k.fkey > tcell.KeyF10 && !quit {
			fmt.Fprintf(&b, "%sF10%s Quit ", tagKey, tagOff)
			quit = true
		}
		fmt.Fprintf(&b, `["%s"]%s%s%s %s[""] `, k.page, tagKey, tcell.KeyNames[k.fkey], tagOff, k.label)
	}
	if !quit {
		fmt.Fprintf(&b, "%sF10%s Quit", tagKey, tagOff)
	}
	menu.SetText(b.String())
	menu.Highlight(pageCheckout)
	menu.SetHighlightedFunc(func(added, _, _ []string) {
		if len(added) > 0 {
			show(added[0])
		}
	})
	return menu
}
