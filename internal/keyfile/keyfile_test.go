package keyfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The first Load makes a private key file; later ones read the same key.
func TestLoadMakesThenKeeps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != Size || bytes.Equal(k1, make([]byte, Size)) {
		t.Fatalf("key %x, want %d random bytes", k1, Size)
	}
	fi, err := os.Stat(filepath.Join(dir, Name))
	if err != nil || fi.Mode() != 0o600 {
		t.Errorf("key file mode %v (%v), want 0600", fi.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data dir holds %d files, want only the key", len(entries))
	}
	k2, err := Load(dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("second Load = %x, %v; want the same key", k2, err)
	}
}

// A key file of the wrong size is an error naming it, and is not replaced.
func TestLoadDamaged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, Name)
	for _, content := range [][]byte{nil, []byte("short")} {
		os.WriteFile(path, content, 0o600)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move it aside") {
			t.Errorf("Load of a %d-byte key file: %v, want an error naming it and what to do", len(content), err)
		}
		if b, _ := os.ReadFile(path); !bytes.Equal(b, content) {
			t.Error("the damaged key file was changed")
		}
	}
}
