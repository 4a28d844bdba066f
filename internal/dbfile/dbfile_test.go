package dbfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// open opens path read-write and closes it at the end of the test.
func open(t testing.TB, path string) *bbolt.DB {
	t.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// valid returns the bytes of a closed database holding n values of 500
// bytes in a bucket, as the queue would leave it: mapped and grown to 16
// MiB.
func valid(t testing.TB, n int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "v.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("queue.jobs"))
		if err != nil {
			return err
		}
		for i := range n {
			if err := b.Put(binary.BigEndian.AppendUint64(nil, uint64(i)), bytes.Repeat([]byte{byte(i)}, 500)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A second open of a held database fails in about a second, naming the
// holder's pid, instead of waiting for the lock forever; read-only too.
func TestOpenAlreadyRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	open(t, path)
	for _, o := range []Options{{}, {ReadOnly: true}} {
		start := time.Now()
		second, err := Open(path, o)
		took := time.Since(start)
		if err == nil {
			second.Close()
			t.Fatalf("second Open (%+v) succeeded", o)
		}
		want := fmt.Sprintf("posagent is already running (pid %d) on %s", os.Getpid(), path)
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), want) {
			t.Errorf("second Open (%+v): %v\nwant it to say %q", o, err, want)
		}
		if took > 2500*time.Millisecond {
			t.Errorf("second Open (%+v) took %v, want about a second", o, took)
		}
	}
}

// A file that is not a whole, readable database is reported with its path
// and what to do, is left exactly as it was, and never crashes the process:
// a file cut short used to be mapped 16 MiB and read past its end (SIGBUS).
func TestOpenDamaged(t *testing.T) {
	cut := func(n int) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return valid(t, 50)[:n] }
	}
	for _, tc := range []struct {
		name    string
		content func(t *testing.T) []byte
	}{
		{"empty file", func(*testing.T) []byte { return nil }},
		{"text file", func(*testing.T) []byte { return []byte(strings.Repeat("not a database\n", 2000)) }},
		{"short file", func(*testing.T) []byte { return []byte("bolt") }},
		{"cut to one page", cut(4096)},
		{"cut to 8 KiB", cut(8192)},
		{"cut to 12 KiB", cut(12288)},
		{"cut to 40 KiB", cut(40960)},
		{"cut one page short", func(t *testing.T) []byte {
			b := valid(t, 50)
			pgid := max(binary.LittleEndian.Uint64(b[offPgid:]), binary.LittleEndian.Uint64(b[4096+offPgid:]))
			return b[:(pgid-1)*4096]
		}},
		{"both meta pages damaged", func(t *testing.T) []byte {
			b := valid(t, 50)
			for i := 16; i < 8192; i += 4096 {
				copy(b[i:i+64], bytes.Repeat([]byte{0xA5}, 64))
			}
			return b
		}},
		{"tree pages damaged", func(t *testing.T) []byte {
			b := valid(t, 50)
			freelist := binary.LittleEndian.Uint64(b[offFreelist:])
			for pg := uint64(2); pg < uint64(len(b)/4096); pg++ {
				if pg != freelist {
					copy(b[pg*4096+16:pg*4096+48], bytes.Repeat([]byte{0xFF}, 32)) // first element headers
				}
			}
			return b
		}},
		{"all data pages damaged", func(t *testing.T) []byte {
			b := valid(t, 50)
			for i := 4 * 4096; i < len(b); i += 4096 {
				copy(b[i:i+16], bytes.Repeat([]byte{0xFF}, 16)) // page headers
			}
			return b
		}},
	} {
		for _, o := range []Options{{}, {ReadOnly: true}} {
			t.Run(fmt.Sprintf("%s/readonly=%v", tc.name, o.ReadOnly), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "posagent.db")
				content := tc.content(t)
				if err := os.WriteFile(path, content, 0o600); err != nil {
					t.Fatal(err)
				}
				db, err := Open(path, o)
				if err == nil {
					db.Close()
					t.Fatal("Open of a damaged file succeeded")
				}
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move it aside") || !strings.Contains(err.Error(), "lost") {
					t.Errorf("Open: %v\nwant ErrCorrupt naming %s, what to do and what is lost", err, path)
				}
				after, rerr := os.ReadFile(path)
				if rerr != nil || !bytes.Equal(after, content) {
					t.Errorf("the damaged file was changed (%v)", rerr)
				}
				if _, err := os.Stat(PIDPath(path)); err == nil {
					t.Error("a pid file was written for a file that did not open")
				}
			})
		}
	}
}

func TestOpenPathIsADirectory(t *testing.T) {
	path := t.TempDir()
	if db, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), path) {
		if db != nil {
			db.Close()
		}
		t.Errorf("Open of a directory: %v, want an error naming %s", err, path)
	}
}

// A new database is made whole under another name and moved into place:
// afterwards only it and its pid file are there, private to the user.
func TestOpenCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "posagent.db")
	open(t, path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := "posagent.db posagent.db.pid"; strings.Join(names, " ") != want {
		t.Errorf("data dir holds %q, want %q", names, want)
	}
	for p, want := range map[string]fs.FileMode{dir: 0o700 | fs.ModeDir, path: 0o600, PIDPath(path): 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode(), err, want)
		}
	}
	if err := Check(path); err != nil {
		t.Errorf("Check of a new database: %v", err)
	}
}

// Read-only never creates or changes anything: not a missing file, not its
// directory, not a pid file, not the database's bytes or time.
func TestOpenReadOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "posagent.db")
	if db, err := Open(path, Options{ReadOnly: true}); err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		if db != nil {
			db.Close()
		}
		t.Fatalf("read-only Open of a missing file: %v, want an error naming %s", err, path)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read-only Open of a missing file made its directory (%v)", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	content := valid(t, 50)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bbolt.Tx) error {
		if n := tx.Bucket([]byte("queue.jobs")).Stats().KeyN; n != 50 {
			return fmt.Errorf("read %d values, want 50", n)
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Error(err)
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(after, content) {
		t.Errorf("read-only Open changed the file (%v)", err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("read-only Open touched the file: %v (%v)", fi.ModTime(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("read-only Open left %d files in the directory, want only the database", len(entries))
	}
}

// A pid file left by a dead process, a half-written one, or one that
// cannot be written (a full disk at start) never stops the next start: the
// file lock says who holds the database, the pid only names it.
func TestOpenStalePID(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
		warn  bool
	}{
		{"dead process", func(t *testing.T, path string) {
			os.WriteFile(PIDPath(path), []byte("4194304\n"), 0o600)
		}, false},
		{"half written", func(t *testing.T, path string) {
			os.WriteFile(PIDPath(path), []byte("41"), 0o600)
			os.WriteFile(PIDPath(path)+".tmp", nil, 0o400)
		}, false},
		{"cannot be written", func(t *testing.T, path string) {
			if err := os.MkdirAll(PIDPath(path)+".tmp/x", 0o700); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "posagent.db")
			db, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			tc.setup(t, path)
			var warned []error
			db, err = Open(path, Options{Warn: func(err error) { warned = append(warned, err) }})
			if err != nil {
				t.Fatalf("Open after a stale pid file: %v", err)
			}
			db.Close()
			if tc.warn != (len(warned) > 0) {
				t.Errorf("warnings %v, want some: %v", warned, tc.warn)
			}
			if !tc.warn {
				if b, _ := os.ReadFile(PIDPath(path)); string(b) != fmt.Sprintf("%d\n", os.Getpid()) {
					t.Errorf("pid file holds %q, want this process's pid", b)
				}
			}
		})
	}
}

// A full disk is reported as such, whatever operation met it.
func TestClassifyDiskFull(t *testing.T) {
	err := Classify(fmt.Errorf("record pid: %w", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}))
	if !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Classify(ENOSPC) = %v, want ErrDiskFull saying so", err)
	}
	if err := Classify(fs.ErrPermission); errors.Is(err, ErrDiskFull) {
		t.Errorf("Classify(permission) = %v, want it unchanged", err)
	}
}
