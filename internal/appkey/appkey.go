// Package appkey makes the application key pair an Alipay app signs its
// requests with, and writes it the way the Alipay console and posagent's
// configuration want it: the private key stays on the till (mode 0600), the
// public key is pasted into the console ("接口加签方式" → 公钥) as bare
// base64 of its SubjectPublicKeyInfo DER.
package appkey

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Bits is the size Alipay requires for RSA2 application keys.
const Bits = 2048

// File names Generate writes.
const (
	PrivateFile = "app_private_key.pem"
	PublicFile  = "app_public_key.pem"
)

// Pair is a written key pair.
type Pair struct {
	PrivatePath string // PKCS#8 PEM, mode 0600
	PublicPath  string // SubjectPublicKeyInfo PEM
	// Console is the public key as the Alipay console asks for it: bare
	// base64 of the SubjectPublicKeyInfo DER, one line, no header.
	Console string
	PEM     string // the public key as PEM
}

// Generate makes a new RSA-2048 key pair and writes it into dir. It never
// overwrites: an existing key file is an error naming it, as replacing an
// uploaded key would stop the till signing until the console is updated.
func Generate(dir string) (*Pair, error) {
	k, err := rsa.GenerateKey(rand.Reader, Bits)
	if err != nil {
		return nil, fmt.Errorf("appkey: generate: %w", err)
	}
	return Write(dir, k)
}

// Write writes k into dir as Generate does.
func Write(dir string, k *rsa.PrivateKey) (*Pair, error) {
	privDER, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("appkey: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("appkey: %w", err)
	}
	p := &Pair{
		PrivatePath: filepath.Join(dir, PrivateFile),
		PublicPath:  filepath.Join(dir, PublicFile),
		Console:     base64.StdEncoding.EncodeToString(pubDER),
		PEM:         string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})),
	}
	for _, path := range []string{p.PrivatePath, p.PublicPath} {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("appkey: %s exists: not replaced (move it aside to make a new key)", path)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("appkey: %w", err)
		}
	}
	if err := writeNew(p.PrivatePath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(p.PublicPath, []byte(p.PEM), 0o644); err != nil {
		os.Remove(p.PrivatePath)
		return nil, err
	}
	return p, nil
}

// writeNew creates path (failing if it exists) with mode, whatever the
// umask, and syncs it.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("appkey: %w", err)
	}
	if err := f.Chmod(mode); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("appkey: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("appkey: write %s: %w", path, err)
	}
	return nil
}

// Matches reports whether pub is the public half of priv: the check that a
// key uploaded to the console belongs to the key the till signs with.
func Matches(priv *rsa.PrivateKey, pub *rsa.PublicKey) bool {
	return priv != nil && pub != nil && priv.PublicKey.Equal(pub)
}
