package dbfile

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen: whatever bytes are in the file, Open either opens it or
// returns ErrCorrupt naming it; it never crashes the process, and never
// changes the file.
func FuzzOpen(f *testing.F) {
	good := valid(f, 20)
	// Only the pages in use: the rest is the 16 MiB the file was extended
	// to, zeros, and too much for the fuzzer to mutate.
	good = good[:binary.LittleEndian.Uint64(good[offPgid:])*4096+4096]
	f.Add(good)
	f.Add(good[:8192])
	f.Add(good[:4*4096])
	f.Add([]byte{})
	f.Add([]byte("bolt"))
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(t.TempDir(), "posagent.db")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{ReadOnly: true})
		if err == nil {
			db.Close()
			return
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open: %v, want ErrCorrupt", err)
		}
	})
}
