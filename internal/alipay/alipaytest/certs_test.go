package alipaytest

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"testing"

	"posagent/internal/alipay"
)

func parseCerts(t testing.TB, data []byte) (certs []*x509.Certificate, unparsable int) {
	t.Helper()
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return certs, unparsable
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			unparsable++
			continue
		}
		certs = append(certs, c)
	}
}

func TestCertMode(t *testing.T) {
	s := newServer(t, WithCertMode())
	c, err := s.Certs()
	if err != nil {
		t.Fatal(err)
	}
	roots, unparsable := parseCerts(t, c.Root)
	if unparsable != 1 || len(roots) != 2 {
		t.Fatalf("root bundle: %d parsed, %d not: want the RSA root, an ECDSA root and one Go cannot parse", len(roots), unparsable)
	}
	var rsaRoot *x509.Certificate
	for _, r := range roots {
		if r.SignatureAlgorithm == x509.SHA256WithRSA {
			rsaRoot = r
		} else if r.SignatureAlgorithm != x509.ECDSAWithSHA256 {
			t.Fatalf("root signed with %v", r.SignatureAlgorithm)
		}
	}
	if rsaRoot == nil || c.RootSN != alipay.CertSN(rsaRoot) {
		t.Fatalf("root SN %s: want the RSA root's alone", c.RootSN)
	}
	pool := x509.NewCertPool()
	pool.AddCert(rsaRoot)
	leaf := func(p []byte) *x509.Certificate {
		cs, _ := parseCerts(t, p)
		if len(cs) != 1 {
			t.Fatalf("%d certificates", len(cs))
		}
		if _, err := cs[0].Verify(x509.VerifyOptions{Roots: pool}); err != nil {
			t.Fatalf("%s does not chain to the root: %v", cs[0].Subject, err)
		}
		return cs[0]
	}
	app, ali := leaf(c.App), leaf(c.Alipay)
	if c.AppSN != alipay.CertSN(app) || c.AlipaySN != alipay.CertSN(ali) || !app.PublicKey.(*rsa.PublicKey).Equal(&appKey.PublicKey) {
		t.Fatal("app or alipay cert SN/key wrong")
	}

	a := s.do(t, twostageCall(t, s))
	s.business(t, a, alipay.CodeSuccess, "")
	if a.certSN != c.AlipaySN {
		t.Fatalf("alipay_cert_sn %q, want %q", a.certSN, c.AlipaySN)
	}
	verified(t, a, ali.PublicKey.(*rsa.PublicKey), alipay.RSA2)

	for _, tt := range []struct {
		name      string
		set       map[string]string
		code, sub string
	}{
		{"no app_cert_sn", map[string]string{"app_cert_sn": ""}, "40001", "isv.missing-app-cert-sn"},
		{"no alipay_root_cert_sn", map[string]string{"alipay_root_cert_sn": ""}, "40001", "isv.missing-alipay-root-cert-sn"},
		{"another app cert", map[string]string{"app_cert_sn": "0123456789abcdef0123456789abcdef"}, "40002", "isv.app-cert-not-exist"},
		{"root SN with the skipped certs", map[string]string{"alipay_root_cert_sn": c.RootSN + "_0123456789abcdef0123456789abcdef"}, "40002", "isv.invalid-alipay-root-cert-sn"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl := twostageCall(t, s)
			cl.set = tt.set
			s.business(t, s.do(t, cl), tt.code, tt.sub)
		})
	}
}

func TestCertRotation(t *testing.T) {
	s := newServer(t, WithCertMode())
	before, _ := s.Certs()
	if err := s.RotateAlipayCert(rootKey); err != nil { // any key that is not the old one
		t.Fatal(err)
	}
	after, _ := s.Certs()
	if after.AlipaySN == before.AlipaySN || !bytes.Equal(after.Root, before.Root) || after.AppSN != before.AppSN {
		t.Fatal("rotation must change the Alipay cert only")
	}
	a := s.do(t, twostageCall(t, s))
	if a.certSN != after.AlipaySN {
		t.Fatalf("alipay_cert_sn %s, want the new %s", a.certSN, after.AlipaySN)
	}
	verified(t, a, &rootKey.PublicKey, alipay.RSA2)
	if alipay.Verify(a.value, a.sign, &alipayKey.PublicKey, alipay.RSA2) == nil {
		t.Fatal("signed with the old key after rotation")
	}

	// A client that does not know the SN downloads the cert, old or new.
	for _, sn := range []string{after.AlipaySN, before.AlipaySN} {
		d := s.do(t, call{method: MethodCertDownload, biz: bizJSON(t, map[string]string{"alipay_cert_sn": sn})})
		s.business(t, d, alipay.CodeSuccess, "")
		p, err := base64.StdEncoding.DecodeString(d.str("alipay_cert_content"))
		if err != nil {
			t.Fatal(err)
		}
		cs, _ := parseCerts(t, p)
		if len(cs) != 1 || alipay.CertSN(cs[0]) != sn {
			t.Fatalf("downloaded cert for %s: %s", sn, p)
		}
	}
	d := s.do(t, call{method: MethodCertDownload, biz: bizJSON(t, map[string]string{"alipay_cert_sn": "nope"})})
	s.business(t, d, alipay.CodeBusinessFailed, "CERT_NOT_EXIST")

	// An unchained cert looks alike but does not verify against the root.
	if err := s.RotateAlipayCertUnchained(appKey); err != nil {
		t.Fatal(err)
	}
	rogue, _ := s.Certs()
	cs, _ := parseCerts(t, rogue.Alipay)
	roots, _ := parseCerts(t, rogue.Root)
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	if cs[0].Issuer.String() != caName.String() {
		t.Fatalf("issuer %s", cs[0].Issuer)
	}
	if _, err := cs[0].Verify(x509.VerifyOptions{Roots: pool}); err == nil {
		t.Fatal("unchained cert verifies against the root bundle")
	}
}

func TestPublicKeyModeHasNoCerts(t *testing.T) {
	s := newServer(t)
	if _, err := s.Certs(); !errors.Is(err, ErrNotCertMode) {
		t.Fatalf("Certs: %v", err)
	}
	if err := s.RotateAlipayCert(rootKey); !errors.Is(err, ErrNotCertMode) {
		t.Fatalf("RotateAlipayCert: %v", err)
	}
	if _, _, _, err := s.WriteCerts(t.TempDir()); !errors.Is(err, ErrNotCertMode) {
		t.Fatalf("WriteCerts: %v", err)
	}
	a := s.do(t, twostageCall(t, s))
	if a.certSN != "" {
		t.Fatal("alipay_cert_sn in public-key mode")
	}
}

func TestWriteFiles(t *testing.T) {
	s := newServer(t, WithCertMode(), WithEncryptKey(nil))
	dir := t.TempDir()
	appPath, pubPath, err := s.WriteKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	k, err := alipay.ParsePrivateKey(read(appPath))
	if err != nil || !k.Equal(s.AppKey()) {
		t.Fatalf("app key file: %v", err)
	}
	if fi, _ := os.Stat(appPath); fi.Mode().Perm() != 0o600 {
		t.Fatalf("app key file mode %v", fi.Mode())
	}
	pub, err := alipay.ParsePublicKey(read(pubPath))
	if err != nil || !pub.Equal(s.AlipayPublicKey()) {
		t.Fatalf("alipay public key file: %v", err)
	}
	appCert, aliCert, root, err := s.WriteCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.Certs()
	if !bytes.Equal(read(appCert), c.App) || !bytes.Equal(read(aliCert), c.Alipay) || !bytes.Equal(read(root), c.Root) {
		t.Fatal("cert files differ")
	}
	if sn, err := alipay.RootCertSN(read(root)); err != nil || sn != c.RootSN {
		t.Fatalf("root file SN %s, %v", sn, err)
	}
	keyPath, err := s.WriteEncryptKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(read(keyPath))))
	if err != nil || !bytes.Equal(raw, s.EncryptKey()) || len(raw) != 16 {
		t.Fatalf("encrypt key file: %v", err)
	}
}
