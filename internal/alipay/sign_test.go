package alipay

import (
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testAppKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := ParsePrivateKey(readTestdata(t, "keys/app_private_pkcs1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCanonicalString(t *testing.T) {
	params := map[string]string{
		"method":      "alipay.user.twostage.common.use",
		"app_id":      "2014072300007148",
		"sign":        "must-not-appear",
		"charset":     "utf-8",
		"format":      "JSON",
		"sign_type":   "RSA2",
		"timestamp":   "2014-07-24 03:07:50",
		"version":     "1.0",
		"biz_content": `{"dynamic_id":"286861260475412123","sence_no":"20170718xxxxxxxx","pay_pid":"2088702093900999"}`,
		"empty":       "",
	}
	want := string(readTestdata(t, "sign/twostage_canonical.txt"))
	if got := CanonicalString(params, "sign"); got != want {
		t.Fatalf("canonical string\n got %s\nwant %s", got, want)
	}
	if got := CanonicalString(map[string]string{"b": "2", "a": "1", "sign_type": "RSA2", "sign": "x"}, "sign", "sign_type"); got != "a=1&b=2" {
		t.Fatalf("skip sign and sign_type: got %q", got)
	}
}

// TestSignMatchesOpenSSL checks both sign types against signatures made by
// openssl from the same canonical string (see testdata/keys/README.md).
func TestSignMatchesOpenSSL(t *testing.T) {
	content := readTestdata(t, "sign/twostage_canonical.txt")
	key := testAppKey(t)
	for _, tt := range []struct {
		t   SignType
		sig string
	}{{RSA2, "sign/twostage_canonical.rsa2.sig"}, {RSA, "sign/twostage_canonical.rsa.sig"}} {
		got, err := Sign(content, key, tt.t)
		if err != nil {
			t.Fatal(err)
		}
		if want := string(readTestdata(t, tt.sig)); got != want {
			t.Errorf("%s signature differs from openssl's\n got %s\nwant %s", tt.t, got, want)
		}
		if err := Verify(content, got, &key.PublicKey, tt.t); err != nil {
			t.Errorf("%s: own signature does not verify: %v", tt.t, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	content := readTestdata(t, "sign/twostage_canonical.txt")
	key := testAppKey(t)
	sig := string(readTestdata(t, "sign/twostage_canonical.rsa2.sig"))
	flipped := append([]byte(nil), content...)
	flipped[len(flipped)/2] ^= 1
	other, err := ParsePublicKey(readTestdata(t, "keys/alipay_public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content []byte
		sig     string
		key     *rsa.PublicKey
		typ     SignType
	}{
		{"flipped byte", flipped, sig, &key.PublicKey, RSA2},
		{"wrong key", content, sig, other, RSA2},
		{"wrong sign type", content, sig, &key.PublicKey, RSA},
		{"not base64", content, "%%%", &key.PublicKey, RSA2},
		{"empty", content, "", &key.PublicKey, RSA2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.content, tt.sig, tt.key, tt.typ); !errors.Is(err, ErrSignature) {
				t.Fatalf("got %v, want ErrSignature", err)
			}
		})
	}
	if err := Verify(content, sig, &key.PublicKey, "MD5"); err == nil || errors.Is(err, ErrSignature) {
		t.Fatalf("unknown sign type: got %v", err)
	}
}

func TestParseKeys(t *testing.T) {
	want := testAppKey(t)
	for _, name := range []string{"keys/app_private_pkcs1.pem", "keys/app_private_pkcs8.pem", "keys/app_private_bare.txt"} {
		k, err := ParsePrivateKey(readTestdata(t, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !k.Equal(want) {
			t.Errorf("%s: a different key", name)
		}
	}
	for _, name := range []string{"keys/app_public.pem", "keys/app_public_bare.txt"} {
		k, err := ParsePublicKey(readTestdata(t, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !k.Equal(&want.PublicKey) {
			t.Errorf("%s: a different key", name)
		}
	}
	bad := []struct{ name, data string }{
		{"empty", ""},
		{"garbage", "not a key at all"},
		{"bad pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
		{"public as private", string(readTestdata(t, "keys/app_public.pem"))},
	}
	for _, tt := range bad {
		if _, err := ParsePrivateKey([]byte(tt.data)); err == nil {
			t.Errorf("ParsePrivateKey(%s): no error", tt.name)
		}
	}
	if _, err := ParsePublicKey(readTestdata(t, "keys/app_private_pkcs1.pem")); err == nil {
		t.Error("ParsePublicKey(private PEM): no error")
	}
}
