package alipay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ParsePrivateKey reads an RSA private key from PEM (PKCS#1 "RSA PRIVATE KEY"
// or PKCS#8 "PRIVATE KEY") or from the bare base64 string that Alipay's key
// tool writes (PKCS#8 or PKCS#1 DER, no header). The error never quotes the
// key.
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	der, err := keyDER(data, "PRIVATE KEY", "RSA PRIVATE KEY")
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private key: %T is not an RSA key", k)
		}
		return precomputed(rk)
	}
	k, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, errors.New("private key: neither PKCS#8 nor PKCS#1 RSA")
	}
	return precomputed(k)
}

func precomputed(k *rsa.PrivateKey) (*rsa.PrivateKey, error) {
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	k.Precompute()
	return k, nil
}

// ParsePublicKey reads an RSA public key from PEM (SubjectPublicKeyInfo
// "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY") or from the bare base64 string that
// the Alipay console shows.
func ParsePublicKey(data []byte) (*rsa.PublicKey, error) {
	der, err := keyDER(data, "PUBLIC KEY", "RSA PUBLIC KEY")
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key: %T is not an RSA key", k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, errors.New("public key: neither SubjectPublicKeyInfo nor PKCS#1 RSA")
	}
	return k, nil
}

// keyDER returns the DER bytes of a PEM block of one of the given types, or of
// bare base64 text.
func keyDER(data []byte, types ...string) ([]byte, error) {
	text := strings.TrimSpace(string(data))
	if text == "" {
		return nil, errors.New("empty")
	}
	if strings.HasPrefix(text, "-----BEGIN") {
		block, _ := pem.Decode([]byte(text))
		if block == nil {
			return nil, errors.New("PEM block does not decode")
		}
		if !contains(types, block.Type) {
			return nil, fmt.Errorf("PEM block is %q, want %s", block.Type, strings.Join(types, " or "))
		}
		return block.Bytes, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		return nil, errors.New("neither PEM nor base64")
	}
	return der, nil
}
