package alipaytest

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
)

// Files the Write methods make, named like the files the Alipay console
// hands out.
const (
	AppKeyFile     = "app_private_key.pem"
	AlipayPubFile  = "alipay_public_key.pem"
	AppCertFile    = "appCertPublicKey.crt"
	AlipayCertFile = "alipayCertPublicKey_RSA2.crt"
	RootCertFile   = "alipayRootCert.crt"
	EncryptKeyFile = "aes_key.txt"
)

// WriteKeys writes the app private key (PKCS#1 PEM, mode 0600) and the
// current Alipay public key (SubjectPublicKeyInfo PEM) into dir, for runs
// that read a configuration file, such as the demo.
func (s *Server) WriteKeys(dir string) (appKeyPath, alipayPubPath string, err error) {
	appKeyPath = filepath.Join(dir, AppKeyFile)
	alipayPubPath = filepath.Join(dir, AlipayPubFile)
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(s.appKey)})
	pubDER, err := x509.MarshalPKIXPublicKey(s.AlipayPublicKey())
	if err != nil {
		return "", "", fmt.Errorf("alipaytest: alipay public key: %w", err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	if err := os.WriteFile(appKeyPath, priv, 0o600); err != nil {
		return "", "", fmt.Errorf("alipaytest: write keys: %w", err)
	}
	if err := os.WriteFile(alipayPubPath, pub, 0o644); err != nil {
		return "", "", fmt.Errorf("alipaytest: write keys: %w", err)
	}
	return appKeyPath, alipayPubPath, nil
}

// WriteCerts writes the app certificate, the current Alipay certificate and
// the root bundle into dir (certificate mode only).
func (s *Server) WriteCerts(dir string) (appCertPath, alipayCertPath, rootCertPath string, err error) {
	c, err := s.Certs()
	if err != nil {
		return "", "", "", err
	}
	appCertPath = filepath.Join(dir, AppCertFile)
	alipayCertPath = filepath.Join(dir, AlipayCertFile)
	rootCertPath = filepath.Join(dir, RootCertFile)
	for _, f := range []struct {
		path string
		data []byte
	}{{appCertPath, c.App}, {alipayCertPath, c.Alipay}, {rootCertPath, c.Root}} {
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			return "", "", "", fmt.Errorf("alipaytest: write certs: %w", err)
		}
	}
	return appCertPath, alipayCertPath, rootCertPath, nil
}

// WriteEncryptKey writes the AES key into dir as the console shows it:
// base64, one line (mode 0600).
func (s *Server) WriteEncryptKey(dir string) (string, error) {
	if s.encryptKey == nil {
		return "", fmt.Errorf("alipaytest: no encrypt key (WithEncryptKey)")
	}
	p := filepath.Join(dir, EncryptKeyFile)
	if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(s.encryptKey)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("alipaytest: write encrypt key: %w", err)
	}
	return p, nil
}
