// Package keyfile keeps posagent's local secret: 32 random bytes in a file
// of data_dir, readable by its owner only, made at the first start. The sence
// ledger keys its hashes of payment codes with it, and queued decodes seal
// their code with it, so that the database on its own (a copy, a backup, its
// freed pages) never reveals a payment code: the key is not in it.
package keyfile

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Name is the key file's name in data_dir.
const Name = "posagent.key"

// Size is the key's length in bytes.
const Size = 32

// Load returns the key kept in dir, making it first if there is none. A new
// key is written under a temporary name, synced, and linked into place, so a
// key file is either whole or absent; two processes starting at once end up
// with the same key.
func Load(dir string) ([]byte, error) {
	path := filepath.Join(dir, Name)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := create(dir, path); err != nil {
			return nil, fmt.Errorf("make key file %s: %w", path, err)
		}
		key, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if len(key) != Size {
		return nil, fmt.Errorf("key file %s is damaged: %d bytes, want %d; move it aside and start again to make a new key: codes seen before are then not recognised on a rescan, and decodes waiting in the queue fail", path, len(key), Size)
	}
	return key, nil
}

func create(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key := make([]byte, Size)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, Name+".new-*") // 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(key); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(f.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return os.Rename(f.Name(), path) // no hard links here
	}
	return nil
}
