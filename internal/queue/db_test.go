package queue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second open of a held database fails in about a second, naming the
// holder's pid, instead of waiting for the lock forever.
func TestOpenDBAlreadyRunning(t *testing.T) {
	db, path := tempDB(t)
	_ = db
	start := time.Now()
	second, err := OpenDB(path)
	took := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatal("second OpenDB succeeded")
	}
	want := fmt.Sprintf("posagent is already running (pid %d) on %s", os.Getpid(), path)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), want) {
		t.Errorf("second OpenDB: %v\nwant it to say %q", err, want)
	}
	if took > 2500*time.Millisecond {
		t.Errorf("second OpenDB took %v, want about a second", took)
	}
}

// A file that is not a readable database is reported with its path and
// what to do, and is left exactly as it was.
func TestOpenDBCorrupt(t *testing.T) {
	valid := func(t *testing.T) []byte {
		dir := t.TempDir()
		db, err := OpenDB(filepath.Join(dir, "v.db"))
		if err != nil {
			t.Fatal(err)
		}
		q, err := New(db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			mustEnqueue(t, q, Job{Kind: "k", Payload: bytes.Repeat([]byte{byte(i)}, 500)})
		}
		db.Close()
		b, err := os.ReadFile(filepath.Join(dir, "v.db"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		content func(t *testing.T) []byte
	}{
		{"text file", func(*testing.T) []byte { return []byte(strings.Repeat("not a database\n", 2000)) }},
		{"short file", func(*testing.T) []byte { return []byte("bolt") }},
		{"both meta pages damaged", func(t *testing.T) []byte {
			b := valid(t)
			for i := 16; i < 8192; i += 4096 {
				copy(b[i:i+64], bytes.Repeat([]byte{0xA5}, 64)) // inside meta 0 and meta 1
			}
			return b
		}},
		{"tree pages damaged", func(t *testing.T) []byte {
			b := valid(t)
			// meta 0: 16-byte page header, then magic, version, page size,
			// flags (4 bytes each), root bucket (16), freelist page id.
			freelist := binary.LittleEndian.Uint64(b[16+16+16:])
			for pg := uint64(2); pg < uint64(len(b)/4096); pg++ {
				if pg != freelist {
					copy(b[pg*4096+16:pg*4096+48], bytes.Repeat([]byte{0xFF}, 32)) // first element headers
				}
			}
			return b
		}},
		{"all data pages damaged", func(t *testing.T) []byte {
			b := valid(t)
			for i := 4 * 4096; i < len(b); i += 4096 {
				copy(b[i:i+16], bytes.Repeat([]byte{0xFF}, 16)) // page headers
			}
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "posagent.db")
			content := tc.content(t)
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := OpenDB(path)
			if err == nil {
				db.Close()
				t.Fatal("OpenDB of a damaged file succeeded")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move it aside") {
				t.Errorf("OpenDB: %v\nwant ErrCorrupt naming %s and what to do", err, path)
			}
			t.Log(err)
			after, rerr := os.ReadFile(path)
			if rerr != nil || !bytes.Equal(after, content) {
				t.Errorf("the damaged file was changed (%v)", rerr)
			}
		})
	}
}

func TestOpenDBPathIsADirectory(t *testing.T) {
	path := t.TempDir()
	if db, err := OpenDB(path); err == nil || !strings.Contains(err.Error(), path) {
		if db != nil {
			db.Close()
		}
		t.Errorf("OpenDB of a directory: %v, want an error naming %s", err, path)
	}
}
