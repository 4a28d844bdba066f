package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmuxTerm is posagent running in a real terminal: a detached tmux session
// of a fixed size.
// terminalTestsEnv turns on the tests that drive posagent in tmux.
const terminalTestsEnv = "POSAGENT_TERMINAL_TESTS"

type tmuxTerm struct {
	t    *testing.T
	name string
}

// startTmux runs posagent with args in a w x h tmux session, ended with
// the test.
func startTmux(t *testing.T, w, h int, args ...string) *tmuxTerm {
	t.Helper()
	// The wedge tests judge keystroke timing in a real terminal: run in
	// parallel with the whole suite under the race detector, posagent can
	// be starved for longer than a scanner's key gap mid-burst, and the
	// test would measure the machine. .ci/run runs them on their own.
	if os.Getenv(terminalTestsEnv) == "" {
		t.Skipf("real-terminal test: run alone with %s=1 go test -run Tmux ./cmd/posagent (as .ci/run does)", terminalTestsEnv)
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	name := fmt.Sprintf("posagent-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	cmd := []string{"env", mainEnv + "=1", os.Args[0], "-test.run=^$", "--"}
	cmd = append(cmd, args...)
	out, err := exec.Command("tmux", append([]string{"new-session", "-d", "-s", name,
		"-x", fmt.Sprint(w), "-y", fmt.Sprint(h)}, cmd...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	term := &tmuxTerm{t: t, name: name}
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", name).Run() })
	return term
}

// keys sends tmux key names (F4, Enter) or, with literal, text as typed.
func (m *tmuxTerm) keys(literal bool, keys ...string) {
	m.t.Helper()
	args := []string{"send-keys", "-t", m.name}
	if literal {
		args = append(args, "-l")
	}
	if out, err := exec.Command("tmux", append(args, keys...)...).CombinedOutput(); err != nil {
		m.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
}

// screen is what the terminal shows.
func (m *tmuxTerm) screen() string {
	m.t.Helper()
	out, err := exec.Command("tmux", "capture-pane", "-p", "-t", m.name).Output()
	if err != nil {
		m.t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

// waitFor polls the terminal until ok holds for its screen; a terminal
// gives no other signal that it redrew.
func (m *tmuxTerm) waitFor(what string, ok func(screen string) bool) string {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := m.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("the terminal never showed %s; it shows:\n%s", what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *tmuxTerm) waitText(want string) string {
	m.t.Helper()
	return m.waitFor(fmt.Sprintf("%q", want), func(s string) bool { return strings.Contains(s, want) })
}

// typeSlowly types text as a person does, a key every 150 ms.
func (m *tmuxTerm) typeSlowly(text string) {
	for _, r := range text {
		m.keys(true, string(r))
		time.Sleep(150 * time.Millisecond) // a person's pace, not a wait
	}
}

var maskedUser = regexp.MustCompile(`2088[0-9]{0,4}[*•x]{4,}[0-9]{2,4}`)

// TestTmuxWedgeOnEveryScreen drives the real binary in a real 80x24
// terminal with a keyboard-wedge scanner: on each screen a code typed as a
// burst never lands in a field and is decoded (the customer shows, masked,
// on Checkout); a person typing slowly on Settings types into the field.
func TestTmuxWedgeOnEveryScreen(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real terminal for a minute")
	}
	m := startTmux(t, 80, 24, "demo", "--scanner", "wedge", "--data", t.TempDir())
	m.waitText("Scanner ✓ connected wedge")
	codes := []string{"281234567890123456", "287654321098765432", "251122334455667788", "300099887766554433", "261357924680135792",
		"289999000011112222", "281111222233334444", "282222333344445555", "283333444455556666"}
	for i, scr := range []struct{ key, shows string }{
		{"F2", "Last scans"}, {"F1", "Help — keys"}, {"F3", "Queue — pending"},
		{"F4", "gateway_url"}, {"F5", "apply_token"}, {"F6", "total_amount"},
		{"F7", "Pay — alipay.trade.pay"}, {"F8", "Event log"}, {"F12", "Scanner diagnostics"},
	} {
		m.keys(false, scr.key)
		m.waitText(scr.shows)
		m.keys(true, codes[i]+"\r") // one write, as a scanner types it
		m.keys(false, "F2")
		screen := m.waitText("DECODED")
		m.waitFor("the scan of "+codes[i][:2]+"…"+codes[i][14:], func(s string) bool {
			screen = s
			return strings.Contains(s, codes[i][:2]) && strings.Contains(s, codes[i][14:]) && maskedUser.MatchString(s)
		})
		if strings.Contains(screen, codes[i]) {
			t.Fatalf("%s: the full code is on the screen:\n%s", scr.key, screen)
		}
		m.keys(false, scr.key)
		if s := m.waitText(scr.shows); strings.Contains(s, codes[i][:10]) {
			t.Fatalf("%s: the burst was typed into the screen:\n%s", scr.key, s)
		}
	}
	m.keys(false, "F4")
	m.waitText("gateway_url")
	m.typeSlowly("/x1")
	m.waitFor("a person's typing in gateway_url", func(s string) bool {
		for _, line := range strings.Split(s, "\n") {
			if strings.Contains(line, "gateway_url") && strings.Contains(line, "/x1") {
				return true
			}
		}
		return false
	})
}

// TestTmuxLayout80x24: in a real 80x24 terminal the menu (with F10 Quit)
// is the first line and the status bar the last; smaller, the screen says
// it is too small; bigger again, the screens come back.
func TestTmuxLayout80x24(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real terminal")
	}
	m := startTmux(t, 80, 24, "demo", "--data", t.TempDir())
	screen := m.waitText("Scanner ✓ connected")
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(lines) != 24 || !strings.Contains(lines[0], "F10 Quit") || !strings.HasPrefix(lines[23], " Gateway") {
		t.Fatalf("menu or status bar missing at 80x24:\n%s", screen)
	}
	resize := func(w, h int) {
		t.Helper()
		if out, err := exec.Command("tmux", "resize-window", "-t", m.name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)).CombinedOutput(); err != nil {
			t.Skipf("tmux cannot resize: %v: %s", err, out)
		}
	}
	resize(70, 20)
	m.waitText("Terminal too small (need 80x24, have 70x20).")
	resize(80, 24)
	m.waitText("Last scans")
}
