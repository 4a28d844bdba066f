package ui

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"

	"posagent/drivers"
	"posagent/internal/config"
	"posagent/internal/scanner"
)

// row returns the first screen line holding s.
func row(screen, s string) string {
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// focusField tabs from the first settings field to the one labelled label.
func (h *harness) focusField(t *testing.T, label string) {
	t.Helper()
	var i int
	h.app.tv.QueueUpdate(func() {
		i = h.app.settings.form.GetFormItemIndex(label)
		h.app.settings.form.SetFocus(0)
		h.app.tv.SetFocus(h.app.settings.form)
	})
	if i < 0 {
		t.Fatalf("no settings field %q", label)
	}
	for range i {
		h.key(tcell.KeyTab, 0, tcell.ModNone)
	}
}

// copyConfig puts testdata/settings.json into a fresh directory.
func copyConfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("testdata/settings.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "posagent.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSettingsValidatesAndSaves(t *testing.T) {
	path := copyConfig(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	applied := make(chan *config.Config, 1)
	h := start(t, Deps{Config: cfg, ConfigPath: path, OnSave: func(c *config.Config) ([]string, error) {
		applied <- c
		return nil, nil
	}}, 100, 30)
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	h.waitFor(t, "Settings", "no problems")

	// An invalid value shows its error beside the field, and blocks saving.
	h.focusField(t, "pay_pid")
	h.key(tcell.KeyCtrlU, 0, tcell.ModCtrl)
	h.typeText("12345")
	screen := h.waitFor(t, `"12345": an Alipay PID`)
	if r := row(screen, "pay_pid"); !strings.Contains(r, "12345") || !strings.Contains(r, "✗") {
		t.Fatalf("pay_pid row has no error beside the field: %q\n%s", r, screen)
	}
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Not saved")
	if got, _ := os.ReadFile(path); !strings.Contains(string(got), "2088702093900999") {
		t.Fatal("the file changed although the form was invalid")
	}

	h.key(tcell.KeyCtrlU, 0, tcell.ModCtrl)
	h.typeText("2088702093900111")
	screen = h.waitFor(t, "no problems")
	if r := row(screen, "pay_pid"); strings.Contains(r, "✗") {
		t.Fatalf("pay_pid still shows an error: %q", r)
	}

	// A new coupon rule with bad tpl_params is refused beside the field.
	h.key(tcell.KeyRune, 'n', tcell.ModAlt)
	h.waitFor(t, "rule 2 school_std_code")
	h.typeText("S-2")
	h.key(tcell.KeyTab, 0, tcell.ModNone) // any_user
	h.key(tcell.KeyTab, 0, tcell.ModNone) // tpl_id
	h.typeText("tplNew")
	h.key(tcell.KeyTab, 0, tcell.ModNone) // tpl_params
	h.typeText(`{bad`)
	screen = h.waitFor(t, "{bad", "must be a JSON object")
	if r := row(screen, "rule 2 tpl_params"); !strings.Contains(r, "✗") {
		t.Fatalf("tpl_params row has no error: %q", r)
	}
	h.key(tcell.KeyCtrlU, 0, tcell.ModCtrl)
	h.typeText(`{"title": "new"}`)
	h.waitFor(t, "no problems")

	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Saved coupons, pay_pid to", "effect now: coupons, pay_pid.")

	want := *cfg
	want.PayPID = "2088702093900111"
	want.Coupons = append(cfg.Coupons[:1:1], config.CouponRule{
		Match: config.Match{SchoolStdCode: "S-2"}, TplID: "tplNew", TplParams: []byte(`{"title":"new"}`)})
	got, err := config.Load(path)
	if err != nil {
		t.Fatalf("saved file does not load: %v", err)
	}
	if !reflect.DeepEqual(compact(t, got), compact(t, &want)) {
		t.Fatalf("saved file loads as\n%+v\nwant\n%+v", got, &want)
	}
	if c := <-applied; !reflect.DeepEqual(compact(t, c), compact(t, &want)) {
		t.Fatalf("OnSave got\n%+v\nwant\n%+v", c, &want)
	}
}

// compact returns c with its tpl_params in compact JSON: Save indents the
// file, which changes the bytes of a json.RawMessage but not its meaning.
func compact(t *testing.T, c *config.Config) *config.Config {
	t.Helper()
	d := cloneConfig(c)
	for i, r := range d.Coupons {
		var b bytes.Buffer
		if err := json.Compact(&b, r.TplParams); err != nil {
			t.Fatalf("rule %d tpl_params: %v", i, err)
		}
		d.Coupons[i].TplParams = b.Bytes()
	}
	return d
}

func TestMenuClickOpensSettingsAndKeysFollow(t *testing.T) {
	path := copyConfig(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, Deps{Config: cfg, ConfigPath: path}, 100, 30)
	menu := strings.SplitN(h.waitFor(t, "F4 Setup"), "\n", 2)[0]
	x := len([]rune(menu[:strings.Index(menu, "Setup")]))
	h.screen.InjectMouse(x, 0, tcell.ButtonPrimary, tcell.ModNone)
	h.screen.InjectMouse(x, 0, tcell.ButtonNone, tcell.ModNone)
	h.waitFor(t, "Settings — ")
	h.typeText("Z")
	h.waitFor(t, "gateway.doZ")
}

func TestSettingsPicksDetectedScanner(t *testing.T) {
	path := copyConfig(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	lister := func() ([]scanner.Device, error) {
		return []scanner.Device{
			{Kind: "serial", Path: "/dev/ttyACM1", VID: 0x05e0, PID: 0x1900, Product: "DS2208", Manufacturer: "Zebra",
				Mode: drivers.ModeCDC, Profile: &drivers.Profile{Name: "zebra-ds2208-cdc", Terminator: "CR"}},
			{Kind: "hid", Path: "1-2:1.0", VID: 0x1eab, PID: 0x8203, Mode: drivers.ModeHIDPOS,
				Profile: &drivers.Profile{Name: "newland-hidpos", Terminator: "none"}},
		}, nil
	}
	h := start(t, Deps{Config: cfg, ConfigPath: path, Scanners: lister}, 100, 30)
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	h.key(tcell.KeyRune, 'l', tcell.ModAlt)
	h.waitFor(t, "Detected scanners", "serial  /dev/ttyACM1  05e0:1900", "Zebra DS2208, mode cdc, profile zebra-ds2208-cdc",
		"hid  1-2:1.0  1eab:8203")
	h.key(tcell.KeyDown, 0, tcell.ModNone)
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	h.waitFor(t, "Scanner set from 1-2:1.0")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Saved")
	got, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Scanner{Kind: "hid", VID: "1eab", PID: "8203", Profile: "newland-hidpos"}
	if got.Scanner != want {
		t.Fatalf("scanner saved as %+v, want %+v", got.Scanner, want)
	}
}

// A build without HID support still offers the serial ports, and says
// loudly that HID scanners cannot be listed.
func TestSettingsScannerPickerWithoutHID(t *testing.T) {
	path := copyConfig(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	lister := func() ([]scanner.Device, error) {
		return []scanner.Device{{Kind: "serial", Path: "/dev/ttyACM1", Mode: drivers.ModeCDC}}, scanner.ErrHIDUnsupported
	}
	h := start(t, Deps{Config: cfg, ConfigPath: path, Scanners: lister}, 120, 30)
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	h.key(tcell.KeyRune, 'l', tcell.ModAlt)
	h.waitFor(t, "HID SUPPORT NOT BUILT IN", "serial  /dev/ttyACM1")
}

// A key-file path longer than the field's width with an error shows in full
// when the field has none: staff must see which file is configured.
func TestSettingsShowsLongPathInFull(t *testing.T) {
	path := copyConfig(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AppPrivateKey = "/var/lib/posagent/store-0042/keys/app_private_key_2026_rsa2048.pem"
	h := start(t, Deps{Config: cfg, ConfigPath: path}, 120, 30)
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	screen := h.waitFor(t, "Settings", "no problems")
	if r := row(screen, "app_private_key"); !strings.Contains(r, cfg.AppPrivateKey) {
		t.Fatalf("app_private_key row cuts the path: %q", r)
	}
}
