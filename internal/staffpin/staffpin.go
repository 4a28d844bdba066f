// Package staffpin guards the staff actions of the terminal UI (saving
// settings, dropping queue jobs, quitting) with a PIN kept as a salted hash
// in the configuration (key staff_pin): PBKDF2 with SHA-256 from the
// standard library, so that the file never holds the PIN and a copy of it
// does not give the PIN away cheaply.
package staffpin

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// scheme names the encoding: "pbkdf2-sha256$ITERATIONS$SALT$HASH", salt and
// hash in unpadded base64.
const scheme = "pbkdf2-sha256"

// Iterations is what Hash uses: about 30 ms on a cashier PC, which is
// nothing for a person and slows a guesser with a copy of the file.
const Iterations = 100_000

const (
	saltLen = 16
	keyLen  = 32
	// A PIN is 4 to 12 digits: typed on a till's keypad.
	minLen, maxLen = 4, 12
)

// ErrFormat is a staff_pin value that is not a hash Hash made.
var ErrFormat = errors.New("not a PIN hash made by posagent (pbkdf2-sha256$iterations$salt$hash)")

// CheckPIN says what is wrong with a PIN a person chose, or nil.
func CheckPIN(pin string) error {
	if len(pin) < minLen || len(pin) > maxLen {
		return fmt.Errorf("a PIN is %d to %d digits", minLen, maxLen)
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return fmt.Errorf("a PIN is %d to %d digits", minLen, maxLen)
		}
	}
	return nil
}

// Hash returns the encoded salted hash of pin, for the configuration.
func Hash(pin string) (string, error) {
	if err := CheckPIN(pin); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("staff PIN: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, pin, salt, Iterations, keyLen)
	if err != nil {
		return "", fmt.Errorf("staff PIN: %w", err)
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("%s$%d$%s$%s", scheme, Iterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

type parsed struct {
	iter       int
	salt, hash []byte
}

func parse(encoded string) (parsed, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[0] != scheme {
		return parsed{}, ErrFormat
	}
	var p parsed
	var err error
	if p.iter, err = strconv.Atoi(parts[1]); err != nil || p.iter < 1000 || p.iter > 10_000_000 {
		return parsed{}, ErrFormat
	}
	enc := base64.RawStdEncoding
	if p.salt, err = enc.DecodeString(parts[2]); err != nil || len(p.salt) < 8 {
		return parsed{}, ErrFormat
	}
	if p.hash, err = enc.DecodeString(parts[3]); err != nil || len(p.hash) < 16 {
		return parsed{}, ErrFormat
	}
	return p, nil
}

// Valid reports whether encoded is a hash Hash could have made.
func Valid(encoded string) error {
	_, err := parse(encoded)
	return err
}

// Match reports whether pin is the PIN encoded hashes, in constant time.
func Match(encoded, pin string) (bool, error) {
	p, err := parse(encoded)
	if err != nil {
		return false, err
	}
	key, err := pbkdf2.Key(sha256.New, pin, p.salt, p.iter, len(p.hash))
	if err != nil {
		return false, fmt.Errorf("staff PIN: %w", err)
	}
	return subtle.ConstantTimeCompare(key, p.hash) == 1, nil
}
