package logfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRotatesAtMax(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.log")
	l, err := Open(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(strings.Repeat("x", 39) + "\n") // 40 bytes
	for i := range 7 {
		if n, err := l.Write(line); err != nil || n != len(line) {
			t.Fatalf("write %d = %d, %v", i, n, err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cur, _ := os.ReadFile(path)
	old, _ := os.ReadFile(path + ".1")
	// 7 lines of 40 bytes, 2 per file: 2 in .1, 1 in the current one.
	if len(cur) != 40 || len(old) != 80 {
		t.Errorf("current %d bytes, .1 %d bytes; want 40 and 80", len(cur), len(old))
	}
}

func TestAppendsAcrossOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.log")
	for _, s := range []string{"one\n", "two\n"} {
		l, err := Open(path, 0)
		if err != nil {
			t.Fatal(err)
		}
		l.Write([]byte(s))
		l.Close()
	}
	if got, _ := os.ReadFile(path); string(got) != "one\ntwo\n" {
		t.Errorf("file %q", got)
	}
}

func TestHugeWriteIsCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.log")
	l, _ := Open(path, 10)
	defer l.Close()
	if n, err := l.Write(bytes.Repeat([]byte("y"), 25)); err != nil || n != 25 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if got, _ := os.ReadFile(path); len(got) != 10 {
		t.Errorf("file holds %d bytes, want the cut 10", len(got))
	}
	l.Close()
	if _, err := l.Write([]byte("z")); err == nil {
		t.Error("write after Close: no error")
	}
}
