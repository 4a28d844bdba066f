// Package dbfile opens posagent's bbolt database files: it checks a file
// before bbolt maps it, creates new ones so that a half-made file never
// passes for a database, takes the file lock, and records which process
// holds it. The queue, the sence ledger and the payment records share one
// such file; everything that opens it goes through Open.
package dbfile

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is wrapped by Open's error when another process holds the file.
var ErrLocked = errors.New("posagent is already running")

// ErrCorrupt is wrapped by Open's error when the file is not a whole,
// readable database.
var ErrCorrupt = errors.New("database file is damaged")

// ErrDiskFull is wrapped by errors caused by a full disk.
var ErrDiskFull = errors.New("disk full")

// lockTimeout is how long Open waits for another process's lock. bbolt
// without a timeout waits forever; a cashier starting posagent twice should
// be told at once.
const lockTimeout = time.Second

// initialMmapSize is how much of the file bbolt maps at open.
const initialMmapSize = 16 << 20

// Options tune Open.
type Options struct {
	// ReadOnly opens an existing file for reading only: nothing is
	// created or changed, not even the pid file, and a missing file is an
	// error. Another process's write lock makes it fail with ErrLocked.
	ReadOnly bool
	// Warn receives what goes wrong without stopping the open (the pid
	// file could not be written). Nil: dropped.
	Warn func(error)
}

// PIDPath is the file beside the database where the process holding it
// writes its process id, so that a second one can name it. A file rather
// than /proc or a lock query, because it works the same on Windows.
func PIDPath(dbPath string) string { return dbPath + ".pid" }

// Open opens the bbolt database at path, creating it (and its directory,
// 0700) if there is no file there.
//
// The file is checked before bbolt maps it: bbolt trusts the file's size
// and meta pages, and a file cut short (a copy that stopped, a full disk)
// otherwise kills the process with SIGBUS when a page past its end is read.
// A file that is empty, cut short, or otherwise not a readable database gets
// an error wrapping ErrCorrupt that names it and says what to do; it is
// never replaced or repaired. A new file is made under a temporary name and
// moved into place once whole, so an empty file at path always means a lost
// database, never a new one.
//
// A second process on the same file gets an error wrapping ErrLocked that
// names the running one's pid, after about a second instead of hanging on
// the file lock.
func Open(path string, o Options) (db *bbolt.DB, err error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !o.ReadOnly:
		if err := create(path); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("open database %s: %w", path, err)
	case fi.IsDir():
		return nil, fmt.Errorf("open database %s: it is a directory", path)
	}
	if err := Check(path); err != nil {
		return nil, err
	}
	// A damaged page can still point past the end of the file, or bbolt
	// can panic on it ("freepages: failed to get all reachable pages"):
	// both become the error that names the file, on this goroutine, which
	// does all the reading until the file is known whole.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if db != nil {
				db.Close()
			}
			db, err = nil, Damaged(path, fmt.Errorf("%v", r))
		}
	}()
	bo := &bbolt.Options{
		Timeout:  lockTimeout,
		ReadOnly: o.ReadOnly,
		// Not NoFreelistSync, though it would save a page write per
		// commit: bbolt then rebuilds the freelist at open by walking the
		// tree in a goroutine of its own that panics on a damaged page,
		// killing the process instead of reporting the file.
		FreelistType: bbolt.FreelistMapType,
	}
	if !o.ReadOnly {
		// Map 16 MiB from the start (the file is extended to that size,
		// sparsely where the file system can). Below AllocSize, also 16
		// MiB, bbolt grows a file by doubling its mapping, and each
		// doubling happens inside a commit: a remap that waits for every
		// read transaction to end, then a truncate and a full fsync. A
		// queue (MaxBytes 64 MiB) seldom outgrows this, so its commits
		// skip all of that, and no read transaction holds one up.
		bo.InitialMmapSize = initialMmapSize
	}
	db, err = bbolt.Open(path, 0o600, bo)
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, locked(path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return nil, Damaged(path, err)
	case err != nil:
		if strings.Contains(err.Error(), "file size too small") {
			return nil, Damaged(path, err)
		}
		return nil, fmt.Errorf("open database %s: %w", path, Classify(err))
	}
	if err := walk(db); err != nil {
		db.Close()
		return nil, Damaged(path, err)
	}
	if !o.ReadOnly {
		if err := writePID(path); err != nil && o.Warn != nil {
			o.Warn(err)
		}
	}
	return db, nil
}

func locked(path string) error {
	b, err := os.ReadFile(PIDPath(path))
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || perr != nil {
		return fmt.Errorf("%w (pid unknown) on %s: stop it first", ErrLocked, path)
	}
	return fmt.Errorf("%w (pid %d) on %s: stop it first", ErrLocked, pid, path)
}

// Damaged is the error for a database file at path that cannot be used
// because of cause: it names the file, says that posagent leaves it alone,
// and what to do and what that loses.
func Damaged(path string, cause error) error {
	return fmt.Errorf("%w: %s: %v; posagent leaves it as it is: move it aside (e.g. rename it to %s) and start posagent again with an empty database: the retry queue's pending coupons and decodes and the record of codes already seen are lost, so check the Alipay merchant console for coupons that customers were owed",
		ErrCorrupt, path, cause, filepath.Base(path)+".broken")
}

// Classify wraps err in ErrDiskFull when it is a full disk, so that it is
// reported as such rather than as a failed write.
func Classify(err error) error {
	if err != nil && !errors.Is(err, ErrDiskFull) && (errors.Is(err, syscall.ENOSPC) || isDiskFull(err)) {
		return fmt.Errorf("%w: free space on the disk and start again: %w", ErrDiskFull, err)
	}
	return err
}

// create makes a new, empty database at path: bbolt writes it under a
// temporary name, and it is linked into place only once complete and on
// disk. A link rather than a rename, so that two processes starting at once
// never replace a file the other already holds: the second one's link fails
// and it opens the first one's file.
func create(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create database %s: %w", path, Classify(err))
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, Classify(err))
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	// bbolt initialises an empty file and syncs it before Open returns.
	db, err := bbolt.Open(tmp, 0o600, &bbolt.Options{Timeout: lockTimeout})
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, Classify(err))
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("create database %s: %w", path, Classify(err))
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		if err := os.Rename(tmp, path); err != nil { // no hard links here
			return fmt.Errorf("create database %s: %w", path, Classify(err))
		}
	}
	return syncDir(dir)
}

// writePID records this process as the holder. Written through a temporary
// file and a rename, so a reader never sees half a number; a failure (a
// full disk) leaves the old file, which the lock makes harmless: the pid
// only names the holder in ErrLocked's message.
func writePID(path string) error {
	tmp := PIDPath(path) + ".tmp"
	os.Remove(tmp) // left by a start that died here
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("record pid for %s: %w", path, Classify(err))
	}
	if err := os.Rename(tmp, PIDPath(path)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("record pid for %s: %w", path, Classify(err))
	}
	return nil
}

// walk reads the whole file (it is small: the queue is bounded) so that a
// damaged page is reported now, with the path, rather than panicking in the
// middle of a checkout later. It first reads every key and value itself, on
// the caller's goroutine, where a fault is a panic Open recovers; bbolt's
// own check then runs on a goroutine of its own, where one would kill the
// process.
func walk(db *bbolt.DB) error {
	var errs []error
	err := db.View(func(tx *bbolt.Tx) error {
		if err := tx.ForEach(func(_ []byte, b *bbolt.Bucket) error { return touch(b) }); err != nil {
			return err
		}
		for err := range tx.Check() { // drained: the walk uses tx until it ends
			if len(errs) < 3 {
				errs = append(errs, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// touch reads every key and value in b and its nested buckets, every byte:
// a checksum that nobody checks, so that the reads happen.
func touch(b *bbolt.Bucket) error {
	var sum uint32
	err := b.ForEach(func(k, v []byte) error {
		sum = crc32.Update(crc32.Update(sum, castagnoli, k), castagnoli, v)
		if v == nil {
			if c := b.Bucket(k); c != nil {
				return touch(c)
			}
		}
		return nil
	})
	runtime.KeepAlive(sum)
	return err
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)
