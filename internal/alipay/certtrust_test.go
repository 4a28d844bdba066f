package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
)

// certServer is a fake gateway in certificate mode whose root key the test
// holds, so that it can issue certificates of its own under the root, as
// the real root issues every developer's app certificate.
func certServer(t *testing.T) (*alipaytest.Server, *rsa.PrivateKey) {
	t.Helper()
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := alipaytest.NewServer(alipaytest.WithCertMode(), alipaytest.WithRootKey(rootKey))
	t.Cleanup(s.Close)
	return s, rootKey
}

// issueUnderRoot makes a certificate for a new key, signed by the root of
// s's bundle: a certificate that chains, issued to cn.
func issueUnderRoot(t *testing.T, s *alipaytest.Server, rootKey *rsa.PrivateKey, cn string) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	pems, err := s.Certs()
	if err != nil {
		t.Fatal(err)
	}
	var root *x509.Certificate
	for rest := pems.Root; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil && rootKey.PublicKey.Equal(c.PublicKey) {
			root = c
		}
	}
	if root == nil {
		t.Fatal("no root of the test's key in the bundle")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{Country: []string{"CN"}, Organization: []string{"someone else"}, CommonName: cn},
		NotBefore:    root.NotBefore,
		NotAfter:     root.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key
}

func certSNOf(t *testing.T, p []byte) string {
	t.Helper()
	b, _ := pem.Decode(p)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return alipay.CertSN(c)
}

// The root bundle signs every developer's app certificate, not only
// Alipay's: a certificate is trusted to sign as Alipay only if it also has
// the configured Alipay certificate's subject and is not the app's own.
func TestTrustAlipayCert(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cert    func(t *testing.T, s *alipaytest.Server, rootKey *rsa.PrivateKey) []byte
		wantErr string // "" to be trusted
	}{
		{"the app's own certificate", func(t *testing.T, s *alipaytest.Server, _ *rsa.PrivateKey) []byte {
			pems, _ := s.Certs()
			return pems.App
		}, "the application's own certificate"},
		{"another developer's app certificate", func(t *testing.T, s *alipaytest.Server, rootKey *rsa.PrivateKey) []byte {
			p, _ := issueUnderRoot(t, s, rootKey, "2021000000000001")
			return p
		}, "not to the subject of the configured Alipay certificate"},
		{"outside the root", func(t *testing.T, s *alipaytest.Server, _ *rsa.PrivateKey) []byte {
			if err := s.RotateAlipayCertUnchained(nil); err != nil {
				t.Fatal(err)
			}
			pems, _ := s.Certs()
			return pems.Alipay
		}, "does not chain"},
		{"Alipay's rotated certificate", func(t *testing.T, s *alipaytest.Server, _ *rsa.PrivateKey) []byte {
			if err := s.RotateAlipayCert(nil); err != nil {
				t.Fatal(err)
			}
			pems, _ := s.Certs()
			return pems.Alipay
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rootKey := certServer(t)
			c := s.Client()
			p := tc.cert(t, s, rootKey)
			sn, err := c.TrustAlipayCert(p)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("TrustAlipayCert: %v", err)
			case tc.wantErr == "" && sn != certSNOf(t, p):
				t.Fatalf("TrustAlipayCert = %s, want %s", sn, certSNOf(t, p))
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("TrustAlipayCert = %s, %v; want an error about %q", sn, err, tc.wantErr)
			}
		})
	}
}

// forgedGateway answers in the gateway's place (http gateway_url, a proxy):
// each response is signed with key and names sn in alipay_cert_sn, and the
// certificate download hands out download.
type forgedGateway struct {
	key      *rsa.PrivateKey
	sn       string
	download []byte

	mu    sync.Mutex
	asked []string // biz_content of each certificate download
}

func (g *forgedGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	method := r.Form.Get("method")
	obj := `{"code":"10000","msg":"Success","user_id":"2088999999999999"}`
	if method == alipay.MethodAlipayCertDownload {
		g.mu.Lock()
		g.asked = append(g.asked, r.Form.Get("biz_content"))
		g.mu.Unlock()
		obj = fmt.Sprintf(`{"code":"10000","msg":"Success","alipay_cert_content":"%s"}`, base64.StdEncoding.EncodeToString(g.download))
	}
	sig, err := alipay.Sign([]byte(obj), g.key, alipay.RSA2)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, `{"%s":%s,"alipay_cert_sn":"%s","sign":"%s"}`, alipay.ResponseKey(method), obj, g.sn, sig)
}

// Whoever answers in the gateway's place can name any SN and hand out any
// certificate for it over the same channel: a certificate that chains to
// the root but is not Alipay's, or that is not the one named, must not come
// to verify anything.
func TestForgedGatewayCannotIntroduceACert(t *testing.T) {
	for _, tc := range []struct {
		name    string
		named   func(ownSN string) string // the SN the forged responses name
		wantErr string
	}{
		{"names its own app certificate", func(own string) string { return own }, "not to the subject"},
		{"names another SN than it hands out", func(string) string { return "0123456789abcdef0123456789abcdef" }, "not the 0123456789abcdef0123456789abcdef asked for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rootKey := certServer(t)
			own, key := issueUnderRoot(t, s, rootKey, "2021000000000001")
			g := &forgedGateway{key: key, sn: tc.named(certSNOf(t, own)), download: own}
			fake := httptest.NewServer(g)
			defer fake.Close()
			cfg := s.ClientConfig()
			cfg.GatewayURL = fake.URL
			cfg.Certs.Fetch = nil // download from the gateway, as Alipay's SDKs do
			c, err := alipay.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			req := alipay.TwostageRequest{DynamicID: "286861260475412123", SenceNo: "T1-S", PayPID: "2088702093900999"}
			for i := range 2 { // and nothing was kept from the first try
				r, err := c.TwostageCommonUse(context.Background(), req)
				if !errors.Is(err, alipay.ErrUnknownCert) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("call %d: got %+v, %v; want ErrUnknownCert about %q", i, r, err, tc.wantErr)
				}
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			if len(g.asked) != 2 {
				t.Errorf("downloads %v, want one per call", g.asked)
			}
		})
	}
}

// A notification is anyone's POST: the alipay_cert_sn it names never makes
// the client fetch, and an unknown one is an error naming it.
func TestVerifyNotificationNeverFetches(t *testing.T) {
	s, _ := certServer(t)
	var fetched []string
	cfg := s.ClientConfig()
	fetch := cfg.Certs.Fetch
	cfg.Certs.Fetch = func(ctx context.Context, sn string) ([]byte, error) {
		fetched = append(fetched, sn)
		return fetch(ctx, sn)
	}
	c, err := alipay.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RotateAlipayCert(nil); err != nil {
		t.Fatal(err)
	}
	pems, _ := s.Certs()
	fields := map[string]string{"out_trade_no": "T1-20261122-0001", "trade_no": "2026112222001400000000000001",
		"total_amount": "9.90", "trade_status": "TRADE_SUCCESS", "alipay_cert_sn": pems.AlipaySN}
	body, err := s.Notify(fields, "utf-8")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.VerifyNotification(body)
	if !errors.Is(err, alipay.ErrUnknownCert) || !strings.Contains(err.Error(), pems.AlipaySN) {
		t.Fatalf("got %v, want ErrUnknownCert naming %s", err, pems.AlipaySN)
	}
	if len(fetched) != 0 {
		t.Fatalf("a notification fetched %v", fetched)
	}
	if _, err := c.TrustAlipayCert(pems.Alipay); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyNotification(body); err != nil {
		t.Fatalf("with the certificate known: %v", err)
	}
}
