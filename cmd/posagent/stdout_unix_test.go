//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A headless agent whose stdout reader goes away says so on stderr and
// stops cleanly, instead of dying silently of SIGPIPE.
func TestHeadlessStdoutClosed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := posagent(ctx, "demo", "--headless", "--data", t.TempDir(), "--speed", "4")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("no first event: %v", err)
	}
	out.Close()
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the agent did not stop after its stdout closed\n%s", stderr.String())
	}
	if err != nil {
		t.Errorf("exit: %v, want a clean stop (0)\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stdout closed: stopping") {
		t.Errorf("stderr does not say that stdout closed:\n%s", stderr.String())
	}
}

// A SIGTERM stops a headless agent whose stdout nobody reads (a full pipe):
// writes to stdout never hold up the stop.
func TestHeadlessStopsWhileStdoutFull(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fillPipe(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := posagent(ctx, "demo", "--headless", "--data", t.TempDir(), "--speed", "4")
	cmd.Stdout = w
	errs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var stderr bytes.Buffer
	sc := bufio.NewScanner(errs)
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		// A decode logged: its event waits to be written to stdout.
		if strings.Contains(sc.Text(), "msg=decoded") {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	start := time.Now()
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("SIGTERM did not stop the agent with its stdout full\n%s", stderr.String())
	}
	if err != nil {
		t.Errorf("exit: %v, want a clean stop (0)\n%s", err, stderr.String())
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the stop took %v", took)
	}
	if !strings.Contains(stderr.String(), "stdout not read") {
		t.Errorf("stderr does not say that stdout was not read:\n%s", stderr.String())
	}
}

// fillPipe writes to w until its pipe holds all it can.
func fillPipe(t *testing.T, w *os.File) {
	t.Helper()
	raw, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	err = raw.Control(func(fd uintptr) {
		if werr = syscall.SetNonblock(int(fd), true); werr != nil {
			return
		}
		chunk := make([]byte, 4096)
		for {
			if _, err := syscall.Write(int(fd), chunk); err != nil {
				if !errors.Is(err, syscall.EAGAIN) {
					werr = err
				}
				break
			}
		}
		// The agent must block on it, as on a stdout nobody reads.
		if err := syscall.SetNonblock(int(fd), false); err != nil && werr == nil {
			werr = err
		}
	})
	if err != nil || werr != nil {
		t.Fatal(err, werr)
	}
}
