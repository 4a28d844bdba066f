package alipay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
)

// SignType is the gateway's sign_type.
type SignType string

// The sign types the gateway accepts. RSA2 is SHA256withRSA and the default;
// RSA is SHA1withRSA, kept for old applications.
const (
	RSA2 SignType = "RSA2"
	RSA  SignType = "RSA"
)

func (t SignType) hash() (crypto.Hash, error) {
	switch t {
	case RSA2, "":
		return crypto.SHA256, nil
	case RSA:
		return crypto.SHA1, nil
	}
	return 0, fmt.Errorf("alipay: sign_type %q: want RSA2 or RSA", string(t))
}

func digest(h crypto.Hash, content []byte, d *[sha256.Size]byte) []byte {
	if h == crypto.SHA1 {
		*(*[sha1.Size]byte)(d[:sha1.Size]) = sha1.Sum(content)
		return d[:sha1.Size]
	}
	*d = sha256.Sum256(content)
	return d[:]
}

// CanonicalString is the string the gateway signs: parameters sorted by key
// (bytewise), those with empty values and those named in skip left out, each
// written raw as key=value and joined with '&'. No URL escaping: the gateway
// signs the values as they are.
func CanonicalString(params map[string]string, skip ...string) string {
	keys := make([]string, 0, len(params))
	size := 0
	for k, v := range params {
		if v == "" || contains(skip, k) {
			continue
		}
		keys = append(keys, k)
		size += len(k) + len(v) + 2
	}
	sort.Strings(keys)
	var b strings.Builder
	b.Grow(size)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Sign signs content (already in the request charset) with key and returns
// the standard base64 signature the gateway expects.
func Sign(content []byte, key *rsa.PrivateKey, t SignType) (string, error) {
	h, err := t.hash()
	if err != nil {
		return "", err
	}
	var d [sha256.Size]byte
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, digest(h, content, &d))
	if err != nil {
		return "", fmt.Errorf("alipay: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Verify checks a base64 signature over content with key. Any failure,
// including a signature that is not base64, wraps ErrSignature.
func Verify(content []byte, sig string, key *rsa.PublicKey, t SignType) error {
	h, err := t.hash()
	if err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: sign is not base64: %v", ErrSignature, err)
	}
	var d [sha256.Size]byte
	if err := rsa.VerifyPKCS1v15(key, h, digest(h, content, &d), raw); err != nil {
		return fmt.Errorf("%w (%s)", ErrSignature, t)
	}
	return nil
}
