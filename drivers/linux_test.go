package drivers

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The systemd unit in drivers/linux is what systemd accepts, with no key
// it ignores (a misspelt hardening key is silently dropped by systemd):
// `systemd-analyze verify` says nothing about it.
func TestSystemdUnitVerifies(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("linux", "posagent.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"User=posagent", "ProtectSystem=strict", "ReadWritePaths=/var/lib/posagent",
		"PrivateTmp=yes", "NoNewPrivileges=yes", "Restart=on-failure", "StandardOutput=null"} {
		if !strings.Contains(string(unit), "\n"+want+"\n") {
			t.Errorf("the unit lacks %s", want)
		}
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed here: the unit is not verified")
	}
	// verify checks that ExecStart's program exists: point it at one that
	// does.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	unitPath := filepath.Join(dir, "posagent.service")
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/posagent", self)
	if err := os.WriteFile(unitPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sa, "verify", unitPath)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
