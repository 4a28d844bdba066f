package alipaytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"posagent/internal/alipay"
)

// certSet is the public-key-certificate mode's PKI: a test root CA, the
// Alipay certificate the server signs with, and the app's certificate.
type certSet struct {
	rootKey   *rsa.PrivateKey
	root      *x509.Certificate
	rootPEM   []byte // the bundle: an SM2-like cert, the RSA root, an ECDSA root
	rootSN    string
	appPEM    []byte
	appSN     string
	alipay    *x509.Certificate
	alipayPEM []byte
	alipaySN  string
	issued    map[string][]byte // every Alipay certificate by SN, for MethodCertDownload
}

var caName = pkix.Name{
	Country:            []string{"CN"},
	Organization:       []string{"posagent test"},
	OrganizationalUnit: []string{"Certification Authority"},
	CommonName:         "posagent fake Alipay Root CA",
}

// Certificates are valid over a wide fixed span, so that clients on a fake
// clock (WithClock, ClientConfig) find them valid.
var (
	notBefore = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
)

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
}

func newCertSet(rootKey, appKey, alipayKey *rsa.PrivateKey) (*certSet, error) {
	var err error
	if rootKey == nil {
		if rootKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("root key: %w", err)
		}
	}
	cs := &certSet{rootKey: rootKey, issued: map[string][]byte{}}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               caName,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("root cert: %w", err)
	}
	if cs.root, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	sm2, ecRoot, err := otherRoots()
	if err != nil {
		return nil, err
	}
	cs.rootPEM = bytes.Join([][]byte{sm2, pemCert(der), ecRoot}, nil)
	if cs.rootSN, err = alipay.RootCertSN(cs.rootPEM); err != nil {
		return nil, err
	}
	app, err := cs.issue(appKey, "posagent test app")
	if err != nil {
		return nil, fmt.Errorf("app cert: %w", err)
	}
	cs.appPEM, cs.appSN = pemCert(app.Raw), alipay.CertSN(app)
	if err := cs.rotate(alipayKey, nil); err != nil {
		return nil, err
	}
	return cs, nil
}

// issue makes a leaf certificate for key, signed by the root.
func (cs *certSet) issue(key *rsa.PrivateKey, cn string) (*x509.Certificate, error) {
	return issueBy(cs.root, cs.rootKey, key, cn)
}

func issueBy(parent *x509.Certificate, parentKey *rsa.PrivateKey, key *rsa.PrivateKey, cn string) (*x509.Certificate, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:       sn,
		Subject:            pkix.Name{Country: []string{"CN"}, Organization: []string{"posagent test"}, CommonName: cn},
		NotBefore:          notBefore,
		NotAfter:           notAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// rotate makes cert the Alipay certificate; nil issues one for key from the
// root.
func (cs *certSet) rotate(key *rsa.PrivateKey, cert *x509.Certificate) error {
	if cert == nil {
		var err error
		if cert, err = cs.issue(key, "posagent fake Alipay"); err != nil {
			return fmt.Errorf("alipay cert: %w", err)
		}
	}
	cs.alipay, cs.alipayPEM, cs.alipaySN = cert, pemCert(cert.Raw), alipay.CertSN(cert)
	cs.issued[cs.alipaySN] = cs.alipayPEM
	return nil
}

// otherRoots makes the two certificates of the root bundle that a client
// must skip: one Go cannot parse, as it cannot parse Alipay's SM2 root, and
// an ECDSA-signed one.
func otherRoots() (sm2, ec []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Country: []string{"CN"}, Organization: []string{"posagent test"}, CommonName: "posagent fake ECC Root"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("ecdsa root: %w", err)
	}
	// The SM2 look-alike: the same certificate with the P-256 curve and
	// the ecdsa-with-SHA256 OIDs swapped for SM2's (the same lengths), so
	// that it is well-formed DER that Go's x509 refuses.
	swap := bytes.ReplaceAll(der, oidP256, oidSM2Curve)
	swap = bytes.ReplaceAll(swap, oidECDSASHA256, oidSM2SM3)
	if bytes.Equal(swap, der) {
		return nil, nil, errors.New("sm2 look-alike: OIDs not found")
	}
	return pemCert(swap), pemCert(der), nil
}

// DER of the OIDs swapped above.
var (
	oidP256        = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07} // 1.2.840.10045.3.1.7
	oidSM2Curve    = []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d} // 1.2.156.10197.1.301
	oidECDSASHA256 = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02} // 1.2.840.10045.4.3.2
	oidSM2SM3      = []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75} // 1.2.156.10197.1.501
)

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// AlipayCert returns the Alipay certificate with the given SN (PEM), any
// the server has used: what MethodCertDownload hands out, and what
// ClientConfig's CertConfig.Fetch returns.
func (s *Server) AlipayCert(sn string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.certs == nil {
		return nil, ErrNotCertMode
	}
	p, ok := s.certs.issued[sn]
	if !ok {
		return nil, fmt.Errorf("alipaytest: no Alipay certificate %s", sn)
	}
	return p, nil
}

// ErrNotCertMode is returned by the certificate methods of a server in
// public-key mode.
var ErrNotCertMode = errors.New("alipaytest: not in certificate mode (WithCertMode)")

// CertPEMs are the certificates of certificate mode, PEM-encoded: what the
// Alipay console hands an app (appCertPublicKey, alipayCertPublicKey_RSA2,
// alipayRootCert).
type CertPEMs struct {
	App, Alipay, Root       []byte
	AppSN, AlipaySN, RootSN string
}

// Certs returns the current certificates, or ErrNotCertMode.
func (s *Server) Certs() (CertPEMs, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.certs
	if cs == nil {
		return CertPEMs{}, ErrNotCertMode
	}
	return CertPEMs{
		App: cs.appPEM, Alipay: cs.alipayPEM, Root: cs.rootPEM,
		AppSN: cs.appSN, AlipaySN: cs.alipaySN, RootSN: cs.rootSN,
	}, nil
}

// RotateAlipayCert replaces Alipay's certificate with a new one from the
// root for key (nil generates a key): responses are then signed with key
// and name the new alipay_cert_sn, which MethodCertDownload hands out. The
// new certificate has the subject of the first, as Alipay's rotations keep
// theirs: a client trusts a new certificate only under that subject.
func (s *Server) RotateAlipayCert(key *rsa.PrivateKey) error {
	return s.rotateAlipay(key, false)
}

// RotateAlipayCertUnchained is RotateAlipayCert with a certificate that
// names the root as its issuer but is signed by key itself, so it does not
// chain to the root bundle: a client must refuse to trust it.
func (s *Server) RotateAlipayCertUnchained(key *rsa.PrivateKey) error {
	return s.rotateAlipay(key, true)
}

func (s *Server) rotateAlipay(key *rsa.PrivateKey, unchained bool) error {
	var err error
	if key == nil {
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return fmt.Errorf("alipaytest: alipay key: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.certs == nil {
		return ErrNotCertMode
	}
	var cert *x509.Certificate
	if unchained {
		// A rogue CA with the root's very name, signing with another key.
		rogue := &x509.Certificate{Subject: caName, SerialNumber: s.certs.root.SerialNumber}
		if cert, err = issueBy(rogue, key, key, "posagent fake Alipay"); err != nil {
			return fmt.Errorf("alipaytest: unchained cert: %w", err)
		}
	}
	if err := s.certs.rotate(key, cert); err != nil {
		return fmt.Errorf("alipaytest: %w", err)
	}
	s.alipayKey = key
	return nil
}

// checkCertSN checks the serial numbers a request in certificate mode must
// carry.
func (s *Server) checkCertSN(in *inbound, method string) *reply {
	s.mu.Lock()
	cs := s.certs
	s.mu.Unlock()
	if cs == nil {
		return nil
	}
	app, root := in.get("app_cert_sn"), in.get("alipay_root_cert_sn")
	switch {
	case app == "":
		return failure(method, alipay.CodeMissingParameter, "isv.missing-app-cert-sn", "缺少应用公钥证书序列号")
	case root == "":
		return failure(method, alipay.CodeMissingParameter, "isv.missing-alipay-root-cert-sn", "缺少支付宝根证书序列号")
	case app != cs.appSN:
		return failure(method, alipay.CodeInvalidParameter, "isv.app-cert-not-exist", "应用公钥证书不存在: app_cert_sn "+app)
	case root != cs.rootSN:
		return failure(method, alipay.CodeInvalidParameter, "isv.invalid-alipay-root-cert-sn", "无效的支付宝根证书序列号: "+root)
	}
	return nil
}

// certDownload is MethodCertDownload: Alipay's certificate by SN, as base64
// of its PEM text.
func (s *Server) certDownload(obj map[string]any, bizErr error) *reply {
	const method = MethodCertDownload
	if bizErr != nil {
		return failure(method, alipay.CodeInvalidParameter, "isv.invalid-parameter", bizErr.Error())
	}
	sn, problem := bizString(obj, "alipay_cert_sn")
	if problem != "" {
		return failure(method, alipay.CodeInvalidParameter, "isv.invalid-parameter", problem)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.certs == nil {
		return failure(method, alipay.CodeBusinessFailed, "CERT_NOT_EXIST", "应用未使用公钥证书模式")
	}
	p, ok := s.certs.issued[sn]
	if !ok {
		return failure(method, alipay.CodeBusinessFailed, "CERT_NOT_EXIST", "证书不存在: "+sn)
	}
	return success(method, field{"alipay_cert_content", base64.StdEncoding.EncodeToString(p)})
}
