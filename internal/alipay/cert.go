package alipay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// CertConfig is the public-key-certificate mode of the platform: requests
// carry app_cert_sn and alipay_root_cert_sn (both signed), and each response
// names in alipay_cert_sn the Alipay certificate whose key signed it. Fields
// hold PEM as in the files the Alipay console hands out.
type CertConfig struct {
	AppCert    []byte // appCertPublicKey_<app_id>.crt: the application's certificate
	AlipayCert []byte // alipayCertPublicKey_RSA2.crt: Alipay's certificate, with its chain
	RootCert   []byte // alipayRootCert.crt: Alipay's root bundle

	// Fetch is asked for a certificate (PEM, with its chain) that a response
	// names but the client does not know yet: Alipay rotates its certificate
	// before the old one expires. nil means the gateway's own
	// alipay.open.app.alipaycert.download, as Alipay's SDKs do. Whatever
	// arrives is trusted only if it chains to the root bundle, has the
	// subject of AlipayCert, is not AppCert and has the SN asked for: every
	// developer's app certificate chains to the same root, and the answer
	// comes over the channel that named the SN. Only responses fetch;
	// notifications are verified with the certificates already known.
	Fetch func(ctx context.Context, sn string) ([]byte, error)
}

// certStore holds the trusted Alipay certificates' keys by SN.
type certStore struct {
	appSN   string
	appCert *x509.Certificate
	rootSN  string
	roots   *x509.CertPool
	subject []byte // RawSubject of the configured Alipay certificate
	fetch   func(ctx context.Context, sn string) ([]byte, error)
	now     func() time.Time

	mu      sync.RWMutex
	keys    map[string]*rsa.PublicKey
	current string // SN of the configured Alipay certificate
}

func newCertStore(cc *CertConfig, appKey *rsa.PrivateKey, now func() time.Time) (*certStore, error) {
	s := &certStore{fetch: cc.Fetch, now: now, keys: map[string]*rsa.PublicKey{}}
	app, err := parseCerts(cc.AppCert)
	if err != nil {
		return nil, fmt.Errorf("alipay: app cert: %w", err)
	}
	pub, ok := app[0].PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&appKey.PublicKey) {
		return nil, errors.New("alipay: app cert is not the certificate of the application private key")
	}
	s.appSN, s.appCert = CertSN(app[0]), app[0]
	if s.rootSN, err = RootCertSN(cc.RootCert); err != nil {
		return nil, err
	}
	s.roots = x509.NewCertPool()
	for _, c := range parsableCerts(cc.RootCert) {
		s.roots.AddCert(c)
	}
	configured, err := parseCerts(cc.AlipayCert)
	if err != nil {
		return nil, fmt.Errorf("alipay: alipay cert: %w", err)
	}
	s.subject = configured[0].RawSubject
	sn, err := s.add(cc.AlipayCert, "")
	if err != nil {
		return nil, fmt.Errorf("alipay: alipay cert: %w", err)
	}
	s.current = sn
	return s, nil
}

// parseCerts parses every PEM certificate in data, leaf first; one that does
// not parse is an error.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	certs, _, err := pemCerts(data)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return certs, nil
}

// parsableCerts returns the certificates of a bundle that Go can parse,
// skipping the others (SM2).
func parsableCerts(data []byte) []*x509.Certificate {
	certs, _, _ := pemCerts(data)
	return certs
}

// add trusts an Alipay certificate (PEM, leaf first, then its chain) and
// returns its SN, if it chains to the root bundle and is valid now, has the
// subject of the configured Alipay certificate, is not the application's
// own certificate, and has the SN want (any when want is empty). The root
// alone proves little: it signs every developer's app certificate too, and
// whoever answers in the gateway's place could name their own.
func (s *certStore) add(data []byte, want string) (string, error) {
	chain, err := parseCerts(data)
	if err != nil {
		return "", err
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         s.roots,
		Intermediates: inter,
		CurrentTime:   s.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return "", fmt.Errorf("certificate %s does not chain to the Alipay root: %w", CertSN(leaf), err)
	}
	sn := CertSN(leaf)
	pub, ok := leaf.PublicKey.(*rsa.PublicKey)
	switch {
	case want != "" && sn != want:
		return "", fmt.Errorf("certificate is %s, not the %s asked for", sn, want)
	case leaf.Equal(s.appCert) || ok && pub.Equal(s.appCert.PublicKey):
		return "", fmt.Errorf("certificate %s is the application's own certificate, not Alipay's", sn)
	case !bytes.Equal(leaf.RawSubject, s.subject):
		return "", fmt.Errorf("certificate %s is issued to %q, not to the subject of the configured Alipay certificate", sn, leaf.Subject)
	case !ok:
		return "", fmt.Errorf("certificate %s: %T is not an RSA key", sn, leaf.PublicKey)
	}
	s.mu.Lock()
	s.keys[sn] = pub
	s.mu.Unlock()
	return sn, nil
}

// key returns the key of the certificate sn names, fetching it when unknown.
// An empty sn means the configured certificate.
func (s *certStore) key(ctx context.Context, sn string) (*rsa.PublicKey, error) {
	s.mu.RLock()
	if sn == "" {
		sn = s.current
	}
	k := s.keys[sn]
	s.mu.RUnlock()
	if k != nil {
		return k, nil
	}
	data, err := s.fetch(ctx, sn)
	if err != nil {
		return nil, fmt.Errorf("%w %s: fetch: %w", ErrUnknownCert, sn, err)
	}
	if _, err := s.add(data, sn); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrUnknownCert, sn, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keys[sn], nil
}

// known returns the key of a certificate already trusted, never fetching:
// for what arrives unauthenticated from anyone, such as a notification.
// An empty sn means the configured certificate.
func (s *certStore) known(sn string) (*rsa.PublicKey, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sn == "" {
		sn = s.current
	}
	if k := s.keys[sn]; k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w %s: not fetched for a notification; a response from the gateway, or TrustAlipayCert, makes it known", ErrUnknownCert, sn)
}

// TrustAlipayCert adds an Alipay certificate (PEM, with its chain) to those
// that verify responses and notifications, if it chains to the configured
// root bundle, has the subject of the configured Alipay certificate and is
// not the application's own. It returns the certificate's SN. Only in
// certificate mode.
func (c *Client) TrustAlipayCert(pemData []byte) (string, error) {
	if c.certs == nil {
		return "", errors.New("alipay: not in certificate mode")
	}
	sn, err := c.certs.add(pemData, "")
	if err != nil {
		return "", fmt.Errorf("alipay: %w", err)
	}
	return sn, nil
}

// AppCertSN and RootCertSN are what requests carry in app_cert_sn and
// alipay_root_cert_sn; empty in public-key mode.
func (c *Client) AppCertSN() string {
	if c.certs == nil {
		return ""
	}
	return c.certs.appSN
}

// RootCertSN: see AppCertSN.
func (c *Client) RootCertSN() string {
	if c.certs == nil {
		return ""
	}
	return c.certs.rootSN
}

// verifyKey returns the key that must have signed a response naming certSN.
func (c *Client) verifyKey(ctx context.Context, certSN string) (*rsa.PublicKey, error) {
	if c.certs == nil {
		return c.alipayKey, nil
	}
	return c.certs.key(ctx, certSN)
}

// knownKey is verifyKey without fetching.
func (c *Client) knownKey(certSN string) (*rsa.PublicKey, error) {
	if c.certs == nil {
		return c.alipayKey, nil
	}
	return c.certs.known(certSN)
}

// MethodAlipayCertDownload hands out Alipay's certificate by SN.
const MethodAlipayCertDownload = "alipay.open.app.alipaycert.download"

// downloadAlipayCert fetches the certificate sn names from the gateway. Its
// answer is signed under that very certificate, which is not known yet: the
// trust comes from what certStore.add checks (the chain to the root bundle,
// Alipay's subject, the SN asked for), not from the response's signature.
func (c *Client) downloadAlipayCert(ctx context.Context, sn string) ([]byte, error) {
	const method = MethodAlipayCertDownload
	biz, err := marshalBiz(struct {
		SN string `json:"alipay_cert_sn"`
	}{sn})
	if err != nil {
		return nil, err
	}
	body, err := c.requestBody(method, biz, false)
	if err != nil {
		return nil, err
	}
	status, raw, err := c.post(ctx, method, body)
	if err != nil {
		return nil, err
	}
	env, err := c.envelope(method, status, raw)
	if err != nil {
		return nil, err
	}
	env.hasSig = true // checked through the certificate chain instead
	obj, err := c.result(method, status, env)
	if err != nil {
		return nil, err
	}
	var r struct {
		Content string `json:"alipay_cert_content"`
	}
	if err := json.Unmarshal(obj, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	pemData, err := base64.StdEncoding.DecodeString(r.Content)
	if err != nil {
		return nil, fmt.Errorf("%w: alipay_cert_content is not base64", ErrMalformed)
	}
	return pemData, nil
}
