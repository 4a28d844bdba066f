package doctor

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/internal/alipay/alipaytest"
	"posagent/internal/appkey"
	"posagent/internal/scanner"
)

// Keys are shared: a 2048-bit key takes a while to make.
var (
	keysOnce                 sync.Once
	appKey, alipayKey, other *rsa.PrivateKey
	rootKey                  *rsa.PrivateKey
)

func testKeys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		ks := make([]*rsa.PrivateKey, 4)
		for i := range ks {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			ks[i] = k
		}
		appKey, alipayKey, other, rootKey = ks[0], ks[1], ks[2], ks[3]
	})
}

// setup starts a fake gateway and writes a till's files for it, as the
// demo does; it returns the options doctor gets from that configuration.
func setup(t *testing.T, certMode bool, opts ...alipaytest.Option) (*alipaytest.Server, Options) {
	t.Helper()
	testKeys(t)
	opts = append([]alipaytest.Option{alipaytest.WithAppKey(appKey), alipaytest.WithAlipayKey(alipayKey), alipaytest.WithRootKey(rootKey)}, opts...)
	if certMode {
		opts = append(opts, alipaytest.WithCertMode())
	}
	srv := alipaytest.NewServer(opts...)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	pair, err := appkey.Write(dir, appKey)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		ConfigPath: filepath.Join(dir, "posagent.json"),
		GatewayURL: srv.URL(), AppID: srv.AppID(), SignType: "RSA2", Charset: "utf-8", PayPID: "2088702093900999",
		AppPrivateKey: pair.PrivatePath,
		DataDir:       filepath.Join(dir, "data"), DBFile: "posagent.db",
		Scanner:   Scanner{Kind: "sim"},
		APIListen: "off",
	}
	if certMode {
		if o.AppCert, o.AlipayCert, o.AlipayRootCert, err = srv.WriteCerts(dir); err != nil {
			t.Fatal(err)
		}
	} else {
		_, pub, err := srv.WriteKeys(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		o.AlipayPublicKey = pub
	}
	if err := os.Mkdir(o.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	return srv, o
}

func run(t *testing.T, o Options) (map[string]Check, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	checks := Run(ctx, o)
	var b bytes.Buffer
	if _, err := Write(&b, checks); err != nil {
		t.Fatal(err)
	}
	by := map[string]Check{}
	for _, c := range checks {
		if _, dup := by[c.Name]; dup {
			t.Errorf("two checks named %q", c.Name)
		}
		by[c.Name] = c
	}
	return by, b.String()
}

func TestPassesAgainstFakeGateway(t *testing.T) {
	for _, certMode := range []bool{false, true} {
		name := map[bool]string{false: "public-key mode", true: "certificate mode"}[certMode]
		t.Run(name, func(t *testing.T) {
			_, o := setup(t, certMode)
			by, out := run(t, o)
			for _, c := range by {
				if !c.OK {
					t.Errorf("%s failed: %s", c.Name, out)
				}
			}
			want := []string{"config", "app_private_key", "app key pair", "gateway", "clock", "signed call", "scanner", "data_dir", "api port"}
			if certMode {
				want = append(want, "app_cert chain", "alipay_cert chain")
			}
			for _, n := range want {
				if _, ok := by[n]; !ok {
					t.Errorf("no %q check:\n%s", n, out)
				}
			}
			if !strings.Contains(out, "all ") || strings.Contains(out, "✗") {
				t.Errorf("report:\n%s", out)
			}
		})
	}
}

// expiredAlipayCert is an Alipay certificate from the server's own root,
// with its subject and key, that expired in 2021.
func expiredAlipayCert(t *testing.T, srv *alipaytest.Server) []byte {
	t.Helper()
	pems, err := srv.Certs()
	if err != nil {
		t.Fatal(err)
	}
	cur := parseCerts(pems.Alipay)[0]
	var root *x509.Certificate
	for _, c := range parseCerts(pems.Root) {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&rootKey.PublicKey) {
			root = c
		}
	}
	if root == nil {
		t.Fatal("the root bundle lacks the RSA root")
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: cur.Subject,
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, &alipayKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestFails(t *testing.T) {
	tests := []struct {
		name     string
		certMode bool
		opts     []alipaytest.Option
		edit     func(t *testing.T, srv *alipaytest.Server, o *Options)
		failing  []string // checks that must fail
		says     string   // what the report must say
	}{
		{name: "app key not the one uploaded", opts: []alipaytest.Option{alipaytest.WithAppKey(other)},
			failing: []string{"signed call"}, says: "isv.invalid-signature"},
		{name: "wrong Alipay public key", edit: func(t *testing.T, _ *alipaytest.Server, o *Options) {
			o.AlipayPublicKey = writePub(t, &other.PublicKey)
		}, failing: []string{"signed call"}, says: "does not verify"},
		{name: "Alipay key is the app's own", edit: func(t *testing.T, _ *alipaytest.Server, o *Options) {
			o.AlipayPublicKey = writePub(t, &appKey.PublicKey)
		}, failing: []string{"app key pair", "signed call"}, says: "application's own public key"},
		{name: "public key beside the private one is another", edit: func(t *testing.T, _ *alipaytest.Server, o *Options) {
			os.Remove(filepath.Join(filepath.Dir(o.AppPrivateKey), appkey.PublicFile))
			os.Rename(writePub(t, &other.PublicKey), filepath.Join(filepath.Dir(o.AppPrivateKey), appkey.PublicFile))
		}, failing: []string{"app key pair"}, says: "is not app_private_key's public key"},
		{name: "gateway clock an hour ahead", opts: []alipaytest.Option{alipaytest.WithClock(func() time.Time { return time.Now().Add(time.Hour) })},
			failing: []string{"clock", "signed call"}, says: "behind the gateway's"},
		{name: "PC clock 20 minutes ahead", edit: func(t *testing.T, _ *alipaytest.Server, o *Options) {
			o.Now = func() time.Time { return time.Now().Add(20 * time.Minute) }
		}, failing: []string{"clock", "signed call"}, says: "ahead of the gateway's (it refuses"},
		{name: "expired Alipay certificate", certMode: true, edit: func(t *testing.T, srv *alipaytest.Server, o *Options) {
			if err := os.WriteFile(o.AlipayCert, expiredAlipayCert(t, srv), 0o644); err != nil {
				t.Fatal(err)
			}
		}, failing: []string{"alipay_cert chain", "signed call"}, says: "alipay_cert expired on 2021-01-01"},
		{name: "gateway_url redirects", edit: func(t *testing.T, srv *alipaytest.Server, o *Options) {
			redirect := httptest.NewServer(http.RedirectHandler(srv.URL(), http.StatusFound))
			t.Cleanup(redirect.Close)
			o.GatewayURL = redirect.URL + "/gateway.do"
		}, failing: []string{"gateway", "clock", "signed call"}, says: "redirects (HTTP 302)"},
		{name: "gateway down", edit: func(t *testing.T, srv *alipaytest.Server, o *Options) {
			srv.SetDown(true)
		}, failing: []string{"gateway", "clock", "signed call"}, says: "not reached"},
		{name: "private key readable by others", edit: func(t *testing.T, _ *alipaytest.Server, o *Options) {
			os.Chmod(o.AppPrivateKey, 0o644)
		}, failing: []string{"app_private_key", "signed call"}, says: "chmod 600"},
		{name: "key file missing", edit: func(t *testing.T, _ *alipaytest.Server, o *Options) {
			o.AlipayPublicKey = filepath.Join(t.TempDir(), "nope.pem")
		}, failing: []string{"alipay_public_key", "signed call"}, says: "cannot read"},
		{name: "data_dir open to others", edit: func(t *testing.T, _ *alipaytest.Server, o *Options) {
			os.Chmod(o.DataDir, 0o755)
		}, failing: []string{"data_dir"}, says: "chmod 700"},
		{name: "serial port absent", edit: func(t *testing.T, _ *alipaytest.Server, o *Options) {
			o.Scanner = Scanner{Kind: "serial", Port: "/dev/ttyNOPE"}
			o.ListScanners = func() ([]scanner.Device, error) { return []scanner.Device{{Kind: "serial", Path: "/dev/ttyS0"}}, nil }
		}, failing: []string{"scanner"}, says: "/dev/ttyNOPE is not present"},
		{name: "HID scanner without HID support", edit: func(t *testing.T, _ *alipaytest.Server, o *Options) {
			o.Scanner = Scanner{Kind: "hid", VID: "05e0", PID: "1200"}
			o.ListScanners = func() ([]scanner.Device, error) { return nil, scanner.ErrHIDUnsupported }
		}, failing: []string{"scanner"}, says: "no HID support"},
		{name: "API port taken by another program", edit: func(t *testing.T, _ *alipaytest.Server, o *Options) {
			o.APIListen = listen(t)
		}, failing: []string{"api port"}, says: "cannot listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, o := setup(t, tt.certMode, tt.opts...)
			if tt.edit != nil {
				tt.edit(t, srv, &o)
			}
			by, out := run(t, o)
			failing := map[string]bool{}
			for _, n := range tt.failing {
				failing[n] = true
				if c, ok := by[n]; !ok || c.OK {
					t.Errorf("%q did not fail:\n%s", n, out)
				}
			}
			for n, c := range by {
				if !c.OK && !failing[n] {
					t.Errorf("%q failed too:\n%s", n, out)
				}
			}
			if !strings.Contains(out, tt.says) {
				t.Errorf("report does not say %q:\n%s", tt.says, out)
			}
		})
	}
}

// A posagent running on the data directory holds its API port: both are
// reported as in use by it, not as problems.
func TestRunningAgent(t *testing.T) {
	_, o := setup(t, false)
	o.APIListen = listen(t)
	if err := os.WriteFile(filepath.Join(o.DataDir, "posagent.db.pid"), []byte("4242\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o.Running = func(pid int) bool { return pid == 4242 }
	by, out := run(t, o)
	if c := by["data_dir"]; !c.OK || !strings.Contains(c.Detail, "running posagent (pid 4242)") {
		t.Errorf("data_dir: %+v\n%s", c, out)
	}
	if c := by["api port"]; !c.OK || !strings.Contains(c.Detail, "held by the running posagent") {
		t.Errorf("api port: %+v\n%s", c, out)
	}
	// Its pid file left behind by a process that ended is no holder.
	o.Running = func(int) bool { return false }
	by, out = run(t, o)
	if c := by["data_dir"]; !c.OK || strings.Contains(c.Detail, "running") {
		t.Errorf("stale pid file: %+v\n%s", c, out)
	}
	if c := by["api port"]; c.OK {
		t.Errorf("api port held by an unknown program passed:\n%s", out)
	}
}

func TestConfigErrorNamesKeys(t *testing.T) {
	_, o := setup(t, false)
	o.ConfigErr = keysErr{"app_id", "pay_pid"}
	by, _ := run(t, o)
	c := by["config"]
	if c.OK || !strings.Contains(c.Fix, "set app_id, pay_pid in") {
		t.Errorf("config: %+v", c)
	}
}

type keysErr []string

func (k keysErr) Error() string  { return strings.Join(k, ": required; ") + ": required" }
func (k keysErr) Keys() []string { return k }

func writePub(t *testing.T, k *rsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pub.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// listen holds a free loopback port for the test and returns its address.
func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}
