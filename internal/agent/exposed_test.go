package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A private key or data_dir that other users may read is warned about at
// start, naming it and the fix; private ones are not.
func TestWarnsWhenReadableByOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes do not say who may read on Windows")
	}
	srv := newServer(t)
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "app.pem")
	data := filepath.Join(dir, "data")
	os.WriteFile(keyPath, []byte("key"), 0o644)
	os.MkdirAll(data, 0o755)
	os.Chmod(data, 0o755)
	var logged bytes.Buffer
	a := newAgentOpts(t, srv, data, make(feed), func(o *Options) {
		o.Config.AppPrivateKey = keyPath
		o.Log = slog.New(slog.NewTextHandler(&logged, nil))
	})
	a.Close()
	for _, want := range []string{"app_private_key " + keyPath + " has mode -rw-r--r--", "chmod 600 " + keyPath, "data_dir " + data, "chmod 700 " + data} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
	os.Chmod(keyPath, 0o600)
	os.Chmod(data, 0o700)
	logged.Reset()
	b := newAgentOpts(t, srv, data, make(feed), func(o *Options) {
		o.Config.AppPrivateKey = keyPath
		o.Log = slog.New(slog.NewTextHandler(&logged, nil))
	})
	b.Close()
	if strings.Contains(logged.String(), "other users") {
		t.Errorf("warned about private files:\n%s", logged.String())
	}
}
