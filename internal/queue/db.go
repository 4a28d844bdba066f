package queue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is wrapped by OpenDB's error when another process holds the
// database file.
var ErrLocked = errors.New("posagent is already running")

// ErrCorrupt is wrapped by OpenDB's error when the database file cannot be
// read as a bbolt database.
var ErrCorrupt = errors.New("database file is unreadable")

// lockTimeout is how long OpenDB waits for another process's lock. bbolt
// without a timeout waits forever; a cashier starting posagent twice should
// be told at once.
const lockTimeout = time.Second

// initialMmapSize is how much of the file bbolt maps at open.
const initialMmapSize = 16 << 20

// PIDPath is the file beside the database where the process holding it
// writes its process id, so that a second one can name it. A file rather
// than /proc or a lock query, because it works the same on Windows.
func PIDPath(dbPath string) string { return dbPath + ".pid" }

// OpenDB opens (creating it if needed) the bbolt database at path that the
// queue and posagent's other small state share.
//
// A second process on the same file gets an error wrapping ErrLocked that
// names the running one's pid, after about a second instead of hanging on
// the file lock. A file that is not a readable database gets an error
// wrapping ErrCorrupt that names the path and what to do; the file is never
// replaced or repaired.
func OpenDB(path string) (db *bbolt.DB, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open queue database: %w", err)
	}
	defer func() {
		// bbolt panics when a page it walks at open is damaged
		// ("freepages: failed to get all reachable pages").
		if r := recover(); r != nil {
			db, err = nil, corrupt(path, fmt.Errorf("%v", r))
		}
	}()
	db, err = bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: lockTimeout,
		// Not NoFreelistSync, though it would save a page write per
		// commit: bbolt then rebuilds the freelist at open by walking the
		// tree in a goroutine of its own that panics on a damaged page,
		// killing the process instead of reporting the file.
		FreelistType: bbolt.FreelistMapType,
		// Map 16 MiB from the start (the file is extended to that size,
		// sparsely where the file system can). Below AllocSize, also 16
		// MiB, bbolt grows a file by doubling its mapping, and each
		// doubling happens inside a commit: a remap that waits for every
		// read transaction to end, then a truncate and a full fsync. A
		// queue (MaxBytes 64 MiB) seldom outgrows this, so its commits
		// skip all of that, and no read transaction holds one up.
		InitialMmapSize: initialMmapSize,
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, locked(path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return nil, corrupt(path, err)
	case err != nil:
		if strings.Contains(err.Error(), "file size too small") {
			return nil, corrupt(path, err)
		}
		return nil, fmt.Errorf("open queue database %s: %w", path, err)
	}
	if err := check(db); err != nil {
		db.Close()
		return nil, corrupt(path, err)
	}
	if err := writePID(path); err != nil {
		db.Close()
		return nil, err
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

func corrupt(path string, cause error) error {
	return fmt.Errorf("%w: %s: %v; posagent leaves it as it is: move it aside (e.g. rename it to %s) and start posagent again to begin with an empty queue",
		ErrCorrupt, path, cause, filepath.Base(path)+".broken")
}

// writePID records this process as the holder. Written through a temporary
// file and a rename, so a reader never sees half a number.
func writePID(path string) error {
	tmp := PIDPath(path) + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return fmt.Errorf("record pid for %s: %w", path, err)
	}
	if err := os.Rename(tmp, PIDPath(path)); err != nil {
		return fmt.Errorf("record pid for %s: %w", path, err)
	}
	return nil
}

// check walks the whole file (it is small: the queue is bounded) so that a
// damaged page is reported now, with the path, rather than panicking in the
// middle of a checkout later.
func check(db *bbolt.DB) error {
	var errs []error
	err := db.View(func(tx *bbolt.Tx) error {
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
