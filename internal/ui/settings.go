package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"posagent/internal/config"
	"posagent/internal/staffpin"
)

const pageSettings = "settings"

// fieldWidth is the width of every settings input: enough for a path or a
// URL to be recognised, leaving room for the error beside it.
const fieldWidth = 34

// settingsScreen edits a copy of the configuration. Every change is checked
// at once with config.Validate and each problem shows beside its field; Save
// writes the file atomically with config.Save and hands the result to
// OnSave. Key files are shown as paths only: the screen never reads them.
type settingsScreen struct {
	app    *App
	root   *tview.Flex
	form   *tview.Form
	msg    *tview.TextView
	cfg    *config.Config // the edited copy
	orig   *config.Config // as loaded or last saved: what "unsaved" is measured against
	path   string
	dirty  bool   // edited since loaded or saved
	newPIN string // a staff PIN typed to replace staff_pin on save
	onSave func(*config.Config) ([]string, error)

	fields   []*field
	focused  *field
	lastRule int // the coupon rule a field was last focused in, or -1
	errs     config.Errors
	note     string // the outcome of the last action, shown until the next edit
}

// field is a form item with the configuration keys it edits; the first
// problem Validate reports for one of them is drawn beside the field.
type field struct {
	tview.FormItem
	keys       []string
	rule       int // coupon rule index, or -1
	labelWidth int
	err        string
	cut        bool // err did not fit beside the field: the message line shows it whole
	onCut      func()
	// bounds is the form's inner area: a drop-down list stays inside it,
	// off the frame and the lines below.
	bounds func() (x, y, w, h int)
}

func (f *field) SetFormAttributes(labelWidth int, labelColor, bgColor, fieldTextColor, fieldBgColor tcell.Color) tview.FormItem {
	f.labelWidth = labelWidth
	f.FormItem.SetFormAttributes(labelWidth, labelColor, bgColor, fieldTextColor, fieldBgColor)
	return f
}

// SetFinishedFunc passes on leaving the field, except for the Esc that
// closes an open drop-down list: that one only closes the list, and the
// field keeps the focus (leaving Settings then would leave the focus on
// the closed list).
func (f *field) SetFinishedFunc(handler func(key tcell.Key)) tview.FormItem {
	f.FormItem.SetFinishedFunc(func(key tcell.Key) {
		if d, ok := f.FormItem.(*tview.DropDown); ok && key == tcell.KeyEscape && d.IsOpen() {
			return
		}
		handler(key)
	})
	return f
}

func (f *field) SetDisabled(disabled bool) tview.FormItem {
	f.FormItem.SetDisabled(disabled)
	return f
}

// Draw draws the item and its error to the right of the input area. A
// field without an error takes the whole row, so that a long key-file path
// shows in full; one with an error shrinks so that the error keeps room.
func (f *field) Draw(screen tcell.Screen) {
	x, y, w, _ := f.GetRect()
	width := max(w-f.labelWidth-1, 16)
	if f.err != "" {
		width = min(max((w-f.labelWidth)/2, 16), fieldWidth)
	}
	switch item := f.FormItem.(type) {
	case *tview.InputField:
		item.SetFieldWidth(width)
	case *tview.DropDown:
		item.SetFieldWidth(width)
		if f.bounds != nil {
			bx, by, bw, bh := f.bounds()
			screen = clipped{Screen: screen, w: bx + bw, h: by + bh}
		}
	default:
		width = f.FormItem.GetFieldWidth()
	}
	f.FormItem.Draw(screen)
	off := f.labelWidth + width + 1
	if cut := f.err != "" && len([]rune(f.err))+2 > w-off; cut != f.cut {
		// The message line is drawn after the form: it says it whole.
		f.cut = cut
		f.onCut()
	}
	if f.err == "" || off >= w {
		return
	}
	text := f.err
	if f.cut {
		text = string([]rune(text)[:max(w-off-3, 0)]) + "…"
	}
	tview.Print(screen, tagBad+symBad+" "+tview.Escape(text), x+off, y, w-off, tview.AlignLeft, tcell.ColorDefault)
}

// clipped is a screen that says it ends at w, h: a drop-down list, which
// places itself by the screen's size, then stays inside the form.
type clipped struct {
	tcell.Screen
	w, h int
}

func (c clipped) Size() (int, int) { return c.w, c.h }

// ruleKey matches a coupon rule's key in the configuration's words.
var ruleKey = regexp.MustCompile(`coupons\[(\d+)\](\.match)?(\.)?`)

// shownKey names keys (in a key or a message) as the fields' labels do:
// "coupons[2].tpl_id" is "rule 3 tpl_id", one numbering on the screen.
func shownKey(s string) string {
	return ruleKey.ReplaceAllStringFunc(s, func(m string) string {
		g := ruleKey.FindStringSubmatch(m)
		n, _ := strconv.Atoi(g[1])
		switch {
		case g[3] != "":
			return fmt.Sprintf("rule %d ", n+1)
		case g[2] != "":
			return fmt.Sprintf("rule %d match", n+1)
		}
		return fmt.Sprintf("rule %d", n+1)
	})
}

func newSettingsScreen(a *App, cfg *config.Config, path string, onSave func(*config.Config) ([]string, error)) *settingsScreen {
	s := &settingsScreen{
		app:      a,
		form:     styleForm(tview.NewForm()).SetItemPadding(0),
		msg:      tview.NewTextView().SetDynamicColors(true),
		path:     path,
		onSave:   onSave,
		lastRule: -1,
	}
	if cfg != nil {
		s.cfg = cloneConfig(cfg)
	} else {
		s.cfg = &config.Config{}
		s.cfg.SetDefaults()
	}
	s.orig = cloneConfig(s.cfg)
	s.form.SetBorder(true).SetTitle(" Settings — " + tview.Escape(orNone(path)) + " ")
	s.form.SetCancelFunc(func() { a.show(pageCheckout) })
	s.root = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(s.form, 0, 1, true).
		AddItem(s.msg, 2, 0, false)
	s.build(0)
	return s
}

// build (re)creates the form from the edited copy and focuses item focus.
func (s *settingsScreen) build(focus int) {
	c := s.cfg
	s.form.Clear(true)
	s.fields = nil
	s.focused = nil

	s.input("gateway_url", "gateway_url", c.GatewayURL, &c.GatewayURL)
	s.input("app_id", "app_id", c.AppID, &c.AppID)
	s.input("app_private_key", "app_private_key (file)", c.AppPrivateKey, &c.AppPrivateKey)
	s.input("alipay_public_key", "alipay_public_key (file)", c.AlipayPublicKey, &c.AlipayPublicKey)
	s.input("app_cert", "app_cert (file)", c.AppCert, &c.AppCert)
	s.input("alipay_cert", "alipay_cert (file)", c.AlipayCert, &c.AlipayCert)
	s.input("alipay_root_cert", "alipay_root_cert (file)", c.AlipayRootCert, &c.AlipayRootCert)
	s.input("encrypt_key", "encrypt_key (file)", c.EncryptKey, &c.EncryptKey)
	s.dropdown("sign_type", "sign_type", []string{"RSA2", "RSA"}, "", &c.SignType)
	s.dropdown("charset", "charset", []string{"utf-8", "GBK"}, "", &c.Charset)
	s.input("app_auth_token", "app_auth_token", c.AppAuthToken, &c.AppAuthToken).SetMaskCharacter('*')
	s.input("pay_pid", "pay_pid", c.PayPID, &c.PayPID)
	s.input("terminal_id", "terminal_id", c.TerminalID, &c.TerminalID)
	s.input("data_dir", "data_dir", c.DataDir, &c.DataDir)
	s.dropdown("scanner.kind", "scanner.kind", []string{config.ScannerSerial, config.ScannerHID, config.ScannerWedge, config.ScannerSim}, "", &c.Scanner.Kind)
	s.input("scanner.port", "scanner.port", c.Scanner.Port, &c.Scanner.Port)
	baud := ""
	if c.Scanner.Baud != 0 {
		baud = strconv.Itoa(c.Scanner.Baud)
	}
	s.add(tview.NewInputField().SetLabel("scanner.baud").SetText(baud).SetFieldWidth(fieldWidth).
		SetAcceptanceFunc(digitsOnly).SetPlaceholder("(profile's, else 9600)").
		SetChangedFunc(func(v string) {
			c.Scanner.Baud, _ = strconv.Atoi(v) // digits only; empty is 0: the profile's rate
			s.changed()
		}), -1, "scanner.baud")
	s.input("scanner.vid", "scanner.vid", c.Scanner.VID, &c.Scanner.VID)
	s.input("scanner.pid", "scanner.pid", c.Scanner.PID, &c.Scanner.PID)
	s.dropdown("scanner.terminator", "scanner.terminator", config.Terminators, "(profile's, else CR)", &c.Scanner.Terminator)
	s.input("scanner.profile", "scanner.profile", c.Scanner.Profile, &c.Scanner.Profile)
	s.input("merchant_coupon_url", "merchant_coupon_url", c.MerchantCouponURL, &c.MerchantCouponURL)
	s.pinInput()
	for i := range c.Coupons {
		s.rule(i)
	}

	s.form.AddButton("Save F9", s.guardedSave).
		AddButton("Add rule Alt-N", s.addRule).
		AddButton("Remove rule Alt-K", s.removeRule).
		AddButton("Scanners Alt-L", s.detect)
	s.validate()
	if focus >= s.form.GetFormItemCount() {
		focus = s.form.GetFormItemCount() - 1
	}
	s.form.SetFocus(max(focus, 0))
	if s.app.pages != nil && s.app.front() == pageSettings {
		// Give the form the application's focus again: that is what hooks
		// Tab and Enter on the new items, and moves the focus off the
		// items that were removed.
		s.app.tv.SetFocus(s.form)
	}
}

// rule adds the fields of coupon rule i.
func (s *settingsScreen) rule(i int) {
	r := &s.cfg.Coupons[i]
	key := fmt.Sprintf("coupons[%d]", i)
	label := fmt.Sprintf("rule %d ", i+1)
	school := tview.NewInputField().SetLabel(label + "school_std_code").SetText(r.Match.SchoolStdCode).SetFieldWidth(fieldWidth)
	school.SetChangedFunc(func(v string) { r.Match.SchoolStdCode = v; s.changed() })
	s.add(school, i, key+".match.school_std_code", key+".match")
	// A choice like the others: Enter opens its list of no and yes.
	anyUser := tview.NewDropDown().SetLabel(label+"any_user").SetOptions([]string{"no", "yes"}, nil).SetFieldWidth(fieldWidth)
	anyUser.SetListStyles(fieldStyle, selectedStyle)
	if r.Match.AnyUser {
		anyUser.SetCurrentOption(1)
	} else {
		anyUser.SetCurrentOption(0)
	}
	anyUser.SetSelectedFunc(func(option string, _ int) {
		if v := option == "yes"; v != r.Match.AnyUser {
			r.Match.AnyUser = v
			s.changed()
		}
	})
	s.add(anyUser, i, key+".match")
	tpl := tview.NewInputField().SetLabel(label + "tpl_id").SetText(r.TplID).SetFieldWidth(fieldWidth)
	tpl.SetChangedFunc(func(v string) { r.TplID = v; s.changed() })
	s.add(tpl, i, key+".tpl_id")
	params := tview.NewInputField().SetLabel(label + "tpl_params").SetText(string(r.TplParams)).SetFieldWidth(fieldWidth).
		SetPlaceholder(`{"title": "..."}`)
	params.SetChangedFunc(func(v string) {
		r.TplParams = nil
		if strings.TrimSpace(v) != "" {
			r.TplParams = json.RawMessage(v)
		}
		s.changed()
	})
	s.add(params, i, key+".tpl_params")
}

// input adds a text field bound to *dst.
func (s *settingsScreen) input(key, label, value string, dst *string) *tview.InputField {
	in := tview.NewInputField().SetLabel(label).SetText(value).SetFieldWidth(fieldWidth)
	in.SetChangedFunc(func(v string) { *dst = v; s.changed() })
	s.add(in, -1, key)
	return in
}

// dropdown adds a choice bound to *dst. A non-empty unset names the first
// option, which stands for the empty value (a default chosen elsewhere). A
// value outside the options (from a hand-edited file) is kept as an extra
// option so that it shows, with Validate's complaint beside it.
func (s *settingsScreen) dropdown(key, label string, options []string, unset string, dst *string) {
	if unset != "" {
		options = append([]string{unset}, options...)
	} else {
		options = slices.Clone(options)
	}
	value := func(option string) string {
		if unset != "" && option == unset {
			return ""
		}
		return option
	}
	cur := slices.IndexFunc(options, func(o string) bool { return value(o) == *dst || strings.EqualFold(o, *dst) && o == "utf-8" })
	if cur < 0 && *dst != "" {
		options = append(options, *dst)
		cur = len(options) - 1
	}
	d := tview.NewDropDown().SetLabel(label).SetOptions(options, nil).SetFieldWidth(fieldWidth)
	d.SetListStyles(fieldStyle, selectedStyle)
	if cur >= 0 {
		d.SetCurrentOption(cur)
	}
	d.SetSelectedFunc(func(option string, _ int) {
		if v := value(option); *dst != v {
			*dst = v
			s.changed()
		}
	})
	s.add(d, -1, key)
}

func (s *settingsScreen) add(item tview.FormItem, rule int, keys ...string) {
	f := &field{FormItem: item, keys: keys, rule: rule, bounds: s.form.GetInnerRect, onCut: s.showMessage}
	if b, ok := item.(interface{ SetFocusFunc(func()) *tview.Box }); ok {
		b.SetFocusFunc(func() {
			s.focused = f
			if f.rule >= 0 {
				s.lastRule = f.rule
			}
			s.showMessage()
		})
	}
	s.fields = append(s.fields, f)
	s.form.AddFormItem(f)
}

// pinInput adds the field that sets a new staff PIN: typed masked, kept
// only as its salted hash (staff_pin) when saved.
func (s *settingsScreen) pinInput() {
	state := "(none: staff actions ask for no PIN)"
	if s.cfg.StaffPIN != "" {
		state = "(set; type a new one to change it)"
	}
	in := tview.NewInputField().SetLabel("staff_pin (new PIN)").SetText(s.newPIN).SetFieldWidth(fieldWidth).
		SetMaskCharacter('*').SetPlaceholder(state).
		SetAcceptanceFunc(func(text string, _ rune) bool { return len(text) <= 12 && digits(text) })
	in.SetChangedFunc(func(v string) { s.newPIN = v; s.changed() })
	s.add(in, -1, "staff_pin")
}

// changed is called after every edit.
func (s *settingsScreen) changed() {
	s.note = ""
	s.dirty = true
	s.validate()
}

// discard drops the edits: the form shows the configuration as loaded or
// last saved.
func (s *settingsScreen) discard() {
	s.cfg = cloneConfig(s.orig)
	s.newPIN, s.note, s.dirty = "", "", false
	s.build(0)
}

// guardedSave saves once the staff PIN was given (if one is set).
func (s *settingsScreen) guardedSave() { s.app.staff("Save settings", s.save) }

// validate checks the edited copy and puts each problem beside its field.
func (s *settingsScreen) validate() {
	s.errs = nil
	if err := s.cfg.Validate(); err != nil && !errors.As(err, &s.errs) {
		s.errs = config.Errors{{Key: "config", Msg: err.Error()}}
	}
	if s.newPIN != "" {
		if err := staffpin.CheckPIN(s.newPIN); err != nil {
			s.errs = append(s.errs, &config.FieldError{Key: "staff_pin", Msg: err.Error()})
		}
	}
	for _, f := range s.fields {
		f.err = ""
		for _, k := range f.keys {
			if e := s.errs.For(k); e != nil {
				f.err = shownKey(e.Msg)
				break
			}
		}
	}
	s.showMessage()
}

// showMessage fills the line under the form: the outcome of the last
// action, else the whole text of the focused field's problem (the text
// beside the field may be cut), else a summary.
func (s *settingsScreen) showMessage() {
	var b strings.Builder
	switch {
	case s.note != "":
		b.WriteString(s.note)
	case s.focused != nil && s.focused.err != "":
		fmt.Fprintf(&b, " %s%s %s:%s %s", tagBad, symBad, shownKey(s.focused.keys[0]), tagOff, tview.Escape(shownKey(s.focused.err)))
	case len(s.errs) > 0:
		// The first problem cut beside its field is the one to read here.
		key, msg := s.errs[0].Key, s.errs[0].Msg
		for _, f := range s.fields {
			if f.cut {
				key, msg = f.keys[0], f.err
				break
			}
		}
		fmt.Fprintf(&b, " %s%s %d problem(s)%s, %s: %s", tagBad, symBad, len(s.errs), tagOff,
			shownKey(key), tview.Escape(shownKey(msg)))
	default:
		fmt.Fprintf(&b, " %s%s no problems%s; F9 saves to %s", tagOK, symOK, tagOff, tview.Escape(orNone(s.path)))
	}
	s.msg.SetText(b.String())
}

// key handles the settings screen's keys.
func (s *settingsScreen) key(ev *tcell.EventKey) *tcell.EventKey {
	switch {
	case ev.Key() == tcell.KeyF9, isAlt(ev, 'w'):
		s.guardedSave()
	case isAlt(ev, 'n'):
		s.addRule()
	case isAlt(ev, 'k'):
		s.removeRule()
	case isAlt(ev, 'l'):
		s.detect()
	default:
		return ev
	}
	return nil
}

// save validates and writes the file, changing only what was edited, then
// hands a copy to OnSave and says in plain words what was saved, what is
// in effect now and what waits for a restart.
func (s *settingsScreen) save() {
	s.validate()
	switch {
	case len(s.errs) > 0:
		s.note = fmt.Sprintf(" %s%s Not saved:%s %d problem(s), first %s: %s", tagBad, symBad, tagOff,
			len(s.errs), s.errs[0].Key, tview.Escape(s.errs[0].Msg))
		s.focusKey(s.errs[0].Key)
	case s.path == "":
		s.note = fmt.Sprintf(" %s%s Not saved:%s no configuration file was given (posagent run --config FILE)", tagBad, symBad, tagOff)
	default:
		c := cloneConfig(s.cfg)
		for i, r := range c.Coupons {
			var buf bytes.Buffer
			if len(r.TplParams) > 0 && json.Compact(&buf, r.TplParams) == nil {
				c.Coupons[i].TplParams = buf.Bytes()
			}
		}
		if s.newPIN != "" {
			h, err := staffpin.Hash(s.newPIN)
			if err != nil {
				s.note = fmt.Sprintf(" %s%s Not saved:%s staff_pin: %s", tagBad, symBad, tagOff, tview.Escape(err.Error()))
				break
			}
			c.StaffPIN = h
		}
		changed, err := saveMerged(s.path, s.orig, c)
		if err != nil {
			s.note = fmt.Sprintf(" %s%s %s%s", tagBad, symBad, tagOff, tview.Escape(err.Error()))
			break
		}
		s.orig, s.cfg = cloneConfig(c), c
		s.newPIN, s.dirty = "", false
		s.app.staffPIN = c.StaffPIN
		if len(changed) == 0 {
			s.note = fmt.Sprintf(" %s%s Nothing to save:%s no setting differs from %s.", tagOK, symOK, tagOff, tview.Escape(filepath.Base(s.path)))
			break
		}
		s.note = fmt.Sprintf(" %s%s Saved%s %s to %s.", tagOK, symOK, tagOff, tview.Escape(strings.Join(changed, ", ")), tview.Escape(filepath.Base(s.path)))
		if s.onSave != nil {
			s.note += applied(changed, s.onSave)(cloneConfig(c))
		}
		// The cursor stays on the field being edited (the PIN dialog
		// may have had the focus meanwhile: the field is the one
		// focused last).
		s.build(max(slices.Index(s.fields, s.focused), 0))
	}
	s.showMessage()
}

// applied hands the saved configuration to onSave and says what is in
// effect now and what waits for a restart.
func applied(changed []string, onSave func(*config.Config) ([]string, error)) func(*config.Config) string {
	return func(c *config.Config) string {
		restart, err := onSave(c)
		if err != nil {
			return fmt.Sprintf(" %sNothing applied yet:%s %s", tagWarn, tagOff, tview.Escape(err.Error()))
		}
		var now []string
		for _, k := range changed {
			if !slices.Contains(restart, k) {
				now = append(now, k)
			}
		}
		var b strings.Builder
		if len(now) > 0 {
			fmt.Fprintf(&b, " In effect now: %s.", tview.Escape(strings.Join(now, ", ")))
		}
		if len(restart) > 0 {
			fmt.Fprintf(&b, " %sAfter a restart of posagent:%s %s.", tagWarn, tagOff, tview.Escape(strings.Join(restart, ", ")))
		}
		return b.String()
	}
}

// focusKey moves the focus to the field that edits key.
func (s *settingsScreen) focusKey(key string) {
	for i, f := range s.fields {
		if slices.Contains(f.keys, key) {
			s.form.SetFocus(i)
			s.app.tv.SetFocus(s.form)
			return
		}
	}
}

func (s *settingsScreen) addRule() {
	s.cfg.Coupons = append(s.cfg.Coupons, config.CouponRule{})
	s.note = ""
	s.build(len(s.fields)) // the new rule's first field
}

// removeRule removes the rule a field was last focused in, after asking.
func (s *settingsScreen) removeRule() {
	i := s.lastRule
	if len(s.cfg.Coupons) == 1 {
		i = 0
	}
	if i < 0 || i >= len(s.cfg.Coupons) {
		s.note = " Move to a field of the rule to remove, then press Alt-K."
		s.showMessage()
		return
	}
	r := s.cfg.Coupons[i]
	what := "any user"
	if r.Match.SchoolStdCode != "" {
		what = "school " + r.Match.SchoolStdCode
	}
	s.app.ask(fmt.Sprintf("Remove coupon rule %d (%s, template %s)?", i+1, what, orNone(r.TplID)),
		[]string{"Remove", "Keep"}, func(button string) {
			if button != "Remove" {
				return
			}
			s.cfg.Coupons = slices.Delete(s.cfg.Coupons, i, i+1)
			s.lastRule = -1
			s.note = fmt.Sprintf(" Rule %d removed; F9 saves.", i+1)
			s.build(0)
		})
}

// detect is filled in by the scanner picker (scannerpick.go).
func (s *settingsScreen) detect() {
	s.app.pickScanner(s)
}

// setScanner fills the scanner fields from a picked device.
func (s *settingsScreen) setScanner(sc config.Scanner) {
	s.cfg.Scanner = sc
	s.note = ""
	s.build(slices.IndexFunc(s.fields, func(f *field) bool { return slices.Contains(f.keys, "scanner.kind") }))
}

func digitsOnly(text string, _ rune) bool {
	for _, r := range text {
		if r < '0' || r > '9' {
			return false
		}
	}
	return len(text) <= 7
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// cloneConfig copies c deeply enough that edits to the copy never reach c.
func cloneConfig(c *config.Config) *config.Config {
	d := *c
	d.Coupons = slices.Clone(c.Coupons)
	for i := range d.Coupons {
		d.Coupons[i].TplParams = bytes.Clone(d.Coupons[i].TplParams)
	}
	return &d
}
