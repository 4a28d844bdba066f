package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	out, err := posagent(context.Background(), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	for _, re := range []string{`(?m)^posagent v\d+\.\d+`, `(?m)^commit: `, `(?m)^go: +go1\.`, `(?m)^hid: +(yes|NO)`} {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("version output lacks %s:\n%s", re, out)
		}
	}
}

// The release script's -ldflags name the build.
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds posagent")
	}
	bin := filepath.Join(t.TempDir(), "posagent")
	ld := "-X posagent/internal/buildinfo.Version=v9.8.7 -X posagent/internal/buildinfo.Commit=c0ffee1 -X posagent/internal/buildinfo.Date=2026-12-03T00:00:00Z"
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"posagent v9.8.7\n", "commit:   c0ffee1\n", "built:    2026-12-03T00:00:00Z\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// init writes a skeleton that doctor rejects, naming each key still to be
// filled in; init never replaces what it made.
func TestInitThenDoctor(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "till")
	out, err := posagent(context.Background(), "init", "--dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^MII[A-Za-z0-9+/]{300,}={0,2}$`).Match(out) || !bytes.Contains(out, []byte("BEGIN PUBLIC KEY")) {
		t.Errorf("init printed no console key and PEM:\n%s", out)
	}
	st, err := os.Stat(filepath.Join(dir, "app_private_key.pem"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("private key: %v, mode %v", err, st.Mode())
	}
	cfg := filepath.Join(dir, "posagent.json")
	out, err = posagent(context.Background(), "doctor", "--config", cfg).CombinedOutput()
	if err == nil {
		t.Fatalf("doctor passed the skeleton:\n%s", out)
	}
	for _, key := range []string{"app_id", "alipay_public_key", "pay_pid", "terminal_id", "scanner.kind"} {
		if !strings.Contains(string(out), "set ") || !strings.Contains(string(out), key) {
			t.Errorf("doctor does not name %s:\n%s", key, out)
		}
	}
	if !strings.Contains(string(out), "✓ app key pair") {
		t.Errorf("doctor did not check init's key pair:\n%s", out)
	}
	again, err := posagent(context.Background(), "init", "--dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(again), "exists") {
		t.Errorf("second init: %v\n%s", err, again)
	}
}

// The demo writes its configuration into its data directory, and doctor
// passes on it while the demo runs.
func TestDoctorOnRunningDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	demo := posagent(ctx, "demo", "--headless", "--data", dir, "--speed", "0.1", "--api", "127.0.0.1:0")
	stdout, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		demo.Process.Signal(os.Interrupt)
		demo.Wait()
	}()
	first := make([]byte, 1)
	if _, err := stdout.Read(first); err != nil { // the first event: the demo runs
		t.Fatal(err)
	}
	go func() { _, _ = bytes.NewBuffer(nil).ReadFrom(stdout) }()
	out, err := posagent(ctx, "doctor", "--config", filepath.Join(dir, "posagent.json")).CombinedOutput()
	if err != nil {
		t.Fatalf("doctor on the running demo: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "in use by the running posagent") || !strings.Contains(string(out), "is held by the running posagent") ||
		strings.Contains(string(out), "✗") {
		t.Errorf("doctor:\n%s", out)
	}
}
