package appkey

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"os"
	"runtime"
	"strings"
	"testing"

	"posagent/internal/alipay"
)

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	p, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := os.ReadFile(p.PrivatePath)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := alipay.ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatalf("the private key does not parse as posagent reads it: %v", err)
	}
	if priv.N.BitLen() != Bits {
		t.Errorf("key has %d bits, want %d", priv.N.BitLen(), Bits)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(p.PrivatePath)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("private key mode %v, want 0600", st.Mode().Perm())
		}
	}
	// The console's form: bare base64 of the SPKI DER, which Alipay's own
	// key tool prints and posagent reads too.
	der, err := base64.StdEncoding.DecodeString(p.Console)
	if err != nil || strings.ContainsAny(p.Console, "\n -") {
		t.Fatalf("Console %q is not one line of base64: %v", p.Console, err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if !Matches(priv, k.(*rsa.PublicKey)) {
		t.Error("the console key is not the private key's public half")
	}
	pub, err := os.ReadFile(p.PublicPath)
	if err != nil {
		t.Fatal(err)
	}
	if pk, err := alipay.ParsePublicKey(pub); err != nil || !Matches(priv, pk) {
		t.Errorf("public key file: %v, matches %v", err, Matches(priv, pk))
	}
	if string(pub) != p.PEM || !strings.HasPrefix(p.PEM, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("PEM %q", p.PEM)
	}
}

func TestGenerateNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	first, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(first.PrivatePath)
	if _, err := Generate(dir); err == nil || !strings.Contains(err.Error(), PrivateFile) {
		t.Fatalf("second Generate: %v, want an error naming %s", err, PrivateFile)
	}
	after, _ := os.ReadFile(first.PrivatePath)
	if string(before) != string(after) {
		t.Error("the existing private key was replaced")
	}
}
