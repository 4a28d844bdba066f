package alipay

import (
	"crypto/md5"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// CertSN is the gateway's serial name of a certificate: the hex MD5 of the
// issuer's distinguished name in RFC 2253 order followed by the certificate's
// serial number in decimal. It is what app_cert_sn and alipay_cert_sn carry.
func CertSN(cert *x509.Certificate) string {
	sum := md5.Sum([]byte(issuerDN(cert) + cert.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

// issuerDN is the issuer's RFC 2253 string in the order the certificate
// holds its attributes, as Java's X500Principal.getName() writes it.
// pkix.Name.String would sort the attributes into Go's own order and change
// the SN of a certificate whose issuer lists them differently.
func issuerDN(cert *x509.Certificate) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(cert.RawIssuer, &rdns); err == nil && len(rest) == 0 {
		return rdns.String()
	}
	return cert.Issuer.String()
}

// RootCertSN is alipay_root_cert_sn: the CertSNs of the RSA-signed
// certificates in Alipay's root bundle joined with '_'. Certificates Go cannot
// parse (the bundle holds SM2 ones) and those not signed with RSA are skipped,
// as Alipay's own SDKs do.
func RootCertSN(bundle []byte) (string, error) {
	certs, blocks, _ := pemCerts(bundle)
	var sns []string
	for _, cert := range certs {
		switch cert.SignatureAlgorithm {
		case x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA:
			sns = append(sns, CertSN(cert))
		}
	}
	if blocks == 0 {
		return "", errors.New("alipay root cert: no PEM certificate in the bundle")
	}
	if len(sns) == 0 {
		return "", fmt.Errorf("alipay root cert: none of %d certificates is RSA-signed", blocks)
	}
	return strings.Join(sns, "_"), nil
}

// pemCerts walks the CERTIFICATE blocks of a PEM bundle in order. It returns
// the certificates Go can parse, how many blocks there were, and the first
// parse error: callers decide whether an unparsable certificate (SM2 in
// Alipay's root bundle) is skipped or fatal.
func pemCerts(data []byte) (certs []*x509.Certificate, blocks int, firstErr error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return certs, blocks, firstErr
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		blocks++
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		certs = append(certs, c)
	}
}
