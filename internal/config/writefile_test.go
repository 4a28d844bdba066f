package config

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// WriteFileAtomic replaces the file whole, with the mode asked for, and
// leaves no temporary file behind, whether it succeeds or not.
func TestWriteFileAtomic(t *testing.T) {
	for _, tc := range []struct {
		name string
		perm os.FileMode
		old  bool
	}{
		{"new file", 0o600, false},
		{"over an old one", 0o640, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "posagent.json")
			if tc.old {
				if err := os.WriteFile(path, []byte("old and longer than the new"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFileAtomic(path, []byte("new"), tc.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != "new" {
				t.Fatalf("file %q, %v; want %q", got, err, "new")
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && info.Mode().Perm() != tc.perm {
				t.Errorf("mode %v, want %v", info.Mode().Perm(), tc.perm)
			}
			if es, _ := os.ReadDir(dir); len(es) != 1 {
				t.Errorf("%d files in the directory, want only the config", len(es))
			}
		})
	}
	// A directory that does not exist: an error naming the path, nothing written.
	path := filepath.Join(t.TempDir(), "missing", "posagent.json")
	if err := WriteFileAtomic(path, []byte("new"), 0o600); err == nil {
		t.Fatal("no error writing into a missing directory")
	}
}
