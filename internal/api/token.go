package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the token's file name in the data directory by default.
const TokenFile = "api-token"

// EndpointFile is written in the data directory while the API runs, so that
// `posagent queue retry|drop` finds the running agent.
const EndpointFile = "api-endpoint.json"

// LoadToken reads the bearer token from path, or creates the file, mode
// 0600, with a new random 256-bit token (64 hex digits) when there is none.
// A file others may read is refused: the token opens the queue and
// payments.
func LoadToken(path string) (string, error) {
	tok, err := readToken(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createToken(path)
	}
	return tok, err
}

// readToken reads an existing token file.
func readToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	if err := private(path); err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(data))
	if len(tok) < 32 {
		return "", fmt.Errorf("api token %s: %d characters, want at least 32 (delete the file to have a new one made)", path, len(tok))
	}
	return tok, nil
}

func createToken(path string) (string, error) {
	var b [32]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadToken(path) // made meanwhile by another start
	}
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	_, err = f.WriteString(tok + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("api token: %w", err)
	}
	return tok, nil
}

// Endpoint is what EndpointFile holds.
type Endpoint struct {
	URL       string `json:"url"`
	TokenFile string `json:"token_file"`
	PID       int    `json:"pid"`
}

// WriteEndpoint writes e to dir/EndpointFile, mode 0600.
func WriteEndpoint(dir string, e Endpoint) error {
	data, _ := json.Marshal(e)
	tmp := filepath.Join(dir, EndpointFile+".tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("api endpoint: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, EndpointFile)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("api endpoint: %w", err)
	}
	return nil
}

// RemoveEndpoint removes dir/EndpointFile at a clean stop.
func RemoveEndpoint(dir string) error {
	err := os.Remove(filepath.Join(dir, EndpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// ReadEndpoint finds a running agent's API from its data directory: its
// URL and token.
func ReadEndpoint(dir string) (e Endpoint, token string, err error) {
	data, err := os.ReadFile(filepath.Join(dir, EndpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return e, "", fmt.Errorf("no running posagent with its API on in %s (no %s)", dir, EndpointFile)
	}
	if err != nil {
		return e, "", err
	}
	if err := json.Unmarshal(data, &e); err != nil || e.URL == "" || e.TokenFile == "" {
		return e, "", fmt.Errorf("%s: unreadable (%v)", filepath.Join(dir, EndpointFile), err)
	}
	token, err = readToken(e.TokenFile)
	return e, token, err
}
