package alipay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func certFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "certs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantSNs are the SNs make.sh computed with openssl and md5sum.
func wantSNs(t testing.TB) map[string]string {
	t.Helper()
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(certFile(t, "sn.txt")))
	for sc.Scan() {
		name, sn, _ := strings.Cut(sc.Text(), " ")
		m[name] = sn
	}
	return m
}

func TestCertSNMatchesOpenSSL(t *testing.T) {
	want := wantSNs(t)
	for _, tt := range []struct{ file, name string }{
		{"appCertPublicKey_2014072300007148.crt", "app"}, // issuer attributes in an unusual order
		{"alipayCertPublicKey_RSA2.crt", "alipay"},
		{"alipayCertPublicKey_RSA2_rotated.crt", "rotated"},
	} {
		certs, err := parseCerts(certFile(t, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := CertSN(certs[0]); got != want[tt.name] {
			t.Errorf("%s: CertSN %s, openssl says %s", tt.file, got, want[tt.name])
		}
	}
	// The bundle holds an SM2 root Go cannot parse, an RSA root, an ECDSA
	// root and a SHA1-RSA root: the SN joins the two RSA-signed ones.
	got, err := RootCertSN(certFile(t, "alipayRootCert.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if w := want["root"] + "_" + want["root2"]; got != w {
		t.Errorf("RootCertSN %s, want %s", got, w)
	}
}

// TestRootCertSNPublished checks RootCertSN against the alipay_root_cert_sn
// that Alipay's SDKs and countless merchant configurations publish for
// Alipay's real root bundle (testdata/certs/alipayRootCert.production.crt,
// public): an SM2 root Go cannot parse, the RSA root R1, the ECDSA root E1
// and the SHA1-RSA iTrusChina root.
func TestRootCertSNPublished(t *testing.T) {
	const published = "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
	got, err := RootCertSN(certFile(t, "alipayRootCert.production.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if got != published {
		t.Errorf("RootCertSN = %s, Alipay publishes %s", got, published)
	}
}

func rotatedKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := ParsePrivateKey(certFile(t, "alipay2.key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func certConfig(t testing.TB) *CertConfig {
	return &CertConfig{
		AppCert:    certFile(t, "appCertPublicKey_2014072300007148.crt"),
		AlipayCert: certFile(t, "alipayCertPublicKey_RSA2.crt"),
		RootCert:   certFile(t, "alipayRootCert.crt"),
	}
}

// certBody is a response as the gateway writes it in certificate mode.
func certBody(t testing.TB, key *rsa.PrivateKey, method, obj, sn string) []byte {
	body := signedBody(t, key, method, obj)
	return append(body[:len(body)-1], fmt.Sprintf(`,"alipay_cert_sn":"%s"}`, sn)...)
}

func TestCertMode(t *testing.T) {
	sns := wantSNs(t)
	g := newTestGateway(t)
	certClient := func(fetch func(ctx context.Context, sn string) ([]byte, error)) *Client {
		return g.client(func(c *Config) {
			c.AlipayPublicKey = nil
			c.Certs = certConfig(t)
			c.Certs.Fetch = fetch
			c.Now = time.Now // the certificates are valid from when make.sh ran
		})
	}
	c := certClient(nil)
	if c.AppCertSN() != sns["app"] || c.RootCertSN() != sns["root"]+"_"+sns["root2"] {
		t.Fatalf("app %s root %s", c.AppCertSN(), c.RootCertSN())
	}

	g.answer(certBody(t, g.key, MethodTwostageCommonUse, pageTwostageOK, sns["alipay"]))
	if _, err := c.TwostageCommonUse(context.Background(), pageTwostage); err != nil {
		t.Fatal(err)
	}
	r := g.requests()[0]
	if r.Form.Get("app_cert_sn") != sns["app"] || r.Form.Get("alipay_root_cert_sn") != c.RootCertSN() || !r.SignedOK {
		t.Errorf("request app_cert_sn %q alipay_root_cert_sn %q signed %v", r.Form.Get("app_cert_sn"), r.Form.Get("alipay_root_cert_sn"), r.SignedOK)
	}

	// Signed by a key that is not the named certificate's.
	g.answer(certBody(t, rotatedKey(t), MethodTwostageCommonUse, pageTwostageOK, sns["alipay"]))
	if _, err := c.TwostageCommonUse(context.Background(), pageTwostage); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong key for the SN: got %v, want ErrSignature", err)
	}

	// Alipay rotated its certificate.
	rotated := certBody(t, rotatedKey(t), MethodTwostageCommonUse, pageTwostageOK, sns["rotated"])
	// Without Fetch the client downloads it from the gateway, as Alipay's
	// SDKs do; the download's answer is signed under the new certificate
	// and trusted through the chain alone.
	for _, d := range []struct {
		name string
		pem  []byte
		ok   bool
	}{
		{"rogue", certFile(t, "rogue.crt"), false},
		{"rotated", certFile(t, "alipayCertPublicKey_RSA2_rotated.crt"), true},
	} {
		t.Run("download "+d.name, func(t *testing.T) {
			c := certClient(nil)
			before := len(g.requests())
			g.handle(func(r gotRequest) (int, []byte) {
				if r.Form.Get("method") != MethodAlipayCertDownload {
					return 200, rotated
				}
				if !r.SignedOK || r.Form.Get("app_cert_sn") != sns["app"] {
					return 200, []byte(`{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature"}}`)
				}
				obj := fmt.Sprintf(`{"code":"10000","msg":"Success","alipay_cert_content":"%s"}`, base64.StdEncoding.EncodeToString(d.pem))
				return 200, certBody(t, rotatedKey(t), MethodAlipayCertDownload, obj, sns["rotated"])
			})
			_, err := c.TwostageCommonUse(context.Background(), pageTwostage)
			if d.ok && err != nil {
				t.Fatal(err)
			}
			if !d.ok && (!errors.Is(err, ErrUnknownCert) || !Unreachable(err)) {
				t.Fatalf("got %v, want ErrUnknownCert, no verdict (unreachable)", err)
			}
			var asked []string
			for _, r := range g.requests()[before:] {
				if r.Form.Get("method") == MethodAlipayCertDownload {
					asked = append(asked, r.Form.Get("biz_content"))
				}
			}
			if want := `{"alipay_cert_sn":"` + sns["rotated"] + `"}`; len(asked) != 1 || asked[0] != want {
				t.Fatalf("downloads %v, want one of %s", asked, want)
			}
		})
	}
	g.answer(rotated)
	fetches := []struct {
		name string
		pem  []byte
		ok   bool
	}{
		{"rogue self-signed", certFile(t, "rogue.crt"), false},
		{"the old certificate", certFile(t, "alipayCertPublicKey_RSA2.crt"), false},
		{"garbage", []byte("not a certificate"), false},
		{"the rotated chain", certFile(t, "alipayCertPublicKey_RSA2_rotated.crt"), true},
	}
	for _, f := range fetches {
		t.Run("fetch "+f.name, func(t *testing.T) {
			var asked []string
			c := certClient(func(ctx context.Context, sn string) ([]byte, error) {
				asked = append(asked, sn)
				return f.pem, nil
			})
			_, err := c.TwostageCommonUse(context.Background(), pageTwostage)
			if (err == nil) != f.ok {
				t.Fatalf("got %v, want ok=%v", err, f.ok)
			}
			if !f.ok && !errors.Is(err, ErrUnknownCert) {
				t.Fatalf("got %v, want ErrUnknownCert", err)
			}
			if len(asked) != 1 || asked[0] != sns["rotated"] {
				t.Fatalf("Fetch asked for %v", asked)
			}
			if f.ok { // known from now on
				if _, err := c.TwostageCommonUse(context.Background(), pageTwostage); err != nil || len(asked) != 1 {
					t.Fatalf("second call: %v, %d fetches", err, len(asked))
				}
			}
		})
	}

	if _, err := c.TrustAlipayCert(certFile(t, "rogue.crt")); err == nil {
		t.Error("TrustAlipayCert accepted a certificate outside the root")
	}
	sn, err := c.TrustAlipayCert(certFile(t, "alipayCertPublicKey_RSA2_rotated.crt"))
	if err != nil || sn != sns["rotated"] {
		t.Fatalf("TrustAlipayCert: %s, %v", sn, err)
	}
	if _, err := c.TwostageCommonUse(context.Background(), pageTwostage); err != nil {
		t.Errorf("after TrustAlipayCert: %v", err)
	}
}

func TestCertModeRefuses(t *testing.T) {
	app := testAppKey(t)
	tests := []struct {
		name string
		mod  func(*CertConfig)
		want string
	}{
		{"app cert of another key", func(c *CertConfig) { c.AppCert = c.AlipayCert }, "app cert"},
		{"alipay cert outside the root", func(c *CertConfig) { c.AlipayCert = certFile(t, "rogue.crt") }, "does not chain"},
		{"no root", func(c *CertConfig) { c.RootCert = nil }, "root"},
		{"no app cert", func(c *CertConfig) { c.AppCert = nil }, "app cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := certConfig(t)
			tt.mod(cc)
			_, err := NewClient(Config{AppID: "2014072300007148", PrivateKey: app, Certs: cc})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error about %s", err, tt.want)
			}
		})
	}
}
