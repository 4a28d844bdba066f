package ui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"posagent/internal/config"
	"posagent/internal/queue"
	"posagent/internal/staffpin"
)

// richConfig writes a configuration with relative paths, keys the screen
// does not show (api, payment) and mode 0640; it returns the path and the
// configuration as loaded.
func richConfig(t *testing.T) (string, *config.Config) {
	t.Helper()
	data, err := os.ReadFile("testdata/settings.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	raw["api"] = json.RawMessage(`{"listen": "127.0.0.1:7450", "allow_origins": ["http://pos.local"]}`)
	raw["payment"] = json.RawMessage(`{"buyer_wait_seconds": 45}`)
	data, err = json.MarshalIndent(raw, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "posagent.json")
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

// TestSettingsSaveKeepsTheFile: a save changes only the edited key: the
// relative paths, the keys the screen does not show and the file's mode
// stay; the message says what was saved and what waits for a restart.
func TestSettingsSaveKeepsTheFile(t *testing.T) {
	path, cfg := richConfig(t)
	onSave := func(*config.Config) ([]string, error) { return []string{"terminal_id"}, nil }
	h := start(t, Deps{Config: cfg, ConfigPath: path, OnSave: onSave}, 100, 30)
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	h.waitFor(t, "gateway_url")
	h.focusField(t, "terminal_id")
	h.typeText("b")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Saved terminal_id to", "restart of posagent: terminal_id.")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", info.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	for _, want := range []string{`"terminal_id": "store12-till3b"`, `"app_private_key": "keys/app_private.pem"`, `"data_dir": "data"`,
		`"allow_origins": [`, `"buyer_wait_seconds": 45`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("saved file lacks %s:\n%s", want, data)
		}
	}
}

// TestSettingsLeaveAsks: leaving with unsaved edits asks; Stay stays, Save
// saves and leaves.
func TestSettingsLeaveAsks(t *testing.T) {
	path, cfg := richConfig(t)
	h := start(t, Deps{Config: cfg, ConfigPath: path}, 100, 30)
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	h.waitFor(t, "gateway_url")
	h.focusField(t, "terminal_id")
	h.typeText("c")
	h.key(tcell.KeyF2, 0, tcell.ModNone)
	h.waitFor(t, "The settings have changes that")
	h.key(tcell.KeyEscape, 0, tcell.ModNone) // as Stay
	h.waitFor(t, "store12-till3c")
	h.key(tcell.KeyF2, 0, tcell.ModNone)
	h.waitFor(t, "The settings have changes that")
	h.key(tcell.KeyEnter, 0, tcell.ModNone) // Save
	h.waitFor(t, "Last scans")
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), "store12-till3c") {
		t.Fatalf("not saved:\n%s", data)
	}
}

// TestStaffPIN: with a PIN set, saving settings, dropping a queue job and
// quitting ask for it (a wrong one does nothing); the cashier's screens
// do not. A new PIN set in Settings is saved as a hash, never in clear.
func TestStaffPIN(t *testing.T) {
	path, cfg := richConfig(t)
	hash, err := staffpin.Hash("4821")
	if err != nil {
		t.Fatal(err)
	}
	fq := &fakeQueue{called: make(chan struct{}, 4), dead: []queue.Job{{ID: "9", Kind: "coupon", State: queue.StateDead, Created: time.Now()}}}
	h := start(t, Deps{Config: cfg, ConfigPath: path, StaffPIN: hash, Queue: fq}, 100, 30)
	h.waitFor(t, "Last scans")

	// Drop a dead job: confirm, then the PIN; a wrong PIN does nothing.
	h.key(tcell.KeyF3, 0, tcell.ModNone)
	h.waitFor(t, "DEAD")
	h.key(tcell.KeyRune, 'd', tcell.ModAlt)
	h.waitFor(t, "Drop dead job 9")
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	h.waitFor(t, "Drop job 9: staff PIN")
	h.typeText("1111")
	h.key(tcell.KeyEnter, 0, tcell.ModNone) // submits
	h.waitFor(t, "wrong PIN")
	if calls := fq.recorded(); len(calls) != 0 {
		t.Fatalf("dropped with a wrong PIN: %v", calls)
	}
	h.typeText("4821") // the cursor is still in the field
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	select {
	case <-fq.called:
	case <-time.After(waitLimit):
		t.Fatal("Drop was not called after the right PIN")
	}

	// Set a new PIN from Settings: saving asks for the current one.
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	h.waitFor(t, "gateway_url")
	h.focusField(t, "staff_pin (new PIN)")
	h.typeText("12")
	h.waitFor(t, "a PIN is 4 to 12 digits")
	h.typeText("3456")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Save settings: staff PIN")
	h.typeText("4821")
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	h.waitFor(t, "Saved staff_pin to")
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "123456") || !strings.Contains(string(data), `"staff_pin": "pbkdf2-sha256$`) {
		t.Fatalf("staff_pin saved as:\n%s", data)
	}
	saved, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := staffpin.Match(saved.StaffPIN, "123456"); !ok {
		t.Fatal("the saved hash does not match the new PIN")
	}

	// Quitting asks for the new PIN.
	h.key(tcell.KeyF2, 0, tcell.ModNone)
	h.waitFor(t, "Last scans")
	h.key(tcell.KeyF10, 0, tcell.ModNone)
	h.waitFor(t, "Quit posagent: staff PIN")
	h.typeText("123456")
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	if err := h.waitExit(t); err != nil {
		t.Fatal(err)
	}
}

// TestSettingsSaveKeepsCursorAndRefusedSaveStillAsks: after F9 the cursor
// stays on the field being edited; after a refused save, leaving still
// asks what to do with the changes.
func TestSettingsSaveKeepsCursorAndRefusedSaveStillAsks(t *testing.T) {
	path, cfg := richConfig(t)
	h := start(t, Deps{Config: cfg, ConfigPath: path}, 100, 30)
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	h.waitFor(t, "gateway_url")
	h.focusField(t, "terminal_id")
	h.typeText("d")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Saved terminal_id to")
	h.typeText("e")
	h.waitFor(t, "store12-till3de")

	// Refused: an invalid pay_pid.
	h.focusField(t, "pay_pid")
	h.key(tcell.KeyCtrlU, 0, tcell.ModCtrl)
	h.typeText("12345")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Not saved")
	h.key(tcell.KeyF2, 0, tcell.ModNone)
	h.waitFor(t, "The settings have changes that")
	h.key(tcell.KeyRight, 0, tcell.ModNone)
	h.key(tcell.KeyRight, 0, tcell.ModNone)
	h.key(tcell.KeyEnter, 0, tcell.ModNone) // Stay
	h.waitFor(t, "pay_pid")
	// Save refused from the question: leaving asks again.
	h.key(tcell.KeyF2, 0, tcell.ModNone)
	h.waitFor(t, "The settings have changes that")
	h.key(tcell.KeyEnter, 0, tcell.ModNone) // Save: refused
	h.waitFor(t, "Not saved")
	h.key(tcell.KeyF2, 0, tcell.ModNone)
	h.waitFor(t, "The settings have changes that")
}

// TestSettingsWrongPINStillAsks: a save refused for a wrong PIN (or given
// up in the PIN dialog) keeps the changes, and leaving still asks.
func TestSettingsWrongPINStillAsks(t *testing.T) {
	path, cfg := richConfig(t)
	hash, err := staffpin.Hash("4821")
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, Deps{Config: cfg, ConfigPath: path, StaffPIN: hash}, 100, 30)
	h.key(tcell.KeyF4, 0, tcell.ModNone)
	h.waitFor(t, "gateway_url")
	h.focusField(t, "terminal_id")
	h.typeText("f")
	h.key(tcell.KeyF9, 0, tcell.ModNone)
	h.waitFor(t, "Save settings: staff PIN")
	h.typeText("1111")
	h.key(tcell.KeyEnter, 0, tcell.ModNone)
	h.waitFor(t, "wrong PIN")
	h.key(tcell.KeyF2, 0, tcell.ModNone)
	h.waitFor(t, "The settings have changes that")
}

// TestTooSmallRefusesF10: below 80x24 the screen says what F10 does, and
// F10 opens no PIN prompt no one could see: it is refused with words. At
// 80x24 it asks for the PIN.
func TestTooSmallRefusesF10(t *testing.T) {
	hash, err := staffpin.Hash("4821")
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, Deps{StaffPIN: hash}, 79, 24)
	h.waitFor(t, "Terminal too small", "F10 (quit) asks for", "the staff PIN, which needs 80x24.")
	h.key(tcell.KeyF10, 0, tcell.ModNone)
	h.waitFor(t, "F10 refused: make the window 80x24 first.")
	open := make(chan bool, 1)
	h.onUI(func() { open <- h.app.pages.HasPage(pagePIN) })
	if <-open {
		t.Fatal("F10 opened a PIN prompt on the too-small screen")
	}
	h.screen.SetSize(80, 24)
	if err := h.screen.PostEvent(tcell.NewEventResize(80, 24)); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "Last scans")
	h.key(tcell.KeyF10, 0, tcell.ModNone)
	h.waitFor(t, "Quit posagent: staff PIN")
}
