package doctor

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/appkey"
)

// keys is what the key files held; nil or empty where a file is missing or
// bad (its check failed).
type keys struct {
	priv      *rsa.PrivateKey
	alipayPub *rsa.PublicKey
	appCert   []byte
	alipay    []byte
	root      []byte
	aes       []byte
	bad       bool // a configured file failed its check
}

func (k *keys) certMode() bool { return k.appCert != nil || k.alipay != nil || k.root != nil }

// keyFiles checks each configured key file: readable, private ones not
// readable by others, and parsable.
func (r *report) keyFiles(o Options) *keys {
	k := &keys{}
	files := []struct {
		key, path string
		private   bool
		parse     func([]byte) error
	}{
		{"app_private_key", o.AppPrivateKey, true, func(b []byte) (err error) {
			if k.priv, err = alipay.ParsePrivateKey(b); err != nil {
				return err
			}
			if bits := k.priv.N.BitLen(); o.SignType != "RSA" && bits < 2048 {
				k.priv = nil
				return fmt.Errorf("%d bits: sign_type RSA2 needs a 2048-bit key", bits)
			}
			return nil
		}},
		{"alipay_public_key", o.AlipayPublicKey, false, func(b []byte) (err error) {
			k.alipayPub, err = alipay.ParsePublicKey(b)
			return err
		}},
		{"app_cert", o.AppCert, false, certFile(&k.appCert)},
		{"alipay_cert", o.AlipayCert, false, certFile(&k.alipay)},
		{"alipay_root_cert", o.AlipayRootCert, false, certFile(&k.root)},
		{"encrypt_key", o.EncryptKey, true, func(b []byte) error { k.aes = b; return nil }},
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			k.bad = true
			r.fail(f.key, fmt.Sprintf("cannot read %s: %v", f.path, unwrapPath(err)),
				"check the path in the configuration and that the user posagent runs as may read it")
			continue
		}
		if f.private {
			if msg := privateMode(f.path); msg != "" {
				k.bad = true
				r.fail(f.key, msg, "chmod 600 "+f.path+" (and chown it to the user posagent runs as)")
				continue
			}
		}
		if err := f.parse(b); err != nil {
			k.bad = true
			r.fail(f.key, fmt.Sprintf("%s: %v", f.path, err), "use the file the Alipay console (or posagent init) gave you")
			continue
		}
		mode := ""
		if f.private {
			mode = ", mode 0600"
			if runtime.GOOS == "windows" {
				mode = ", readable by posagent (Windows: check its ACL allows only the service's account)"
			}
		}
		r.ok(f.key, "%s readable%s", f.path, mode)
	}
	return k
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// privateMode says what is wrong with a private file's permissions, or "".
// Windows has ACLs rather than mode bits: not checked there.
func privateMode(path string) string {
	if runtime.GOOS == "windows" {
		return ""
	}
	st, err := os.Stat(path)
	if err != nil {
		return err.Error()
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Sprintf("%s has mode %04o: other users may read a private key", path, perm)
	}
	return ""
}

func certFile(dst *[]byte) func([]byte) error {
	return func(b []byte) error {
		if len(parseCerts(b)) == 0 {
			return errors.New("no PEM certificate in it")
		}
		*dst = b
		return nil
	}
}

// parseCerts returns the certificates in a PEM bundle that Go can parse:
// Alipay's root bundle also holds SM2 certificates, which it cannot.
func parseCerts(data []byte) []*x509.Certificate {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return certs
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			certs = append(certs, c)
		}
	}
}

// keyPair checks that the application's public key, as uploaded to the
// console (the file init wrote beside the private key) or in the app
// certificate, belongs to its private key, and that the Alipay key is not
// the application's own.
func (r *report) keyPair(o Options, k *keys) {
	if k.priv == nil {
		return
	}
	if k.alipayPub != nil && appkey.Matches(k.priv, k.alipayPub) {
		r.fail("app key pair", "alipay_public_key is the application's own public key",
			"download the key the console shows as 支付宝公钥 (Alipay public key), not the application public key")
		return
	}
	if k.appCert != nil {
		c := parseCerts(k.appCert)[0]
		if pub, ok := c.PublicKey.(*rsa.PublicKey); !ok || !appkey.Matches(k.priv, pub) {
			r.fail("app key pair", "app_cert is not the certificate of app_private_key",
				"download the app certificate made from this key's CSR, or configure the private key you made it with")
			return
		}
		r.ok("app key pair", "app_cert holds app_private_key's public key")
		return
	}
	pubPath := filepath.Join(filepath.Dir(o.AppPrivateKey), appkey.PublicFile)
	b, err := os.ReadFile(pubPath)
	if err != nil {
		r.ok("app key pair", "private key is RSA-%d; no %s beside it to compare (the probe below checks the pair with the gateway)",
			k.priv.N.BitLen(), appkey.PublicFile)
		return
	}
	pub, err := alipay.ParsePublicKey(b)
	if err != nil || !appkey.Matches(k.priv, pub) {
		r.fail("app key pair", pubPath+" is not app_private_key's public key",
			"upload the public key of the private key you configured (or configure the private key of the key you uploaded)")
		return
	}
	r.ok("app key pair", "%s matches app_private_key", pubPath)
}

// certs checks, in certificate mode, that the app and Alipay certificates
// chain to the root bundle and are valid now.
func (r *report) certs(o Options, k *keys) {
	if !k.certMode() || k.root == nil {
		return
	}
	now := o.Now()
	roots := x509.NewCertPool()
	for _, c := range parseCerts(k.root) {
		roots.AddCert(c)
	}
	for _, f := range []struct {
		key  string
		data []byte
	}{{"app_cert", k.appCert}, {"alipay_cert", k.alipay}} {
		if f.data == nil {
			continue
		}
		chain := parseCerts(f.data)
		leaf := chain[0]
		name := f.key + " chain"
		switch {
		case now.After(leaf.NotAfter):
			r.fail(name, fmt.Sprintf("%s expired on %s", f.key, leaf.NotAfter.Format(time.DateOnly)),
				"download a new certificate from the Alipay console")
			continue
		case now.Before(leaf.NotBefore):
			r.fail(name, fmt.Sprintf("%s is valid only from %s", f.key, leaf.NotBefore.Format(time.DateOnly)),
				"check the PC's date, or use the current certificate")
			continue
		}
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			r.fail(name, fmt.Sprintf("%s does not chain to alipay_root_cert: %v", f.key, err),
				"use the certificate files of one app, downloaded together from the console")
			continue
		}
		left := leaf.NotAfter.Sub(now)
		note := ""
		if left < 30*24*time.Hour {
			note = " — renew it soon"
		}
		r.ok(name, "%s chains to alipay_root_cert, valid until %s%s", f.key, leaf.NotAfter.Format(time.DateOnly), note)
	}
}
