// Package logfile is a size-bounded log file. With the TUI on screen, logs
// must not be written over it, so they go to a file in data_dir; a cashier PC
// runs for months, so the file must not grow without bound.
package logfile

import (
	"fmt"
	"os"
	"sync"
)

// DefaultMax is the size at which the file is rotated. Two files of it are
// kept: the current one and the one before (".1").
const DefaultMax = 4 << 20

// File is an append-only log file that rotates to path+".1" when a write
// would take it past its maximum. It is safe for concurrent use.
type File struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

// Open opens (or creates) the log at path, appending. max <= 0 means
// DefaultMax.
func Open(path string, max int64) (*File, error) {
	if max <= 0 {
		max = DefaultMax
	}
	l := &File{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *File) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log file: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Write appends p, rotating first if p would not fit. A single write larger
// than the maximum is cut to it: one runaway line must not push out all the
// history.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	n := len(p)
	if int64(len(p)) > l.max {
		p = p[:l.max]
	}
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	w, err := l.f.Write(p)
	l.size += int64(w)
	if err != nil {
		return w, fmt.Errorf("log file: %w", err)
	}
	return n, nil
}

func (l *File) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	l.f = nil
	// Windows cannot rename over an existing file.
	os.Remove(l.path + ".1")
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("log file: rotate: %w", err)
	}
	return l.open()
}

// Close closes the file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
